// The backend a step sees in batch mode: requests already answered by a batch are replayed from the results;
// the others are collected for the next batch (collect mode) or sent now, synchronously (final mode).
import { AsyncLocalStorage } from "node:async_hooks";
import { PipelineError } from "../../errors.ts";
import { cacheKey } from "../cache.ts";
import { ProviderError } from "../errors.ts";
import type { GenerateRequest, GenerateResult, Provider } from "../types.ts";
import type { StoredOutcome } from "./ledger.ts";

/** Thrown in collect mode for a request the batch has not answered yet; the pass moves on to the next record. */
export class BatchDeferred extends PipelineError {
  constructor() { super("E_STAGE", "request deferred to a batch"); this.name = "BatchDeferred"; }
}

const recordIds = new AsyncLocalStorage<string>();
/** Run a record's stage with its id known, so its requests' custom_id starts with it. */
export const withRecordId = <T>(id: string, fn: () => Promise<T>): Promise<T> => recordIds.run(id, fn);

const KEY_CHARS = 24;
/** What identifies a request across runs: the same parts as the response cache's key, shortened. */
export function requestKey(backend: Pick<Provider, "name" | "baseURL" | "model">, req: GenerateRequest): string {
  return cacheKey({ provider: backend.name, baseURL: backend.baseURL, model: backend.model, messages: req.messages, schema: req.schema, temperature: req.temperature, maxTokens: req.maxTokens }).slice(0, KEY_CHARS);
}

/** custom_id: the record's id (vendors allow [A-Za-z0-9_-], up to 64 characters), then the request key. */
export function customIdFor(key: string): string {
  const record = (recordIds.getStore() ?? "r").replace(/[^A-Za-z0-9_]/g, "_").slice(0, 64 - KEY_CHARS - 1);
  return `${record}-${key}`;
}
export const keyOfCustomId = (customId: string): string => customId.slice(-KEY_CHARS);

export interface ReplayState {
  outcomes: Map<string, StoredOutcome>;
  /** Times each request key was submitted in a batch. */
  attempts: Map<string, number>;
  maxRetries: number;
}

/** Is this request's batch answer final (a reply, or a failure that is not retried)? */
export function settled(state: ReplayState, key: string): StoredOutcome | undefined {
  const o = state.outcomes.get(key);
  if (!o) return undefined;
  if (o.ok || !o.retryable || (state.attempts.get(key) ?? 0) > state.maxRetries) return o;
  return undefined;
}

/**
 * `onMiss` decides what an unanswered request does: collect mode records it and throws BatchDeferred;
 * final mode calls the real backend (the client's retries, limits and cache then apply as always).
 */
export function replayProvider(backend: Provider, state: ReplayState, onMiss: (key: string, req: GenerateRequest) => Promise<GenerateResult>): Provider {
  return {
    name: backend.name,
    model: backend.model,
    baseURL: backend.baseURL,
    maxConcurrency: backend.maxConcurrency,
    async generate(req) {
      const key = requestKey(backend, req);
      const o = settled(state, key);
      if (!o) return onMiss(key, req);
      if (o.ok) return { ...o.result, batch: true };
      const n = state.attempts.get(key) ?? 0;
      // A line failure belongs to its record (recorded with `error`), never stops the run; retries were the batch's.
      throw new ProviderError("E_PROVIDER", `${backend.name} batch: ${o.error}${o.retryable ? ` (gave up after ${n} attempts)` : ""}`, {
        provider: backend.name, kind: "other", retryable: false, fatal: false,
      });
    },
  };
}
