// A step's client in --batch mode: run the batch engine for the step, then hand back a client whose backend
// replays the batch answers, so the step's stage runs unchanged and writes what a synchronous run would.
import type { Settings } from "../../config.ts";
import { hashSettings } from "../../streams/ledger.ts";
import { createClient, type PipelineClient } from "../client.ts";
import type { Provider } from "../types.ts";
import { runBatches, type BatchRunResult } from "./run.ts";
import { batchVendorFor } from "./vendor.ts";

export interface BatchStepOptions {
  step: string;
  /** The step's output file (its resume ledger and the batch ledger live beside it). */
  target: string;
  resume: boolean;
  /** The step's settings as its resume ledger hashes them. */
  stepSettings: Record<string, unknown>;
  outputTokensPerCall: number;
  /** One pass of the step's stage over the inputs after `skip`, with this client (see BatchRunOptions.collect). */
  collect(client: PipelineClient, skip: number): Promise<void>;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
}

export async function batchedClient(settings: Settings, client: PipelineClient, o: BatchStepOptions): Promise<PipelineClient & { batchRun: BatchRunResult }> {
  const vendor = batchVendorFor(client.backend, settings.env, o.fetch);
  const config = client.config;
  const run = await runBatches({
    step: o.step, target: o.target, vendor, backend: client.backend, settingsHash: hashSettings(o.stepSettings), resume: o.resume,
    maxRetries: settings.maxRetries, syncBelow: settings.batchSyncBelow, pollMs: settings.batchPollSec * 1000,
    maxCost: settings.maxCost, prices: config.prices, outputTokensPerCall: o.outputTokensPerCall, cacheDir: config.cacheDir, signal: o.signal,
    collect: async (backend: Provider, skip: number) => {
      // A throwaway client: no budget, cache writes, rate limits or retries while only gathering requests.
      const c = createClient(backend, { ...config, maxCost: undefined, cacheDir: undefined, maxRetries: 0, rpm: undefined, tpm: undefined });
      try { await o.collect(c, skip); } finally { await c.close(); }
    },
  });
  // The budget was checked against each round's estimate before it was submitted; replies already paid for are
  // never thrown away by it here.
  const final = createClient(run.replay, { ...config, maxCost: undefined });
  return Object.assign(final, { batchRun: run });
}

/** Run `fn` over the inputs after the first `skip`, one at a time (collect passes are CPU only). */
export async function forEachAfter<T>(input: AsyncIterable<T>, skip: number, fn: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let i = 0;
  for await (const item of input) {
    const index = i++;
    if (index < skip) continue;
    await fn(item, index);
  }
}
