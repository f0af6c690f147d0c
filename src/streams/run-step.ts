// runStep: run a stage over an input stream into a file (resumable) or a stream — every step uses it.
//
// CONTRACT (kept stable; other steps build on it)
//
//   const result = await runStep({
//     name: "validate",                          // shown in logs, errors and the ledger
//     input,                                     // AsyncIterable<I> or Iterable<I> (an object-mode Readable is one)
//     stage,                                     // Stage<I, O> or an array of stages applied in turn (fan-out allowed)
//     output: { path: "out/x.ndjson", format: "ndjson" }     // or format "json-array" (indent, default 2)
//          // | { stream: process.stdout, format: "ndjson" } // no ledger, no resume
//     resume: args.resume,                       // continue a killed run (file outputs only)
//     settings: { threshold, model },            // everything that shapes the output bytes (hashed into the ledger)
//     concurrency: 4,                            // records in flight; output order is always input order
//     signal, progress,                          // optional: AbortSignal; a ProgressSink (src/streams/progress.ts)
//   });
//   // result: { inputs, resumedInputs, records, bytes, path?, alreadyComplete }
//
// Guarantees for a file output `P`:
// - Bytes go to `P.partial`; `P.ledger.json` records { inputs, records, bytes, settingsHash, complete }.
//   The ledger is rewritten (atomically) only after the bytes it counts are written and fdatasync'd,
//   batched: at most once per `commitEveryMs` (1000) or every `commitEveryInputs` (10000) inputs.
// - On completion the closing bytes are written, the ledger marked complete, and `P.partial` is renamed
//   over `P`. So without `resume`, an old `P` is replaced only by a complete new one; until then the old
//   `P`'s complete ledger is kept in `P.ledger.complete.json`, so a failed run with other settings does not
//   make `--resume` with the old settings refuse: it finds `P` complete.
// - With `resume`: the work file is truncated to the ledger's byte count and the first `inputs` input
//   records are read but not processed (ctx.index keeps counting from there). A ledger whose
//   settings differ fails with E_RESUME naming the changed settings. No ledger: starts from scratch.
//   A complete ledger: nothing is done (`alreadyComplete: true`).
// - Killing the process at any instant and resuming gives output byte-identical to an uninterrupted
//   run, provided the stage is deterministic per record. A stage must not depend on records before it
//   (on resume it never sees the committed ones); whole-output summaries belong after the step.
// - On an error, the inputs finished before the failing one stay committed, so `--resume` continues.
//   Ctrl-C (SIGINT) on a file output does the same and fails with E_INTERRUPTED (exit 130): "interrupted; … rerun with --resume"
//   (handleSigint: false leaves SIGINT alone).
// - One writer per file output: `P.lock` is taken first (src/streams/output-lock.ts); a second run on
//   the same output fails with E_LOCKED naming the pid and host that hold it, before touching anything.
// - Memory stays flat: records stream through, writes go out in 64 KB batches, and a heap guard
//   (src/streams/heap-guard.ts; heapGuardMb, default 64) keeps dead strings from piling up.
import { once } from "node:events";
import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { asTransform, collectResult, type Stage } from "./as-transform.ts";
import { framing, type OutputFormat } from "./framing.ts";
import { startHeapGuard } from "./heap-guard.ts";
import { changedSettings, hashSettings, keptLedgerPath, ledgerPath, readLedger, workPath, writeLedger, type Ledger } from "./ledger.ts";
import { onInterrupt } from "./interrupt.ts";
import { lockOutput, type OutputLock } from "./output-lock.ts";
import { checkOutputFile } from "./path-checks.ts";
import type { ProgressSink } from "./progress.ts";

const WRITE_BATCH = 64 * 1024;

export type StepOutput =
  | { path: string; format?: OutputFormat; indent?: number }
  | { stream: Writable; format?: OutputFormat; indent?: number };

export interface RunStepOptions<I, O> {
  name: string;
  input: AsyncIterable<I> | Iterable<I>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stage: Stage<I, O> | Array<Stage<any, any>>;
  output: StepOutput;
  resume?: boolean;
  settings?: Record<string, unknown>;
  concurrency?: number;
  signal?: AbortSignal;
  progress?: ProgressSink;
  commitEveryMs?: number;
  commitEveryInputs?: number;
  /** Catch Ctrl-C while writing a file (default true); a library embedding its own handling passes false. */
  handleSigint?: boolean;
  /** Keep garbage below max(this many MB, 2 × live heap) with timely full GCs (default 64; false = off). */
  heapGuardMb?: number | false;
  /** The heap guard's growth past the live heap before a GC (default 2; heap-guard.ts). */
  heapGuardGrowth?: number;
  /** Young generations do not grow while the step runs (heap-guard.ts; for steps that keep much of what they read). */
  holdYoungGeneration?: boolean;
}

export interface StepResult {
  /** Inputs committed in total, including those a resumed run skipped. */
  inputs: number;
  /** Inputs skipped because an earlier run had committed them. */
  resumedInputs: number;
  records: number;
  bytes: number;
  path?: string;
  alreadyComplete: boolean;
}

/** Stages applied one after another; each may drop or fan out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function composeStages<I, O>(stages: Array<Stage<any, any>>): Stage<I, O> {
  if (stages.length === 1) return stages[0]!;
  return async (record, ctx) => {
    let current: unknown[] = [record];
    for (const stage of stages) {
      const next: unknown[] = [];
      // One push per record: a spread of a big document's ~100k chunks would overflow the call stack.
      for (const r of current) for (const o of await collectResult(await stage(r, ctx))) next.push(o);
      current = next;
    }
    return current as O[];
  };
}

/**
 * An input's records as bytes, one record at a time as the sink takes them: a big document's ~8,000 chunks are never
 * all held as JSON at once (that would be another copy of its text).
 */
function* serializeWith(frame: { record(value: unknown, index: number): string }, outputs: unknown[], first: number): Generator<string> {
  for (let i = 0; i < outputs.length; i++) yield frame.record(outputs[i], first + i);
}

/** Where bytes go; a file sink also keeps the ledger. */
interface Sink {
  /** One input's bytes, as pieces (one per record, made as they are taken): nothing big is ever joined, so memory stays flat. */
  append(pieces: Iterable<string>, inputsDone: number, recordsDone: number): Promise<number>;
  /** Make everything appended so far durable and recorded. */
  commit(): Promise<void>;
  complete(footer: string): Promise<void>;
  close(): Promise<void>;
}

export async function runStep<I, O>(opts: RunStepOptions<I, O>): Promise<StepResult> {
  const format = opts.output.format ?? "ndjson";
  const frame = framing(format, opts.output.indent ?? 2);
  const serialize = (outputs: unknown[], first: number) => serializeWith(frame, outputs, first);
  const stage: Stage<I, O> = Array.isArray(opts.stage) ? composeStages<I, O>(opts.stage) : opts.stage;
  const settings = { ...(opts.settings ?? {}) };
  const state = { inputs: 0, records: 0, bytes: 0, resumedInputs: 0 };

  let sink: Sink;
  let path: string | undefined;
  let lock: OutputLock | undefined;
  if ("path" in opts.output) {
    path = resolve(opts.output.path);
    checkOutputFile(path);
    await mkdir(dirname(path), { recursive: true });
    lock = lockOutput(path, { step: opts.name });
    let opened: Sink | undefined;
    try {
      opened = await openFileSink(path, opts, format, frame.header, settings, state);
    } catch (e) {
      lock.release();
      throw e;
    }
    if (!opened) {
      lock.release();
      log.info(`${opts.name}: ${path} is already complete (ledger ${ledgerPath(path)}); nothing to do`);
      return { ...state, path, alreadyComplete: true };
    }
    sink = opened;
  } else {
    if (opts.resume) throw new PipelineError("E_USAGE", "--resume needs an output file; name one with -o", { stage: opts.name });
    sink = streamSink(opts.output.stream);
    await sink.append([frame.header], 0, 0);
  }

  const commitEveryMs = opts.commitEveryMs ?? 1000;
  const commitEveryInputs = opts.commitEveryInputs ?? 10_000;
  let lastCommit = Date.now();
  let sinceCommit = 0;
  const skip = state.inputs;
  state.resumedInputs = skip;

  const envelope: Stage<I, { outputs: O[] }> = async (record, ctx) => ({ outputs: await collectResult(await stage(record, ctx)) });
  // Ctrl-C on a file output: stop taking inputs, keep what is finished, say how to go on.
  // A second Ctrl-C exits at once (the ledger is still consistent; at most one commit interval is redone).
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort(new PipelineError("E_STAGE", "interrupted (Ctrl-C)", { stage: opts.name }));
  };
  const offSigint = path && opts.handleSigint !== false ? onInterrupt(onSigint) : () => {};
  const heapGuard = opts.heapGuardMb === false ? undefined : startHeapGuard(opts.heapGuardMb ?? 64, 50, opts.heapGuardGrowth ?? 2, opts.holdYoungGeneration ?? false);
  const signal = opts.signal ? AbortSignal.any([opts.signal, interrupt.signal]) : interrupt.signal;
  const transform = asTransform(envelope, { name: opts.name, concurrency: opts.concurrency ?? 1, signal, firstIndex: skip });

  try {
    await pipeline(
      Readable.from(skipFirst(opts.input, skip), { objectMode: true }),
      transform,
      async (source: AsyncIterable<{ outputs: O[] }>) => {
        for await (const { outputs } of source) {
          const first = state.records;
          state.records += outputs.length;
          state.inputs++;
          state.bytes += await sink.append(serialize(outputs, first), state.inputs, state.records);
          opts.progress?.update({ inputs: state.inputs, records: state.records, bytes: state.bytes });
          if (++sinceCommit >= commitEveryInputs || Date.now() - lastCommit >= commitEveryMs) {
            await sink.commit();
            sinceCommit = 0;
            lastCommit = Date.now();
          }
        }
      },
    );
    const footer = frame.footer(state.records);
    await sink.complete(footer);
    state.bytes += Buffer.byteLength(footer);
  } catch (error) {
    offSigint();
    heapGuard?.stop();
    // Keep what is finished: the inputs before the failing one are committed for --resume.
    await sink.commit().catch(() => {});
    await sink.close().catch(() => {});
    lock?.release();
    opts.progress?.done({ inputs: state.inputs, records: state.records, bytes: state.bytes }, false);
    if (interrupt.signal.aborted) {
      throw new PipelineError("E_INTERRUPTED", `interrupted; ${state.inputs} input(s) are kept in ${workPath(path!)}: rerun with --resume to continue`, { stage: opts.name }, { cause: error });
    }
    if (path && state.inputs > 0) log.info(`${opts.name}: ${state.inputs} input(s) kept in ${workPath(path)}; rerun with --resume to continue`);
    throw error;
  }
  offSigint();
  heapGuard?.stop();
  await sink.close();
  lock?.release();
  opts.progress?.done({ inputs: state.inputs, records: state.records, bytes: state.bytes }, true);
  return { ...state, path, alreadyComplete: false };
}

async function* skipFirst<T>(input: AsyncIterable<T> | Iterable<T>, n: number): AsyncGenerator<T> {
  let i = 0;
  for await (const item of input) {
    if (i++ < n) continue;
    yield item;
  }
}

/** Opens (or resumes) the work file; returns undefined when a resumed output is already complete. */
async function openFileSink(
  target: string, opts: { name: string; resume?: boolean }, format: OutputFormat, header: string,
  settings: Record<string, unknown>, state: { inputs: number; records: number; bytes: number },
): Promise<Sink | undefined> {
  await mkdir(dirname(target), { recursive: true });
  const work = workPath(target);
  const settingsHash = hashSettings(settings);
  const base: Omit<Ledger, "inputs" | "records" | "bytes" | "complete" | "updatedAt"> = { version: 1, step: opts.name, format, settingsHash, settings };

  let handle: FileHandle;
  let previous = opts.resume ? await readLedger(target) : undefined;
  // A complete ledger whose output was since deleted describes nothing: run again from the start.
  if (previous?.complete && !(await exists(work)) && !(await exists(target))) previous = undefined;
  if (opts.resume && !previous) log.info(`${opts.name}: no interrupted run to resume for ${target}; starting from the beginning`);
  const differs = (l: Ledger): boolean => l.settingsHash !== settingsHash || l.format !== format || l.step !== opts.name;
  if (previous && !previous.complete && differs(previous)) {
    // A run with other settings failed or was stopped after this output was complete: the complete output's
    // ledger was kept aside, and with these settings there is nothing to do.
    const kept = await readLedger(target, keptLedgerPath(target)).catch(() => undefined);
    if (kept?.complete && !differs(kept) && (await sizeOf(target)) === kept.bytes) {
      log.info(`${opts.name}: ${target} is complete with these settings (an unfinished run with other settings is in ${work}); nothing to do`);
      state.inputs = kept.inputs; state.records = kept.records; state.bytes = kept.bytes;
      return undefined;
    }
  }
  if (previous) {
    if (differs(previous)) {
      const changed = changedSettings(previous.settings ?? {}, settings);
      if (previous.format !== format) changed.push("output format");
      if (previous.step !== opts.name) changed.push(`step (${previous.step} → ${opts.name})`);
      throw new PipelineError(
        "E_RESUME",
        `cannot resume: settings changed since the interrupted run (${changed.join(", ") || "settings hash"}); ` +
          `rerun with the same settings, or without --resume to start over`,
        { stage: opts.name, file: target },
      );
    }
    if (previous.complete) {
      if (await exists(work)) await rename(work, target); // killed between marking complete and the rename
      state.inputs = previous.inputs; state.records = previous.records; state.bytes = previous.bytes;
      return undefined;
    }
    const size = (await exists(work)) ? (await stat(work)).size : -1;
    if (size < previous.bytes) {
      throw new PipelineError(
        "E_RESUME",
        `cannot resume: ${work} ${size < 0 ? "is missing" : `has ${size} bytes but the ledger counts ${previous.bytes}`}; run without --resume to start over`,
        { stage: opts.name, file: target },
      );
    }
    handle = await open(work, "r+");
    await handle.truncate(previous.bytes);
    state.inputs = previous.inputs; state.records = previous.records; state.bytes = previous.bytes;
    log.info(`${opts.name}: resuming ${target} after ${previous.inputs} committed input(s)`);
  } else {
    // Until this run completes, the output it replaces stays described: its ledger is kept aside.
    const old = await readLedger(target).catch(() => undefined);
    if (old?.complete && (await sizeOf(target)) === old.bytes) await writeLedger(target, old, keptLedgerPath(target));
    handle = await open(work, "w");
  }

  let position = state.bytes;
  let pending: string[] = [];
  let pendingBytes = 0;
  let committed = { inputs: state.inputs, records: state.records, bytes: state.bytes };
  let appended = { ...committed };
  let closed = false;

  const writePending = async (): Promise<void> => {
    if (!pending.length) return;
    const buf = Buffer.from(pending.join(""));
    pending = []; pendingBytes = 0;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await handle.write(buf, off, buf.length - off, position);
      off += bytesWritten; position += bytesWritten;
    }
  };
  const record = (complete: boolean): Ledger => ({ ...base, ...committed, complete, updatedAt: new Date().toISOString() });

  // One operation at a time: a commit (e.g. from Ctrl-C) must not count bytes that an
  // in-flight append has taken from `pending` but not yet written.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };

  const sink: Sink = {
    append: (pieces, inputsDone, recordsDone) => serial(async () => {
      if (closed) return 0;
      let bytes = 0;
      for (const piece of pieces) {
        if (!piece) continue;
        pending.push(piece);
        pendingBytes += piece.length;
        bytes += Buffer.byteLength(piece);
        // Small batches: big joined strings would land in V8's large-object space and pile up.
        if (pendingBytes >= WRITE_BATCH) await writePending();
      }
      appended = { inputs: inputsDone, records: recordsDone, bytes: appended.bytes + bytes };
      return bytes;
    }),
    commit: () => serial(async () => {
      if (closed) return;
      await writePending();
      if (appended.bytes === committed.bytes && appended.inputs === committed.inputs) return;
      await handle.datasync();
      committed = { ...appended };
      await writeLedger(target, record(false));
    }),
    complete: (footer) => serial(async () => {
      if (footer) { pending.push(footer); appended = { ...appended, bytes: appended.bytes + Buffer.byteLength(footer) }; }
      await writePending();
      await handle.datasync();
      committed = { ...appended };
      await writeLedger(target, record(true));
      await handle.close(); closed = true;
      await rename(work, target);
      await rm(keptLedgerPath(target), { force: true });
    }),
    close: () => serial(async () => {
      if (closed) return;
      closed = true;
      await handle.close();
    }),
  };

  if (!previous) {
    await sink.append([header], 0, 0);
    await writePending();
    committed = { ...appended };
    await writeLedger(target, record(false));
  }
  return sink;
}

function streamSink(stream: Writable): Sink {
  // Written as it comes (the stream buffers), so a downstream step sees records without delay.
  const write = async (text: string): Promise<void> => {
    if (text && !stream.write(text)) await once(stream, "drain");
  };
  return {
    async append(pieces) {
      let batch: string[] = [];
      let size = 0;
      let bytes = 0;
      for (const piece of pieces) {
        batch.push(piece);
        size += piece.length;
        bytes += Buffer.byteLength(piece);
        if (size >= WRITE_BATCH) { await write(batch.join("")); batch = []; size = 0; }
      }
      await write(batch.join(""));
      return bytes;
    },
    commit: async () => {},
    complete: (footer) => write(footer),
    close: async () => {},
  };
}

async function sizeOf(path: string): Promise<number> {
  try { return (await stat(path)).size; } catch { return -1; }
}

async function exists(path: string): Promise<boolean> {
  try { await stat(path); return true; } catch { return false; }
}
