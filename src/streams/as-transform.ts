// The one adapter that turns a stage function into an object-mode Transform:
// ordered output, bounded concurrency, backpressure, AbortSignal, errors that say where.
//
// Order without head-of-line blocking: up to `concurrency` records run at once, and finished records wait
// in a reorder window (default 32 × concurrency records, in flight included) until those before them are
// out. One slow or hung record then holds back only the window, not the other slots: they keep working
// until the window is full. Memory stays bounded by the window, whatever the latency tail.
import { Transform } from "node:stream";
import { PipelineError } from "../errors.ts";

export interface StageContext {
  /** 0-based position of the input record in the stream. */
  index: number;
  signal: AbortSignal;
}

/** A stage maps one record to zero, one or many: null drops, an array or async iterable fans out. */
export type StageResult<O> = O | O[] | null | undefined | AsyncIterable<O> | Iterable<O>;
export type Stage<I, O> = (record: I, ctx: StageContext) => Promise<StageResult<O>> | StageResult<O>;

export interface AsTransformOptions<O> {
  name: string;
  /** How many records may be in flight at once; output order is always input order. */
  concurrency?: number;
  /** Inputs held at once, running or finished and waiting for an earlier one (default 32 × concurrency). */
  window?: number;
  signal?: AbortSignal;
  /** Called once after the last input, to emit records a stage held back (e.g. a summary). */
  flush?: () => Promise<O[] | void> | O[] | void;
  /** Called after all outputs of input `index` were pushed: the hook resume ledgers stand on. */
  onInputDone?: (index: number, outputs: number) => void;
  /** Index given to the first record (a resumed run passes how many inputs were already committed). */
  firstIndex?: number;
}

interface Slot<O> { done: boolean; outputs: O[]; error?: unknown; record: unknown }

/** Reorder window per slot: covers a record 32× slower than the others without idling a slot. */
const DEFAULT_WINDOW_FACTOR = 32;

export function asTransform<I, O>(stage: Stage<I, O>, opts: AsTransformOptions<O>): Transform {
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const window = Math.max(concurrency, opts.window ?? concurrency * DEFAULT_WINDOW_FACTOR);
  const queue: Slot<O>[] = [];
  let running = 0;
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  let nextIndex = opts.firstIndex ?? 0;
  let emitted = opts.firstIndex ?? 0;
  let resumeWriter: (() => void) | null = null;
  let finish: (() => void) | null = null;

  const transform = new Transform({
    objectMode: true,
    highWaterMark: concurrency,
    transform(record: I, _enc, callback) {
      if (signal.aborted) return callback(abortError(opts.name, signal));
      const slot: Slot<O> = { done: false, outputs: [], record };
      queue.push(slot);
      running++;
      const index = nextIndex++;
      run(record, index).then(
        (outputs) => { slot.outputs = outputs; slot.done = true; running--; drain(); },
        (error) => { slot.error = error; slot.done = true; running--; drain(); },
      );
      // Accept the next record now if a slot is free and the window has room; otherwise wait.
      if (hasRoom()) callback();
      else resumeWriter = callback;
    },
    flush(callback) {
      finish = () => {
        Promise.resolve(opts.flush?.())
          .then((extra) => { for (const o of extra ?? []) transform.push(o); callback(); })
          .catch((e) => callback(wrap(e, opts.name)));
      };
      drain();
    },
    destroy(error, callback) {
      controller.abort(error ?? new Error("stream destroyed"));
      callback(error);
    },
  });

  async function run(record: I, index: number): Promise<O[]> {
    const result = await stage(record, { index, signal });
    return collectResult(result);
  }

  function hasRoom(): boolean {
    return running < concurrency && queue.length < window;
  }

  function drain(): void {
    while (queue.length && queue[0]!.done) {
      const slot = queue.shift()!;
      if (slot.error !== undefined) {
        controller.abort(slot.error);
        transform.destroy(wrap(slot.error, opts.name, slot.record));
        return;
      }
      for (const o of slot.outputs) transform.push(o);
      opts.onInputDone?.(emitted++, slot.outputs.length);
    }
    if (resumeWriter && hasRoom()) {
      const cb = resumeWriter;
      resumeWriter = null;
      cb();
    }
    if (finish && queue.length === 0) {
      const f = finish;
      finish = null;
      f();
    }
  }

  return transform;
}

/** Everything a stage returned for one record, as an array (null → [], generators drained). */
export async function collectResult<O>(result: StageResult<O>): Promise<O[]> {
  if (result === null || result === undefined) return [];
  if (Array.isArray(result)) return result;
  if (typeof result === "object" && Symbol.asyncIterator in (result as object)) {
    const out: O[] = [];
    for await (const o of result as AsyncIterable<O>) out.push(o);
    return out;
  }
  if (typeof result === "object" && typeof (result as Iterable<O>)[Symbol.iterator] === "function" && !isPlainRecord(result)) {
    return [...(result as Iterable<O>)];
  }
  return [result as O];
}

function isPlainRecord(v: unknown): boolean {
  return Object.getPrototypeOf(v) === Object.prototype;
}

function wrap(error: unknown, stage: string, record?: unknown): Error {
  if (error instanceof PipelineError) {
    if (error.where.stage) return error;
    return new PipelineError(error.code, error.message, { ...error.where, stage, recordId: recordIdOf(record) }, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PipelineError("E_STAGE", message, { stage, recordId: recordIdOf(record) }, { cause: error });
}

function recordIdOf(record: unknown): string | undefined {
  return record && typeof record === "object" && "id" in record && typeof record.id === "string" ? record.id : undefined;
}

function abortError(stage: string, signal: AbortSignal): Error {
  return new PipelineError("E_STAGE", `aborted: ${String(signal.reason ?? "signal")}`, { stage });
}
