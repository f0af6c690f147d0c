// OpenAI backend (also any OpenAI-compatible server: vLLM, llama.cpp server, LM Studio, OpenRouter).
import OpenAI from "openai";
import { toProviderError, type ErrorContext } from "./errors.ts";
import { probeReachable, requireKey } from "./probe.ts";
import type { BackendOptions, GenerateRequest, GenerateResult, Provider } from "./types.ts";

export const OPENAI_DEFAULT_MODEL = "gpt-4o-mini";
export const OPENAI_DEFAULT_URL = "https://api.openai.com/v1";

/** The chat-completions body for a request: the same bytes whether sent now or in a batch file (batch/openai.ts). */
export function openAiBody(req: GenerateRequest, model: string): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return {
    model,
    messages: req.messages,
    ...(req.temperature !== undefined && { temperature: req.temperature }),
    ...(req.maxTokens !== undefined && { max_tokens: req.maxTokens }),
    ...(req.schema && {
      response_format: {
        type: "json_schema" as const,
        json_schema: { name: req.schema.name, schema: req.schema.schema, strict: req.schema.strict ?? false },
      },
    }),
  };
}

/** A chat completion → our result (also each line of a batch's output file). */
export function fromOpenAiCompletion(res: OpenAI.ChatCompletion, model: string): GenerateResult {
  const choice = res.choices?.[0];
  return {
    text: choice?.message?.content ?? "",
    usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
    model: res.model || model,
    finishReason: choice?.finish_reason ?? undefined,
  };
}

export function openaiProvider(opts: BackendOptions): Provider {
  const baseURL = opts.baseURL ?? OPENAI_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "openai", model: opts.model, baseURL, keyVar: "OPENAI_API_KEY", urlVar: "--base-url or OPENAI_BASE_URL", apiKey: opts.apiKey };
  const client = new OpenAI({
    // Local compatible servers take no key, but the SDK insists on one.
    apiKey: opts.apiKey ?? "no-key",
    baseURL,
    fetch: opts.fetch,
    maxRetries: 0, // retries live in the client layer, once
    timeout: 24 * 3600_000, // the client layer's AbortSignal is the timeout
  });

  return {
    name: "openai",
    baseURL,
    model: opts.model,
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      try {
        const res = await client.chat.completions.create(openAiBody(req, opts.model), { signal: req.signal });
        return fromOpenAiCompletion(res, opts.model);
      } catch (error) {
        throw toProviderError(error, ctx, req.signal);
      }
    },
    async check() {
      // Compatible local servers (vLLM, llama.cpp server, LM Studio) take no key; the official API does.
      if (baseURL === OPENAI_DEFAULT_URL) requireKey(opts.apiKey, "openai", "OPENAI_API_KEY");
      await probeReachable(baseURL, "the OpenAI-compatible server", "check --base-url or OPENAI_BASE_URL", { fetch: opts.fetch });
    },
  };
}
