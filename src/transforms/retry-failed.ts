// --retry-failed and --max-failures for the LLM steps (generate-qa, validate).
//
// --retry-failed re-runs a step over the same input beside its complete output: each input is paired, in
// order, with the records that output gave it; an input whose records carry a failure is asked again, every
// other input gets its old records back as they were (parsed JSON re-serialized by the same framing, so
// byte-identical). Inputs and the old output are both read as streams, in step, so memory stays flat. The
// run is an ordinary resumable step (its settings add `retryFailed`), so --resume continues it.
import { z } from "zod";
import { PipelineError } from "../errors.ts";
import type { Stage } from "../streams/as-transform.ts";
import { changedSettings, keptLedgerPath, readLedger, type Ledger } from "../streams/ledger.ts";
import { readRecords } from "../sinks/read-records.ts";

/** An input and the records the previous output gave it. */
export interface WithPrevious<I, P> { input: I; previous: P[] }

/** Any JSON object, kept exactly as parsed (a zod object schema would drop or reorder keys). */
const AsParsed = z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "expected a JSON object");

/** The ledger of the complete output at `path`: its own, or the one a later unfinished run kept aside. */
async function completeLedger(path: string): Promise<Ledger | undefined> {
  const own = await readLedger(path).catch(() => undefined);
  if (own?.complete) return own;
  const kept = await readLedger(path, keptLedgerPath(path)).catch(() => undefined);
  return kept?.complete ? kept : undefined;
}

/**
 * The records of the complete output at `path`, after checking that this step made it with these settings
 * (else pairing them with the inputs by order would be wrong).
 */
export async function previousRecords<P>(step: string, path: string, settings: Record<string, unknown>): Promise<AsyncIterable<P>> {
  const ledger = await completeLedger(path);
  if (!ledger || ledger.step !== step) {
    throw new PipelineError("E_USAGE", `--retry-failed needs a complete ${step} output to retry from, and ${path} is not one; run the step without it first`, { stage: step, file: path });
  }
  const { retryFailed: _a, ...before } = ledger.settings ?? {};
  const { retryFailed: _b, ...now } = settings;
  const changed = changedSettings(before, now);
  if (changed.length) {
    throw new PipelineError("E_USAGE", `--retry-failed must use the settings of the output it retries (${path}); changed: ${changed.join(", ")}`, { stage: step, file: path });
  }
  return readRecords({ path, schema: AsParsed }) as AsyncIterable<P>;
}

/** Walks inputs and the previous records in step: the records that belong to an input follow each other. */
export async function* pairWithPrevious<I, P>(inputs: AsyncIterable<I>, previous: AsyncIterable<P>, belongs: (p: P, input: I) => boolean): AsyncGenerator<WithPrevious<I, P>> {
  const it = previous[Symbol.asyncIterator]();
  let next = await it.next();
  for await (const input of inputs) {
    const mine: P[] = [];
    while (!next.done && belongs(next.value, input)) {
      mine.push(next.value);
      next = await it.next();
    }
    yield { input, previous: mine };
  }
  await it.return?.();
}

/** Gives an input its previous records back unless one of them failed; then runs `stage` on it again. */
export function retryFailedStage<I, P, O>(stage: Stage<I, O>, failed: (p: P) => boolean): Stage<WithPrevious<I, P>, O | P> {
  return (x, ctx) => (x.previous.some(failed) ? stage(x.input, ctx) : x.previous);
}

/** --max-failures: a whole number ≥ 0; undefined means "fail only when every record failed". */
export function parseMaxFailures(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new PipelineError("E_USAGE", `--max-failures must be a whole number ≥ 0, got "${value}"`, { field: "--max-failures" });
  return n;
}

/** Fails the step (exit 1) when more records failed than allowed; the output is complete and kept either way. */
export function checkFailures(step: string, failed: number, total: number, max: number | undefined, what: string): void {
  const tooMany = max === undefined ? total > 0 && failed === total : failed > max;
  if (!tooMany) return;
  const limit = max === undefined ? "every one failed" : `more than --max-failures ${max}`;
  throw new PipelineError(
    "E_FAILURES",
    `${failed} of ${total} ${what} failed (${limit}); the output is complete with each failure recorded — fix the cause, then rerun with --retry-failed to ask again for just those`,
    { stage: step },
  );
}
