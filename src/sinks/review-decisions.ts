// review_decisions.ndjson on disk: appended one line per decision and fsynced before the caller replies, so a
// crashed browser or server loses nothing; read back tolerating a torn last line (a crash mid-write).
import { existsSync, readFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { ReviewDecision, ReviewStates } from "../transforms/review-decisions.ts";

export interface DecisionsRead {
  decisions: ReviewDecision[];
  /** The 1-based line of a torn last line that was ignored, if any. */
  tornLine?: number;
}

/**
 * Every decision in the file, in order (none when it does not exist). A last line that is not whole JSON and not
 * ended by a newline was cut by a crash: it is ignored with a warning naming the file and line. Any other bad
 * line stops with E_BAD_RECORD naming file, line and field.
 */
export function readDecisions(path: string): DecisionsRead {
  if (!existsSync(path)) return { decisions: [] };
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const decisions: ReviewDecision[] = [];
  let tornLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const last = i === lines.length - 1; // no newline after it
    let value: unknown;
    try { value = JSON.parse(line); } catch {
      if (last) { tornLine = i + 1; log.warn(`${path}:${i + 1}: the last line is cut short (a crash while it was written?); it is ignored`); continue; }
      throw new PipelineError("E_BAD_RECORD", "not a JSON line; fix or delete that line (each line is one decision)", { file: path, line: i + 1 });
    }
    const parsed = ReviewDecision.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PipelineError("E_BAD_RECORD", `${issue.message}; fix or delete that line`, { file: path, line: i + 1, field: issue.path.join(".") || undefined });
    }
    decisions.push(parsed.data);
  }
  return { decisions, tornLine };
}

/** The current state per pair from the decisions file (see ReviewStates). */
export function readReviewStates(path: string): ReviewStates {
  return new ReviewStates(readDecisions(path).decisions);
}

/** Appends decisions to the log; each `append` returns only once its lines are on disk (fsync). */
export class DecisionLog {
  private constructor(readonly path: string, private fh: FileHandle) {}
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens (creating) the log for appending. A torn last line (no newline after it) is cut off first: it was
   * never fsynced, so no one was told it was saved, and the next line must start on a line of its own.
   */
  static async open(path: string): Promise<DecisionLog> {
    const fh = await open(path, "a+");
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        const text = await fh.readFile();
        const keep = text.lastIndexOf(0x0a) + 1;
        log.warn(`${path}:${text.subarray(0, keep).toString("utf8").split("\n").length}: the last line is cut short (a crash while it was written?); it is removed`);
        await fh.truncate(keep);
        await fh.sync();
      }
    }
    return new DecisionLog(path, fh);
  }

  /** Validates, appends and fsyncs `decisions` as one write (a bulk action is one fsync, not one per pair). */
  async append(decisions: ReviewDecision[]): Promise<void> {
    const text = decisions.map((d) => JSON.stringify(ReviewDecision.parse(d)) + "\n").join("");
    // Appends run one after another, so two requests never interleave their bytes.
    const next = this.queue.then(async () => { await this.fh.appendFile(text); await this.fh.sync(); });
    this.queue = next.catch(() => {});
    await next;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.fh.close();
  }
}
