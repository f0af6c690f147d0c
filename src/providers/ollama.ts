// Ollama backend (the seed's `--provider local`): /api/chat with `format` set to the JSON schema.
import { Ollama } from "ollama";
import { PipelineError } from "../errors.ts";
import { DEFAULT_OLLAMA_HOST, ollamaBaseUrl } from "../ollama/host.ts";
import { statusCheckingFetch, toProviderError, type ErrorContext } from "./errors.ts";
import type { BackendOptions, GenerateRequest, GenerateResult, Provider } from "./types.ts";

export const OLLAMA_DEFAULT_URL = DEFAULT_OLLAMA_HOST;

/** OLLAMA_HOST may be "host:port", "0.0.0.0" or a full URL; make it a URL we can call (one parser: ollama/host.ts). */
export function ollamaUrl(host: string | undefined): string {
  return ollamaBaseUrl(host ?? "");
}

/** Installed model names, or an error when nothing answers within timeoutMs. */
export async function listOllamaModels(baseURL: string, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<string[]> {
  const res = await (opts.fetch ?? globalThis.fetch)(`${baseURL}/api/tags`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 1000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as { models?: Array<{ name?: string; model?: string }> };
  return (body.models ?? []).map((m) => m.name ?? m.model ?? "").filter(Boolean);
}

export function ollamaProvider(opts: BackendOptions): Provider {
  const baseURL = ollamaUrl(opts.baseURL);
  const ctx: ErrorContext = { provider: "ollama", model: opts.model, baseURL, urlVar: "--base-url or OLLAMA_HOST" };
  const baseFetch = opts.fetch ?? globalThis.fetch;

  return {
    name: "ollama",
    baseURL,
    model: opts.model,
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      // The ollama client aborts all requests at once; a per-request fetch carries this request's signal.
      const fetchWithSignal: typeof fetch = (input, init) =>
        baseFetch(input, { ...init, signal: req.signal && init?.signal ? AbortSignal.any([req.signal, init.signal]) : (req.signal ?? init?.signal) });
      const client = new Ollama({ host: baseURL, fetch: statusCheckingFetch(fetchWithSignal) });
      try {
        const res = await client.chat({
          model: opts.model,
          messages: req.messages,
          stream: false,
          ...(req.schema && { format: req.schema.schema }),
          options: {
            ...(req.temperature !== undefined && { temperature: req.temperature }),
            ...(req.maxTokens !== undefined && { num_predict: req.maxTokens }),
          },
        });
        return {
          text: res.message?.content ?? "",
          usage: { inputTokens: res.prompt_eval_count ?? 0, outputTokens: res.eval_count ?? 0 },
          model: res.model || opts.model,
          finishReason: res.done_reason || undefined,
        };
      } catch (error) {
        throw toProviderError(error, ctx, req.signal);
      }
    },
    async check() {
      let models: string[];
      try {
        models = await listOllamaModels(baseURL, { fetch: baseFetch, timeoutMs: 3000 });
      } catch (error) {
        throw new PipelineError("E_CONFIG", `Ollama is not reachable at ${baseURL} (${(error as Error).message}); start it with \`ollama serve\` or set OLLAMA_HOST / --base-url`);
      }
      const want = opts.model;
      const found = models.some((m) => m === want || m === `${want}:latest` || m.replace(/:latest$/, "") === want);
      if (!found) {
        throw new PipelineError("E_CONFIG", `Ollama at ${baseURL} has no model "${want}"; run \`ollama pull ${want}\` or pick one of: ${models.join(", ") || "(none installed)"}`, { field: "PIPELINE_LLM_MODEL" });
      }
    },
  };
}
