// The LLM flags every model-calling step shares (spread into its args), and their mapping onto settings.
import type { ArgsDef } from "citty";
import { flag, type SettingName } from "../config.ts";

export const providerArgs = {
  provider: { type: "string", description: "LLM backend: openai | claude | gemini | ollama (alias local) | llama-cpp | extractive (default: auto-detect)", valueHint: "NAME" },
  model: { type: "string", description: "Model name, or a .gguf path for llama-cpp", valueHint: "NAME" },
  "base-url": { type: "string", description: "Server URL (any OpenAI-compatible server: vLLM, llama.cpp server, LM Studio, OpenRouter)", valueHint: "URL" },
  concurrency: { type: "string", description: "Requests in flight at once (default 4)", valueHint: "N" },
  rpm: { type: "string", description: "Requests per minute limit", valueHint: "N" },
  tpm: { type: "string", description: "Tokens per minute limit", valueHint: "N" },
  timeout: { type: "string", description: "Seconds per request before it is retried (default 120)", valueHint: "SEC" },
  "max-retries": { type: "string", description: "Retries per request for 408/409/429/5xx/network/timeouts (default 5)", valueHint: "N" },
  "max-cost": { type: "string", description: "Stop cleanly (resumable) once this many USD are spent", valueHint: "USD" },
  cache: { type: "string", description: "Response cache directory (default: under the output dir; --no-cache turns it off)", valueHint: "DIR" },
  "dry-run": { type: "boolean", description: "Print planned calls, tokens, cost and time, then exit (with --batch: the batch plan)" },
  batch: { type: "boolean", description: "Send the requests through the vendor's batch service (openai, claude, gemini): about half the price, done within 24 h; --resume polls the same batches (PIPELINE_BATCH)" },
} as const satisfies ArgsDef;

/** What the LLM steps that write records with failures (generate-qa, validate) add. */
export const failureArgs = {
  "retry-failed": { type: "boolean", description: "Ask again only for the records of the existing output that failed; keep every other record byte for byte (works with --resume)" },
  "max-failures": { type: "string", description: "Exit non-zero when more records than this fail (default: only when every record failed)", valueHint: "N" },
} as const satisfies ArgsDef;

export interface ProviderFlags {
  provider?: string;
  model?: string;
  "base-url"?: string;
  concurrency?: string;
  rpm?: string;
  tpm?: string;
  timeout?: string;
  "max-retries"?: string;
  "max-cost"?: string;
  /** A directory, or false from --no-cache. */
  cache?: string | boolean;
  "dry-run"?: boolean;
  batch?: boolean;
}

/** Parsed flags → settings overrides for settingsFromArgs (undefined falls through to env/config.env/defaults). */
export function providerFlags(args: ProviderFlags): Partial<Record<SettingName, unknown>> {
  return {
    provider: flag("--provider", args.provider),
    model: flag("--model", args.model),
    baseUrl: flag("--base-url", args["base-url"]),
    concurrency: flag("--concurrency", args.concurrency),
    rpm: flag("--rpm", args.rpm),
    tpm: flag("--tpm", args.tpm),
    timeoutSec: flag("--timeout", args.timeout),
    maxRetries: flag("--max-retries", args["max-retries"]),
    maxCost: flag("--max-cost", args["max-cost"]),
    cacheDir: typeof args.cache === "string" ? args.cache : undefined,
    cache: args.cache === false ? false : undefined,
    batch: flag("--batch", args.batch || undefined),
  };
}
