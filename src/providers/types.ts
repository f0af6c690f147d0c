// The one small interface every LLM backend implements, and what the stages see.
import type { z } from "zod";
import type { Usage } from "../records.ts";

export type ProviderName = "openai" | "claude" | "gemini" | "ollama" | "llama-cpp" | "extractive";

export interface ChatMessage { role: "system" | "user" | "assistant"; content: string }

/** A JSON schema (draft 2020-12 subset that every vendor's structured-output mode accepts). */
export interface JsonSchemaSpec {
  name: string;
  schema: Record<string, unknown>;
  /** OpenAI strict mode: only when the schema meets its rules (every property required, no extra keys). */
  strict?: boolean;
}

export interface GenerateRequest {
  messages: ChatMessage[];
  /** Ask the backend for JSON matching this schema (vendor JSON-schema mode / grammar). */
  schema?: JsonSchemaSpec;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface GenerateResult {
  text: string;
  usage: Usage;
  model: string;
  /** Set by the backend when the vendor said why it stopped (length, stop, …). */
  finishReason?: string;
  /** The reply came through the vendor's batch service (priced at batch prices; see providers/batch/). */
  batch?: boolean;
}

/** One backend: a thin translation to a vendor's API. No retries, limits or caching here. */
export interface Provider {
  readonly name: ProviderName;
  readonly model: string;
  /** The server it talks to, when it has one: part of the cache key (two servers can answer differently). */
  readonly baseURL?: string;
  /** Requests this backend can usefully run at once (llama-cpp: 1); the client never exceeds it. */
  readonly maxConcurrency?: number;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** Fail fast before any work (missing key, unreachable host): throw a PipelineError naming the variable. */
  check?(): Promise<void>;
  close?(): Promise<void>;
}

/** What every backend factory takes: tests and proxies swap the transport through baseURL and fetch. */
export interface BackendOptions {
  model: string;
  apiKey?: string;
  baseURL?: string;
  fetch?: typeof globalThis.fetch;
}

export type JsonOutcome<T> =
  | { ok: true; value: T; result: GenerateResult; repaired: boolean }
  | { ok: false; error: string; result?: GenerateResult };

/**
 * What stages use: a backend wrapped once with concurrency, rate limits, retries, timeouts,
 * the response cache and usage/cost accounting.
 */
export interface LlmClient {
  readonly provider: ProviderName;
  readonly model: string;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** Structured output parsed and validated with zod in one place; one repair attempt; failure is a value. */
  generateJson<T>(req: GenerateRequest & { schema: JsonSchemaSpec }, parse: z.ZodType<T>): Promise<JsonOutcome<T>>;
  close(): Promise<void>;
}
