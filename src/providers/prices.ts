// What tokens cost: a built-in table of list prices (USD per million tokens), overridable by PIPELINE_PRICES.
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { PipelineError } from "../errors.ts";
import type { ProviderName } from "./types.ts";

export interface Price {
  input: number;
  output: number;
  /** Through the vendor's batch service, when it is not simply BATCH_DISCOUNT of the list price. */
  batchInput?: number;
  batchOutput?: number;
}
export type PriceTable = Record<string, Price>;

/**
 * List prices when written (USD / 1M tokens). Vendors change them: override with PIPELINE_PRICES,
 * e.g. PIPELINE_PRICES='{"gpt-4o-mini":{"input":0.15,"output":0.6}}' or a path to such a JSON file.
 * Keys match a model name exactly or as its longest prefix ("claude-3-5-haiku" covers dated versions).
 */
export const DEFAULT_PRICES: PriceTable = {
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "o4-mini": { input: 1.1, output: 4.4 },
  "o3-mini": { input: 1.1, output: 4.4 },
  "claude-3-haiku": { input: 0.25, output: 1.25 },
  "claude-3-5-haiku": { input: 0.8, output: 4 },
  "claude-3-5-sonnet": { input: 3, output: 15 },
  "claude-3-7-sonnet": { input: 3, output: 15 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-opus-4": { input: 15, output: 75 },
  "claude-3-opus": { input: 15, output: 75 },
  "gemini-1.5-flash": { input: 0.075, output: 0.3 },
  "gemini-1.5-pro": { input: 1.25, output: 5 },
  "gemini-2.0-flash-lite": { input: 0.075, output: 0.3 },
  "gemini-2.0-flash": { input: 0.1, output: 0.4 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5 },
  "gemini-2.5-pro": { input: 1.25, output: 10 },
};

/** Backends that run on this machine cost nothing per token. */
const FREE: ReadonlySet<ProviderName> = new Set(["ollama", "llama-cpp", "extractive"]);

/**
 * Share of the list price a request costs through the vendor's batch service: half, as OpenAI Batch
 * (https://platform.openai.com/docs/guides/batch), Anthropic Message Batches
 * (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing) and Gemini batch mode
 * (https://ai.google.dev/gemini-api/docs/batch-mode) each say. A model's batchInput/batchOutput override it.
 */
export const BATCH_DISCOUNT: Partial<Record<ProviderName, number>> = { openai: 0.5, claude: 0.5, gemini: 0.5 };

const TableSchema = z.record(z.string(), z.object({
  input: z.number().nonnegative(), output: z.number().nonnegative(),
  batchInput: z.number().nonnegative().optional(), batchOutput: z.number().nonnegative().optional(),
}));

/** The built-in table with PIPELINE_PRICES (inline JSON or a JSON file path) laid over it. */
export function loadPrices(override?: string): PriceTable {
  if (!override) return { ...DEFAULT_PRICES };
  const isInline = override.trim().startsWith("{");
  if (!isInline && !existsSync(override)) {
    throw new PipelineError("E_CONFIG", `PIPELINE_PRICES is neither JSON nor an existing file: ${override}`, { field: "PIPELINE_PRICES" });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(isInline ? override : readFileSync(override, "utf8"));
  } catch (e) {
    throw new PipelineError("E_CONFIG", `PIPELINE_PRICES is not valid JSON (${(e as Error).message}); expected {"model":{"input":USD_PER_1M,"output":USD_PER_1M}}`, { field: "PIPELINE_PRICES", file: isInline ? undefined : override });
  }
  const parsed = TableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PipelineError("E_CONFIG", `PIPELINE_PRICES entry ${issue?.path.join(".")}: ${issue?.message}; expected {"model":{"input":USD_PER_1M,"output":USD_PER_1M}}`, { field: "PIPELINE_PRICES" });
  }
  return { ...DEFAULT_PRICES, ...parsed.data };
}

/** Price for a model: free for local backends, else exact or longest-prefix match, else undefined (unpriced). */
export function priceFor(provider: ProviderName, model: string, table: PriceTable): Price | undefined {
  if (FREE.has(provider)) return { input: 0, output: 0 };
  const name = model.replace(/^models\//, "");
  if (table[name]) return table[name];
  let best: string | undefined;
  for (const key of Object.keys(table)) if (name.startsWith(key) && (!best || key.length > best.length)) best = key;
  return best ? table[best] : undefined;
}

/** Price through the batch service: the model's own batch prices, else the list price × BATCH_DISCOUNT. */
export function batchPriceFor(provider: ProviderName, model: string, table: PriceTable): Price | undefined {
  const p = priceFor(provider, model, table);
  if (!p) return undefined;
  const f = BATCH_DISCOUNT[provider] ?? 1;
  return { input: p.batchInput ?? p.input * f, output: p.batchOutput ?? p.output * f };
}

export function costOf(price: Price | undefined, inputTokens: number, outputTokens: number): number {
  return price ? (inputTokens * price.input + outputTokens * price.output) / 1e6 : 0;
}
