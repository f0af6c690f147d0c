// The batch engine: collect the requests a step would make, submit them in batches within the vendor's limits,
// poll with progress, read results back by custom_id, retry failed lines, and hand the step a backend that
// replays the answers — so the step itself runs unchanged and writes what a synchronous run would.
//
//   const replay = await runBatches({ step, target, vendor, backend, collect, … });
//   // then run the step as usual with createClient(replay, config): answered requests are replayed,
//   // the few left (below syncBelow, or out of rounds) go out synchronously.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { PipelineError } from "../../errors.ts";
import { log } from "../../log.ts";
import { readLedger } from "../../streams/ledger.ts";
import { lockOutput } from "../../streams/output-lock.ts";
import { ResponseCache, cacheKey } from "../cache.ts";
import { ProviderError } from "../errors.ts";
import { batchPriceFor, costOf, type PriceTable } from "../prices.ts";
import { sleep } from "../retry.ts";
import type { GenerateRequest, Provider } from "../types.ts";
import {
  appendBatchResults, batchLedgerPath, newRunId, readBatchLedger, readBatchResults, removeBatchFiles, writeBatchLedger,
  type BatchEntry, type BatchLedger, type StoredOutcome,
} from "./ledger.ts";
import { estimateBatches, formatBatchPlan, splitBatches } from "./plan.ts";
import { BatchDeferred, customIdFor, keyOfCustomId, replayProvider, type ReplayState } from "./replay.ts";
import type { BatchLine, BatchStatus, BatchVendor } from "./types.ts";

export interface BatchRunOptions {
  step: string;
  /** The step's output file: the batch ledger and results live beside it. */
  target: string;
  vendor: BatchVendor;
  /** The synchronous backend (same model and server) for the requests left to send one by one. */
  backend: Provider;
  /** Hash of the step's settings (as its resume ledger has it): a resumed run must match. */
  settingsHash: string;
  resume: boolean;
  /** Times a failed, expired or cancelled line is submitted again (the client's --max-retries). */
  maxRetries: number;
  /** A follow-up round with fewer requests than this is sent synchronously instead (default 20). */
  syncBelow?: number;
  /** Between status requests (default 30 s). */
  pollMs?: number;
  maxCost?: number;
  prices: PriceTable;
  /** Reply tokens per request, for the cost estimate. */
  outputTokensPerCall: number;
  /** The step's response cache: requests it already holds are not batched. */
  cacheDir?: string;
  /**
   * Run the step's stage once over every input not committed yet, with `backend` in place of the real one
   * (each record inside withRecordId). BatchDeferred thrown by a record is to be caught and ignored.
   */
  collect(backend: Provider, skip: number): Promise<void>;
  signal?: AbortSignal;
  write?: (text: string) => void;
}

export interface BatchRunResult {
  /** The backend for the step's real run: replays batch answers, sends the rest synchronously. */
  replay: Provider;
  submitted: number;
  batches: number;
}

/** Requests that come back deferred are ignored by collect passes through this. */
export const ignoreDeferred = (e: unknown): void => { if (!(e instanceof BatchDeferred)) throw e; };

export async function runBatches(o: BatchRunOptions): Promise<BatchRunResult> {
  // One batch run per output at a time: two would both submit. Taken on the ledger, so the step's own lock
  // on its output (taken later, by runStep) is not in the way.
  await mkdir(dirname(o.target), { recursive: true });
  const lock = lockOutput(batchLedgerPath(o.target), { step: o.step });
  try {
    return await batchRounds(o);
  } finally {
    lock.release();
  }
}

async function batchRounds(o: BatchRunOptions): Promise<BatchRunResult> {
  // Progress goes to stderr as log lines (so --quiet silences it), unless the caller takes it.
  const write = o.write ?? ((t: string) => log.info(t.trimEnd()));
  const pollMs = o.pollMs ?? 30_000;
  const syncBelow = o.syncBelow ?? 20;
  const skip = await committedInputs(o.target, o.resume);
  const ledger = await openLedger(o);
  const state: ReplayState = { outcomes: await readBatchResults(o.target), attempts: new Map(), maxRetries: o.maxRetries };
  for (const b of ledger.batches) for (const id of b.customIds) bump(state.attempts, keyOfCustomId(id));
  const cache = o.cacheDir ? new ResponseCache(o.cacheDir) : undefined;
  const save = () => writeBatchLedger(o.target, ledger);
  let submitted = 0, batches = 0;

  await recoverSubmitting(o, ledger, state);
  await save();
  await settle(o, ledger, state, ledger.batches.filter((b) => !b.collected), pollMs, write, save);

  const maxRounds = o.maxRetries + 3; // first answers, repairs of unusable replies, retries of failed lines
  const firstRound = ledger.batches.reduce((m, b) => Math.max(m, b.round + 1), 0);
  for (let round = firstRound; round < firstRound + maxRounds; round++) {
    const wanted = new Map<string, BatchLine>();
    const collectMode = replayProvider(o.backend, state, async (key, req) => {
      if (cache) {
        const hit = await cache.get(cacheKey({ provider: o.backend.name, baseURL: o.backend.baseURL, model: o.backend.model, messages: req.messages, schema: req.schema, temperature: req.temperature, maxTokens: req.maxTokens }));
        if (hit) return hit;
      }
      if (!wanted.has(key)) wanted.set(key, { customId: customIdFor(key), request: strip(req) });
      throw new BatchDeferred();
    });
    await o.collect(collectMode, skip);
    if (!wanted.size) break;
    if (round > firstRound && wanted.size < syncBelow) {
      log.info(`${o.step}: ${wanted.size} request(s) left, fewer than ${syncBelow}: sending them now instead of in another batch`);
      break;
    }
    const lines = [...wanted.values()];
    const parts = splitBatches(lines, o.vendor.limits, (l) => o.vendor.lineBytes(l));
    const estimate = estimateBatches(parts, o.vendor.name, o.vendor.model, o.prices, o.outputTokensPerCall);
    if (o.maxCost !== undefined) {
      const spent = spentSoFar(state, o);
      if (estimate.cost !== undefined && spent + estimate.cost > o.maxCost) {
        throw new PipelineError(
          "E_BUDGET",
          `the next batch round (${lines.length} request(s)) is estimated at $${estimate.cost.toFixed(4)} at batch prices; with $${spent.toFixed(4)} already spent that passes --max-cost $${o.maxCost}: nothing was submitted — raise --max-cost and rerun with --resume`,
          { stage: o.step },
        );
      }
      if (estimate.cost === undefined) log.warn(`--max-cost cannot be checked: ${o.vendor.model} is not in the price table; add it with PIPELINE_PRICES`);
    }
    log.info(formatBatchPlan(estimate, parts, `${o.step}: batch round ${round + 1}: ${o.vendor.name} / ${o.vendor.model}`));
    const entries: BatchEntry[] = [];
    for (const [i, part] of parts.entries()) {
      const entry: BatchEntry = {
        label: `docs2model-${o.step}-${ledger.runId}-r${round}-p${i}`, round, customIds: part.lines.map((l) => l.customId),
        state: "submitting", collected: false, submittedAt: new Date().toISOString(),
      };
      // Written before the create request: a kill in between leaves a trace that --resume looks up by label.
      ledger.batches.push(entry);
      await save();
      const created = await o.vendor.submit(part.lines, entry.label);
      entry.id = created.id;
      entry.inputFileId = created.inputFileId;
      entry.state = "submitted";
      await save();
      for (const id of entry.customIds) bump(state.attempts, keyOfCustomId(id));
      log.info(`${o.step}: submitted batch ${entry.id} (${part.lines.length} request(s))`);
      entries.push(entry);
      submitted += part.lines.length;
      batches++;
    }
    await settle(o, ledger, state, entries, pollMs, write, save);
  }
  const replay = replayProvider(o.backend, state, (_key, req) => o.backend.generate(req));
  return { replay, submitted, batches };
}

/** Inputs the step's own ledger has committed: a resumed run neither batches nor redoes them. */
async function committedInputs(target: string, resume: boolean): Promise<number> {
  if (!resume) return 0;
  const l = await readLedger(target).catch(() => undefined);
  if (!l) return 0;
  return l.complete ? Number.POSITIVE_INFINITY : l.inputs;
}

async function openLedger(o: BatchRunOptions): Promise<BatchLedger> {
  const old = await readBatchLedger(o.target);
  const inFlight = old?.batches.filter((b) => !b.collected) ?? [];
  if (old && o.resume) {
    if (old.settingsHash !== o.settingsHash || old.provider !== o.vendor.name || old.model !== o.vendor.model) {
      throw new PipelineError(
        "E_RESUME",
        `cannot resume: the batches in ${batchLedgerPath(o.target)} were made with other settings (${old.provider}/${old.model}); rerun with the same settings, or cancel them with \`pipeline batches cancel\` and run without --resume`,
        { stage: o.step },
      );
    }
    if (old.batches.length) log.info(`${o.step}: resuming ${old.batches.length} batch(es) from ${batchLedgerPath(o.target)} (${inFlight.length} not yet collected)`);
    return old;
  }
  if (inFlight.length) {
    throw new PipelineError(
      "E_RESUME",
      `${inFlight.length} batch(es) of an earlier run are still in flight (${inFlight.map((b) => b.id ?? b.label).join(", ")}); rerun with --resume to collect them (nothing is submitted twice), or \`pipeline batches cancel\` them first`,
      { stage: o.step, file: batchLedgerPath(o.target) },
    );
  }
  await removeBatchFiles(o.target);
  return { version: 1, step: o.step, provider: o.vendor.name, model: o.vendor.model, baseURL: o.vendor.baseURL, settingsHash: o.settingsHash, runId: newRunId(), batches: [] };
}

/** A kill between "submitting" and the vendor's answer: find the batch the vendor made, or submit its lines again. */
async function recoverSubmitting(o: BatchRunOptions, ledger: BatchLedger, state: ReplayState): Promise<void> {
  const known = new Set(ledger.batches.flatMap((x) => (x.id ? [x.id] : [])));
  for (const b of ledger.batches.filter((x) => x.state === "submitting" && !x.id)) {
    const id = await o.vendor.findByLabel?.(b.label, { submittedAt: b.submittedAt, requests: b.customIds.length, known });
    if (id) {
      b.id = id; b.state = "submitted"; known.add(id);
      for (const c of b.customIds) bump(state.attempts, keyOfCustomId(c));
      log.info(`${o.step}: found batch ${id} (${b.label}), created just before the run stopped`);
    } else {
      log.warn(`${o.step}: batch ${b.label} was being created when the run stopped and ${o.vendor.findByLabel ? `${o.vendor.name} has no batch that is surely it` : `${o.vendor.name} cannot look batches up`}: its requests are submitted again (if the vendor's console shows a duplicate, cancel it)`);
      b.collected = true; b.state = "never created"; b.customIds = [];
    }
  }
}

/** Poll until every entry ended, reading each one's results as soon as it has. */
async function settle(o: BatchRunOptions, ledger: BatchLedger, state: ReplayState, entries: BatchEntry[], pollMs: number, write: (t: string) => void, save: () => Promise<void>): Promise<void> {
  const open = entries.filter((e) => !e.collected && e.id);
  if (!open.length) return;
  const started = Date.now();
  const total = open.reduce((n, e) => n + e.customIds.length, 0);
  let firstDone: number | undefined;
  let lastLine = "";
  for (;;) {
    let done = 0, failed = 0;
    for (const e of open) {
      if (e.collected) { done += e.customIds.length; continue; }
      let s: BatchStatus;
      try {
        s = await o.vendor.status(e.id!);
      } catch (err) {
        if (err instanceof ProviderError && err.retryable) { log.warn(`${o.step}: status of batch ${e.id}: ${err.message}; asking again`); continue; }
        throw err;
      }
      e.done = s.done; e.failed = s.failed;
      if (s.state !== e.state) { e.state = s.state; await save(); }
      if (s.ended) { await collectResults(o, e, state); await save(); done += e.customIds.length; failed += e.failed ?? 0; continue; }
      done += s.done ?? 0;
      failed += s.failed ?? 0;
    }
    firstDone ??= done;
    const all = open.every((e) => e.collected);
    // ETA from the vendor's own counts: requests finished since polling began, per second.
    const rate = (done - firstDone) / Math.max(1, (Date.now() - started) / 1000);
    const eta = all ? "" : rate > 0 ? `, ETA ~${formatEta((total - done) / rate)}` : "";
    const line = `${o.step}: batch ${done.toLocaleString("en")}/${total.toLocaleString("en")} request(s) done${failed ? `, ${failed} failed` : ""} in ${open.length} batch(es)${eta}`;
    if (line !== lastLine) { write(line + "\n"); lastLine = line; }
    if (all) return;
    await sleep(pollMs, o.signal);
  }
}

async function collectResults(o: BatchRunOptions, e: BatchEntry, state: ReplayState): Promise<void> {
  const { lines, missing } = await o.vendor.results(e.id!, e.customIds);
  const submitted = new Set(e.customIds);
  const seen = new Set<string>();
  const outcomes: StoredOutcome[] = [];
  for (const l of lines) {
    if (!submitted.has(l.customId) || seen.has(l.customId)) continue; // not ours, or said twice
    seen.add(l.customId);
    const key = keyOfCustomId(l.customId);
    outcomes.push(l.ok ? { key, ok: true, result: l.result } : { key, ok: false, error: l.error, retryable: l.retryable });
  }
  for (const id of e.customIds) if (!seen.has(id)) outcomes.push({ key: keyOfCustomId(id), ok: false, ...missing });
  // A success already stored (an earlier attempt) is never replaced by a later failure.
  const keep = outcomes.filter((x) => x.ok || !state.outcomes.get(x.key)?.ok);
  await appendBatchResults(o.target, keep);
  for (const x of keep) state.outcomes.set(x.key, x);
  e.collected = true;
  const bad = keep.filter((x) => !x.ok).length;
  log.info(`${o.step}: batch ${e.id} ${e.state}: ${keep.length - bad} answered, ${bad} failed`);
}

function spentSoFar(state: ReplayState, o: BatchRunOptions): number {
  const price = batchPriceFor(o.vendor.name, o.vendor.model, o.prices);
  let c = 0;
  for (const x of state.outcomes.values()) if (x.ok) c += costOf(price, x.result.usage.inputTokens, x.result.usage.outputTokens);
  return c;
}

const bump = (m: Map<string, number>, k: string): void => { m.set(k, (m.get(k) ?? 0) + 1); };
const strip = ({ signal: _signal, ...req }: GenerateRequest): GenerateRequest => req;

function formatEta(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
