// A streamed index of a validation report (or scored NDJSON): each pair's byte offset and length in the file
// and the few fields the review page filters and counts on, in typed arrays. 100,000 pairs are never held
// as objects; a pair is read from disk by its offset when it is shown.
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import type { ScoredRecord } from "../records.ts";

/** Check failures a pair can be filtered on, each one bit of `flags`. */
export const CHECKS = {
  ungrounded: 1 << 0, // evidence not found in the chunk
  unsupported: 1 << 1, // answer words not from the chunk
  duplicate: 1 << 2, // near-duplicate question
  language: 1 << 3, // answer language differs from the chunk's
  length: 1 << 4, // too short or too long
  truncated: 1 << 5, // answer cut mid-sentence
  generation_error: 1 << 6, // generate-qa failed for this pair
  judge_error: 1 << 7, // the judge could not score it
  low_fit: 1 << 8, // answer fit below 0.5: may answer another question
  empty: 1 << 9, // no question or no answer
} as const;
export type CheckName = keyof typeof CHECKS;
export const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];

export const VERDICTS = ["NEEDS_REVIEW", "PASS", "FAIL"] as const;
export type VerdictName = (typeof VERDICTS)[number];

/** The bits of a record's failed checks. */
export function flagsOf(r: Partial<ScoredRecord>): number {
  const c = r.checks;
  let f = 0;
  if (c?.grounded === false) f |= CHECKS.ungrounded;
  if (c?.supported === false) f |= CHECKS.unsupported;
  if (c?.duplicateOf) f |= CHECKS.duplicate;
  if (c?.languageMatches === false) f |= CHECKS.language;
  if (c?.length && c.length !== "ok") f |= CHECKS.length;
  if (c?.truncated) f |= CHECKS.truncated;
  if (r.error) f |= CHECKS.generation_error;
  if (r.judge?.error) f |= CHECKS.judge_error;
  if (typeof c?.answerFit === "number" && c.answerFit < 0.5) f |= CHECKS.low_fit;
  if (!r.question || !r.answer) f |= CHECKS.empty;
  return f;
}

const PAIRS_OPEN = /^\s*"pairs"\s*:\s*\[\s*(\]\s*)?$/;

/**
 * Calls `onPair(offset, bytes)` for each pair of the file, in order: one per line in NDJSON, one per line of
 * the "pairs" array as `validate` writes its report (returns the report's head object, settings and summary).
 * Any other layout is refused with what to give instead.
 */
export async function scanPairs(path: string, onPair: (offset: number, bytes: Buffer) => void): Promise<{ kind: "report" | "ndjson"; head?: Record<string, unknown> }> {
  let kind: "report" | "ndjson" | undefined;
  let section: "head" | "pairs" | "tail" = "head";
  const head: string[] = [];
  let lineNo = 0;
  const onLine = (line: Buffer, offset: number): void => {
    lineNo++;
    let start = 0, end = line.length;
    while (start < end && (line[start] === 0x20 || line[start] === 0x09 || line[start] === 0x0d || line[start] === 0xef || line[start] === 0xbb || line[start] === 0xbf)) start++;
    while (end > start && (line[end - 1] === 0x20 || line[end - 1] === 0x0d || line[end - 1] === 0x09)) end--;
    if (start === end) return;
    if (kind === undefined) {
      // A first line that is a whole JSON object is NDJSON; a report starts with "{" alone.
      const text = line.subarray(start, end).toString("utf8");
      try { JSON.parse(text); kind = "ndjson"; } catch { kind = "report"; }
    }
    if (kind === "ndjson") { onPair(offset + start, line.subarray(start, end)); return; }
    if (section === "head") {
      const text = line.subarray(start, end).toString("utf8");
      if (PAIRS_OPEN.test(text)) section = text.includes("]") ? "tail" : "pairs";
      else head.push(text);
      return;
    }
    if (section === "tail") return;
    if (line[start] === 0x5d /* ] */) { section = "tail"; return; }
    if (line[end - 1] === 0x2c /* , */) end--;
    if (line[start] !== 0x7b /* { */ || line[end - 1] !== 0x7d /* } */) {
      throw new PipelineError("E_INPUT", "the report's pairs are not one per line as `pipeline validate` writes them; review the scored NDJSON beside it (validation_report.scored.ndjson) or run validate again", { file: path, line: lineNo });
    }
    onPair(offset + start, line.subarray(start, end));
  };
  let carry: Buffer | undefined;
  let carryAt = 0, at = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        const part = chunk.subarray(from, nl);
        if (carry) { onLine(Buffer.concat([carry, part]), carryAt); carry = undefined; } else onLine(part, at + from);
        from = nl + 1;
      }
      if (from < chunk.length) {
        if (!carry) carryAt = at + from;
        carry = carry ? Buffer.concat([carry, chunk.subarray(from)]) : Buffer.from(chunk.subarray(from));
      }
      at += chunk.length;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") throw new PipelineError("E_INPUT", "report not found; run `pipeline validate` first or name the report: pipeline review FILE", { file: path });
    if (err.code === "EISDIR") throw new PipelineError("E_INPUT", "is a folder; name the report file: pipeline review FILE", { file: path });
    throw e;
  }
  if (carry) onLine(carry, carryAt);
  if (kind === "report" && section === "head") throw new PipelineError("E_INPUT", "no \"pairs\" array found; expected a validation report or scored NDJSON", { file: path });
  let headObject: Record<string, unknown> | undefined;
  if (kind === "report") {
    try { headObject = JSON.parse(head.join("\n").replace(/,\s*$/, "") + "\n}") as Record<string, unknown>; } catch { headObject = undefined; }
  }
  return { kind: kind ?? "ndjson", head: headObject };
}

/** The index: per pair (in file order) where it is and what it is. */
export class ReportIndex {
  private fh?: FileHandle;
  private constructor(
    readonly path: string,
    readonly kind: "report" | "ndjson",
    readonly head: Record<string, unknown> | undefined,
    readonly offsets: Float64Array,
    readonly lengths: Uint32Array,
    /** Index into VERDICTS. */
    readonly verdicts: Uint8Array,
    readonly overall: Float32Array,
    readonly flags: Uint16Array,
    /** Index into `docs`. */
    readonly doc: Uint32Array,
    /** Turns of a conversation (1 for a pair). */
    readonly turns: Uint8Array,
    readonly qaIds: string[],
    /** Source names, as the records give them. */
    readonly docs: string[],
    /** Pair indexes as the page lists them: NEEDS_REVIEW first, then the rest, each in file order. */
    readonly order: Uint32Array,
  ) {}

  readonly byId = new Map<string, number>();

  get count(): number { return this.qaIds.length; }

  static async build(path: string): Promise<ReportIndex> {
    const offsets: number[] = [], lengths: number[] = [], verdicts: number[] = [], overall: number[] = [], flags: number[] = [], doc: number[] = [], turns: number[] = [];
    const qaIds: string[] = [], docs: string[] = [];
    const docIndex = new Map<string, number>();
    const { kind, head } = await scanPairs(path, (offset, bytes) => {
      let r: Partial<ScoredRecord>;
      try { r = JSON.parse(bytes.toString("utf8")) as Partial<ScoredRecord>; } catch (e) {
        throw new PipelineError("E_INPUT", `pair ${qaIds.length + 1} is not valid JSON (${(e as Error).message}); run validate again`, { file: path });
      }
      if (!r || typeof r !== "object" || typeof r.qaId !== "string" || !r.scores || !r.verdict) {
        throw new PipelineError("E_BAD_RECORD", `pair ${qaIds.length + 1} is not a scored record (qaId, scores, verdict); review what \`pipeline validate\` wrote`, { file: path });
      }
      offsets.push(offset); lengths.push(bytes.length);
      verdicts.push(Math.max(0, VERDICTS.indexOf(r.verdict as VerdictName)));
      overall.push(r.scores.overall);
      flags.push(flagsOf(r));
      const source = r.source ?? "";
      let d = docIndex.get(source);
      if (d === undefined) { d = docs.length; docs.push(source); docIndex.set(source, d); }
      doc.push(d);
      turns.push(Math.min(255, r.turns?.length ?? 1));
      qaIds.push(r.qaId);
    });
    const n = qaIds.length;
    const order = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) if (verdicts[i] === 0) order[k++] = i;
    for (let i = 0; i < n; i++) if (verdicts[i] !== 0) order[k++] = i;
    const index = new ReportIndex(path, kind, head, Float64Array.from(offsets), Uint32Array.from(lengths), Uint8Array.from(verdicts), Float32Array.from(overall), Uint16Array.from(flags), Uint32Array.from(doc), Uint8Array.from(turns), qaIds, docs, order);
    for (let i = 0; i < n; i++) if (!index.byId.has(qaIds[i]!)) index.byId.set(qaIds[i]!, i);
    return index;
  }

  /** Pair `i`, read from disk at its offset. */
  async read(i: number): Promise<ScoredRecord> {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`no pair ${i}`);
    this.fh ??= await open(this.path, "r");
    const buf = Buffer.alloc(this.lengths[i]!);
    await this.fh.read(buf, 0, buf.length, this.offsets[i]!);
    return JSON.parse(buf.toString("utf8")) as ScoredRecord;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** chunkId → where that chunk's line is in chunks.ndjson: the source text the page shows (the report holds none). */
export class ChunkIndex {
  private fh?: FileHandle;
  private constructor(readonly path: string, private at: Map<string, [number, number]>) {}

  get count(): number { return this.at.size; }

  static async build(path: string): Promise<ChunkIndex> {
    const at = new Map<string, [number, number]>();
    await scanPairs(path, (offset, bytes) => {
      // Only the id is needed: it comes first in the records chunk writes, but parse to be sure of it.
      const r = JSON.parse(bytes.toString("utf8")) as { type?: string; id?: string };
      if (r.type === "chunk" && typeof r.id === "string") at.set(r.id, [offset, bytes.length]);
    });
    return new ChunkIndex(path, at);
  }

  /** The chunk's text, or undefined when the file has no such chunk. */
  async text(chunkId: string): Promise<string | undefined> {
    const where = this.at.get(chunkId);
    if (!where) return undefined;
    this.fh ??= await open(this.path, "r");
    const buf = Buffer.alloc(where[1]);
    await this.fh.read(buf, 0, buf.length, where[0]);
    return (JSON.parse(buf.toString("utf8")) as { text?: string }).text;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
