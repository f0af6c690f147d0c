// Keeps a streaming step's memory flat: V8 lets garbage grow to ~4× the live heap before a full GC,
// which for big documents (1 MB strings go straight to old space) meant ~100 MB of dead text in RSS.
// While a step runs, a full GC is asked for whenever the heap passes max(floor, 2 × what was live
// after the last one) — measured: peak RSS 235 → 180 MB chunking 200 MB, same CPU time.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFn: (() => void) | null | undefined;

/** V8's gc() without --expose-gc on the command line: expose it to a fresh context, then hide it again. */
function getGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
    setFlagsFromString("--no-expose-gc");
  } catch {
    gcFn = null;
  }
  return gcFn;
}

export interface HeapGuard { stop(): void; readonly forced: number }

/**
 * V8 doubles the young generation (up to 2 × 16 MB per isolate) whenever more survives a scavenge than it holds —
 * which a stream of page texts kept for their document always does. A growth factor of 1 keeps each young generation
 * at the size it has: measured on the 270-PDF corpus (bench/pdf-engines.ts), peak RSS of `chunk` 20–30 MB lower
 * (the main thread's stays at 16 MB instead of 32, each PDF worker's at 2 instead of 8), same CPU time. The flag is
 * process-wide and Node sets V8's flags again whenever a worker thread starts, so the guard re-asserts it on each
 * check; stopping the guard gives V8's default (2) back. Newer V8 releases keep the flag but hold it at 2 or more
 * (a min-value implication in flag-definitions.h): there the setting is accepted and does nothing, only the saving goes.
 */
function holdYoungGeneration(on: boolean): void {
  setFlagsFromString(`--semi-space-growth-factor=${on ? 1 : 2}`);
}

/**
 * Loading a command's modules survives many scavenges and leaves the main thread's young generation at 8–16 MB for
 * the rest of the run, needed or not. The CLI holds it at its initial size (1 MB semi-spaces) while it loads a
 * command, then calls the returned function: a step that needs a big young generation grows one again in a few
 * scavenges, and one whose heap guard holds it (the chunk step) keeps ~12 MB less RSS (measured on the 270-PDF corpus).
 */
export function holdYoungGenerationWhileLoading(): () => void {
  holdYoungGeneration(true);
  return () => holdYoungGeneration(false);
}

/**
 * Starts checking every `everyMs`; returns a handle to stop it. A no-op where gc() is unavailable. `growth`: how far
 * past what was live the heap may grow before the next GC (2: twice what was live). `holdYoung`: young generations
 * do not grow while the guard runs (see holdYoungGeneration).
 */
export function startHeapGuard(floorMb = 64, everyMs = 50, growth = 2, holdYoung = false): HeapGuard {
  const gc = getGc();
  const state = { forced: 0 };
  if (!gc) return { stop() {}, get forced() { return 0; } };
  let threshold = floorMb * 1048576;
  if (holdYoung) holdYoungGeneration(true);
  const check = () => {
    if (holdYoung) holdYoungGeneration(true);
    if (getHeapStatistics().used_heap_size <= threshold) return;
    gc();
    state.forced++;
    threshold = Math.max(floorMb * 1048576, growth * getHeapStatistics().used_heap_size);
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  checkpoints.add(check);
  const stop = () => {
    clearInterval(timer);
    checkpoints.delete(check);
    if (holdYoung) holdYoungGeneration(false);
  };
  return { stop, get forced() { return state.forced; } };
}

const checkpoints = new Set<() => void>();

/**
 * The running guards' check, now: for a stage that has just dropped a lot (a big document's pages after cleaning).
 * The timer alone cannot see such a peak: a chain of awaits on work already done never yields to the event loop,
 * so timers wait until the whole document is through. No guard running (library use): nothing happens.
 */
export function heapCheckpoint(): void {
  for (const check of checkpoints) check();
}
