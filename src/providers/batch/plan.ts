// Splitting requests into batches that stay inside a vendor's limits, and what they would cost.
import { PipelineError } from "../../errors.ts";
import { batchPriceFor, costOf, priceFor, type PriceTable } from "../prices.ts";
import { estimatePromptTokens } from "../tokens.ts";
import type { BatchLimits, BatchLine } from "./types.ts";

export interface BatchPart { lines: BatchLine[]; bytes: number }

/** Greedy in input order: a new batch starts when the next line would pass the request or byte limit. */
export function splitBatches(lines: readonly BatchLine[], limits: BatchLimits, lineBytes: (l: BatchLine) => number): BatchPart[] {
  const parts: BatchPart[] = [];
  let current: BatchPart = { lines: [], bytes: 0 };
  for (const line of lines) {
    const size = lineBytes(line);
    if (size > limits.maxBytes) {
      throw new PipelineError("E_INPUT", `one request is ${size} bytes, over the vendor's ${limits.maxBytes}-byte batch limit; use smaller chunks (--chunk-size)`, { recordId: line.customId });
    }
    if (current.lines.length && (current.lines.length >= limits.maxRequests || current.bytes + size > limits.maxBytes)) {
      parts.push(current);
      current = { lines: [], bytes: 0 };
    }
    current.lines.push(line);
    current.bytes += size;
  }
  if (current.lines.length) parts.push(current);
  return parts;
}

export interface BatchEstimate {
  batches: number;
  requests: number;
  bytes: number;
  inputTokens: number;
  outputTokens: number;
  /** USD at batch prices; undefined when the model is unpriced. */
  cost?: number;
  /** The same requests sent one by one, at list prices. */
  syncCost?: number;
}

export function estimateBatches(parts: readonly BatchPart[], provider: Parameters<typeof priceFor>[0], model: string, prices: PriceTable, outputTokensPerCall: number): BatchEstimate {
  let requests = 0, bytes = 0, inputTokens = 0;
  for (const p of parts) {
    requests += p.lines.length;
    bytes += p.bytes;
    for (const l of p.lines) inputTokens += estimatePromptTokens(l.request.messages, l.request.schema?.schema);
  }
  const outputTokens = requests * outputTokensPerCall;
  const batch = batchPriceFor(provider, model, prices);
  const list = priceFor(provider, model, prices);
  return {
    batches: parts.length, requests, bytes, inputTokens, outputTokens,
    cost: batch ? costOf(batch, inputTokens, outputTokens) : undefined,
    syncCost: list ? costOf(list, inputTokens, outputTokens) : undefined,
  };
}

const usd = (c: number | undefined): string => (c === undefined ? "unknown (model not in the price table; set PIPELINE_PRICES)" : `$${c.toFixed(4)}`);

export function formatBatchPlan(e: BatchEstimate, parts: readonly BatchPart[], head: string): string {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;
  return [
    head,
    `  batches:  ${e.batches}${parts.length > 1 ? ` (${parts.map((p) => `${p.lines.length.toLocaleString("en")} req / ${mb(p.bytes)}`).join(", ")})` : ""}`,
    `  requests: ${e.requests.toLocaleString("en")}`,
    `  bytes:    ${mb(e.bytes)}`,
    `  tokens:   ~${e.inputTokens.toLocaleString("en")} in + ~${e.outputTokens.toLocaleString("en")} out`,
    `  cost:     ${usd(e.cost)} at batch prices (${usd(e.syncCost)} one by one)`,
    `  time:     up to 24 h (the vendor's completion window)`,
  ].join("\n");
}
