// Reads the files steps hand each other: a JSON array (training_data.json), a validation report
// (its "pairs" array) or NDJSON — from a file or stdin, told apart by their first bytes, all streamed.
import { createReadStream } from "node:fs";
import { pipeline, Readable, type Duplex } from "node:stream";
import pick from "stream-json/filters/pick.js";
import streamArray from "stream-json/streamers/stream-array.js";
import type { z } from "zod";
import { PipelineError } from "../errors.ts";
import { parseNdjson } from "../streams/ndjson.ts";

export type RecordFileKind = "json-array" | "report" | "ndjson";

export interface ReadRecordsOptions<T> {
  /** A path, or undefined / "-" for stdin. */
  path?: string;
  /** Read these bytes instead (e.g. a followed output); `path` then only names them in errors. */
  stream?: Readable;
  schema: z.ZodType<T>;
  /** Make a record out of a looser shape (e.g. the seed's plain {question, answer} objects) before validation. */
  coerce?: (value: unknown, position: number) => unknown;
  skipBadLines?: boolean;
  onBadLine?: (line: number, reason: string) => void;
  /** Called once the kind of file is known. */
  onKind?: (kind: RecordFileKind) => void;
}

const PEEK = 64 * 1024;

/** First bytes → kind: "[" array; "{" whose first line is a whole JSON value → NDJSON; else a report object. */
export function detectKind(head: string): RecordFileKind {
  const text = head.replace(/^\uFEFF/, "").trimStart();
  if (text.startsWith("[")) return "json-array";
  if (!text.startsWith("{")) return "ndjson";
  const nl = text.indexOf("\n");
  const first = nl < 0 ? text : text.slice(0, nl);
  try { JSON.parse(first); return "ndjson"; } catch { return nl < 0 && text.length < PEEK ? "ndjson" : "report"; }
}

async function* withHead(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * `a.pipe(b).pipe(c)`, but an error anywhere (a failing source: a file read error, the step being followed
 * failing) reaches the last stream, which the reader iterates, instead of an unhandled 'error' event.
 */
function chain(source: Readable, ...rest: Duplex[]): Duplex {
  return pipeline(source, ...(rest as [Duplex]), () => {}) as unknown as Duplex;
}

export async function* readRecords<T>(opts: ReadRecordsOptions<T>): AsyncGenerator<T> {
  const file = opts.path && opts.path !== "-" ? opts.path : "<stdin>";
  const source: Readable = opts.stream ?? (file === "<stdin>" ? process.stdin : createReadStream(file));
  const failOpen = new Promise<never>((_, reject) => source.once("error", (e: NodeJS.ErrnoException) =>
    // ENOTDIR: a file used as a folder on the way (`-i notes.json/x`); for the user that path is just not there.
    reject(e.code === "ENOENT" || e.code === "ENOTDIR" ? new PipelineError("E_INPUT", "input file not found; check the path (-i/--input)", { file })
      : e.code === "EISDIR" ? new PipelineError("E_INPUT", "is a folder; name the input file itself (-i/--input)", { file }) : e)));
  failOpen.catch(() => {});
  const it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < PEEK) {
    const next = await Promise.race([it.next(), failOpen]);
    if (next.done) break;
    const buf = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    head.push(buf);
    size += buf.length;
    if (buf.includes(10) && Buffer.concat(head).toString("utf8").trim()) break;
  }
  const kind = detectKind(Buffer.concat(head).toString("utf8"));
  opts.onKind?.(kind);
  const bytes = Readable.from(withHead(head, it));

  if (kind === "ndjson") {
    const coerce = opts.coerce;
    const parser = parseNdjson<unknown>({ file, skipBadLines: opts.skipBadLines, onBadLine: opts.onBadLine });
    let n = 0;
    for await (const value of chain(bytes, parser)) {
      n++;
      const parsed = opts.schema.safeParse(coerce ? coerce(value, n) : value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        if (opts.skipBadLines) { opts.onBadLine?.(n, issue.message); continue; }
        throw new PipelineError("E_BAD_RECORD", `${issue.message} (record ${n}; use --skip-bad-lines to skip such records)`, { file, field: issue.path.join(".") || undefined });
      }
      yield parsed.data;
    }
    return;
  }

  const items = kind === "report"
    ? chain(bytes, pick.withParserAsStream({ filter: "pairs" }), streamArray.asStream())
    : chain(bytes, streamArray.withParserAsStream());
  try {
    for await (const { key, value } of items as AsyncIterable<{ key: number; value: unknown }>) {
      const parsed = opts.schema.safeParse(opts.coerce ? opts.coerce(value, key + 1) : value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        if (opts.skipBadLines) { opts.onBadLine?.(key + 1, issue.message); continue; }
        throw new PipelineError("E_BAD_RECORD", `${issue.message} (item ${key + 1} of the array; use --skip-bad-lines to skip such items)`, { file, field: issue.path.join(".") || undefined });
      }
      yield parsed.data;
    }
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    throw new PipelineError("E_INPUT", `not valid JSON: ${(e as Error).message}; expected a JSON array, a validation report or NDJSON`, { file });
  }
}
