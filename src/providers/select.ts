// Choosing a backend: --provider/--model when given, else whatever this machine has (key › Ollama › GGUF › extractive).
import { existsSync } from "node:fs";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { claudeProvider, CLAUDE_DEFAULT_MODEL } from "./claude.ts";
import { extractiveProvider } from "./extractive.ts";
import { geminiProvider, GEMINI_DEFAULT_MODEL } from "./gemini.ts";
import { listOllamaModels, ollamaProvider, ollamaUrl } from "./ollama.ts";
import { openaiProvider, OPENAI_DEFAULT_MODEL } from "./openai.ts";
import type { Provider, ProviderName } from "./types.ts";

export const PROVIDER_NAMES: readonly ProviderName[] = ["openai", "claude", "gemini", "ollama", "llama-cpp", "extractive"];

/** Other names people (and the seed) use for the same backends. */
const ALIASES: Record<string, ProviderName> = {
  local: "ollama",
  anthropic: "claude",
  google: "gemini",
  "llama.cpp": "llama-cpp",
  llamacpp: "llama-cpp",
  gguf: "llama-cpp",
  none: "extractive",
  offline: "extractive",
};

export function normalizeProviderName(name: string): ProviderName {
  const n = name.trim().toLowerCase();
  if ((PROVIDER_NAMES as readonly string[]).includes(n)) return n as ProviderName;
  const alias = ALIASES[n];
  if (alias) return alias;
  throw new PipelineError("E_CONFIG", `unknown provider "${name}"; use one of ${PROVIDER_NAMES.join(", ")} (or local = ollama)`, { field: "PIPELINE_LLM_PROVIDER" });
}

export interface SelectOptions {
  /** Transport for backends and probes (tests, proxies). */
  fetch?: typeof fetch;
  /** How long auto-detection waits for Ollama to answer; default 500 ms. */
  ollamaProbeMs?: number;
  /** Run the backend's fail-fast check (key set, host reachable); default true. */
  check?: boolean;
}

/** Which backend and model, and why — decided without calling any paid API. */
export interface Selection {
  provider: ProviderName;
  model: string;
  baseURL?: string;
  reason: string;
}

type Env = Record<string, string | undefined>;
export const keyFor = (name: ProviderName, env: Env): string | undefined =>
  name === "openai" ? env.OPENAI_API_KEY : name === "claude" ? env.ANTHROPIC_API_KEY : name === "gemini" ? (env.GEMINI_API_KEY ?? env.GOOGLE_API_KEY) : undefined;

function baseUrlFor(name: ProviderName, settings: Settings): string | undefined {
  const env = settings.env;
  if (settings.baseUrl) return settings.baseUrl;
  if (name === "openai") return env.OPENAI_BASE_URL;
  if (name === "claude") return env.ANTHROPIC_BASE_URL;
  if (name === "gemini") return env.GEMINI_BASE_URL ?? env.GOOGLE_GEMINI_BASE_URL;
  if (name === "ollama") return env.OLLAMA_HOST;
  return undefined;
}

const DEFAULT_MODEL: Partial<Record<ProviderName, string>> = { openai: OPENAI_DEFAULT_MODEL, claude: CLAUDE_DEFAULT_MODEL, gemini: GEMINI_DEFAULT_MODEL, extractive: "extractive" };

/** Decide the backend. Only Ollama is probed (a short local request); nothing is checked yet. */
export async function resolveSelection(settings: Settings, opts: SelectOptions = {}): Promise<Selection> {
  const env = settings.env;
  const explicit = settings.provider ? normalizeProviderName(settings.provider) : undefined;
  const model = settings.model;
  if (explicit) {
    return { provider: explicit, model: await modelFor(explicit, settings, opts), baseURL: baseUrlFor(explicit, settings), reason: `--provider ${settings.provider}` };
  }
  if (model?.toLowerCase().endsWith(".gguf")) return { provider: "llama-cpp", model, reason: "--model is a .gguf file" };
  if (settings.baseUrl) return { provider: "openai", model: model ?? OPENAI_DEFAULT_MODEL, baseURL: settings.baseUrl, reason: "--base-url given (OpenAI-compatible server)" };
  for (const [name, keyVar] of [["openai", "OPENAI_API_KEY"], ["claude", "ANTHROPIC_API_KEY"], ["gemini", "GEMINI_API_KEY"], ["gemini", "GOOGLE_API_KEY"]] as const) {
    if (env[keyVar]) return { provider: name, model: model ?? DEFAULT_MODEL[name]!, baseURL: baseUrlFor(name, settings), reason: `${keyVar} is set` };
  }
  const ollamaBase = ollamaUrl(baseUrlFor("ollama", settings));
  const installed = await listOllamaModels(ollamaBase, { fetch: opts.fetch, timeoutMs: opts.ollamaProbeMs ?? 500 }).catch(() => undefined);
  if (installed?.length) {
    const pick = model && installed.some((m) => m === model || m.replace(/:latest$/, "") === model) ? model : installed[0]!;
    return { provider: "ollama", model: pick, baseURL: ollamaBase, reason: `Ollama answered at ${ollamaBase}` };
  }
  const gguf = env.PIPELINE_LLM_MODEL;
  if (gguf?.toLowerCase().endsWith(".gguf") && existsSync(gguf)) return { provider: "llama-cpp", model: gguf, reason: "PIPELINE_LLM_MODEL is a GGUF file" };
  return { provider: "extractive", model: "extractive", reason: "no API key, no Ollama, no GGUF model found" };
}

async function modelFor(name: ProviderName, settings: Settings, opts: SelectOptions): Promise<string> {
  if (settings.model) return settings.model;
  if (name === "llama-cpp") {
    throw new PipelineError("E_CONFIG", "the llama-cpp backend needs a GGUF file: set --model PATH.gguf or PIPELINE_LLM_MODEL", { field: "PIPELINE_LLM_MODEL" });
  }
  if (name === "ollama") {
    // No model named: use what this Ollama has, so `--provider local` just works.
    const base = ollamaUrl(baseUrlFor("ollama", settings));
    const installed = await listOllamaModels(base, { fetch: opts.fetch, timeoutMs: 3000 }).catch((e: Error) => {
      throw new PipelineError("E_CONFIG", `Ollama is not reachable at ${base} (${e.message}); start it with \`ollama serve\` or set OLLAMA_HOST / --base-url`);
    });
    if (!installed.length) throw new PipelineError("E_CONFIG", `Ollama at ${base} has no models; run \`ollama pull llama3.2\` or set --model`, { field: "PIPELINE_LLM_MODEL" });
    return installed[0]!;
  }
  return DEFAULT_MODEL[name]!;
}

/** Build the backend for a selection (keys come from settings.env: environment with config.env filling gaps). */
export async function createProvider(sel: Selection, settings: Settings, opts: SelectOptions = {}): Promise<Provider> {
  const apiKey = keyFor(sel.provider, settings.env);
  const common = { model: sel.model, apiKey, baseURL: sel.baseURL, fetch: opts.fetch };
  switch (sel.provider) {
    case "openai": return openaiProvider(common);
    case "claude": return claudeProvider(common);
    case "gemini": return geminiProvider(common);
    case "ollama": return ollamaProvider(common);
    case "llama-cpp": {
      const { llamaCppProvider } = await import("./llama-cpp.ts");
      return llamaCppProvider({ modelPath: sel.model, threads: settings.llmThreads });
    }
    case "extractive": return extractiveProvider();
  }
}

/** Resolve, build and (by default) check the backend, so a missing key or dead host fails before any work. */
export async function selectProvider(settings: Settings, opts: SelectOptions = {}): Promise<Provider> {
  const sel = await resolveSelection(settings, opts);
  if (sel.provider === "extractive" && !settings.provider) {
    log.warn("no LLM found (no API key, no Ollama, no GGUF model): using the extractive backend — questions and scores come from the text itself. Set --provider to use a model.");
  } else {
    log.info(`LLM: ${sel.provider} / ${sel.model} (${sel.reason})`);
  }
  const provider = await createProvider(sel, settings, opts);
  if (opts.check !== false) await provider.check?.();
  return provider;
}
