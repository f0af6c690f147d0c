// NDJSON in and out: a bad line is an error naming its line number, or is counted and skipped.
//
// Why not stream-chain's JSONL parser or the `ndjson` package (issue 16 § 5, the design card names them): neither
// knows a bad line's number (stream-chain's `key` counts parsed records, not lines; ndjson's strict error is
// `Could not parse row "<text>"`, and non-strict drops the row silently), a whitespace-only line is a parse error
// there and skipped here, and a bad line can only be dropped or replaced (stream-chain's `errorIndicator`), not
// counted and reported as --skip-bad-lines does.
// Wrapping them to get those back would leave this file's loop in place. Measured on the same 200 MB of chunk
// records (bench/ndjson-parse.ts, bench/RESULTS.md 2026-12-04): this parser 703 MB/s, stream-chain 4.4.1's 469 MB/s,
// so it is neither a speed nor a feature gain. Output stays JSON.stringify + "\n", which resume's byte-identical
// output relies on. stream-json (which uses stream-chain) still reads JSON arrays in sinks/read-records.ts.
import { Transform } from "node:stream";
import type { z } from "zod";
import { PipelineError } from "../errors.ts";

export interface ParseNdjsonOptions<T> {
  /** Shown in errors: the file path, or "<stdin>". */
  file?: string;
  /** Validate each record; the first failing field is named in the error. */
  schema?: z.ZodType<T>;
  /** Count and report bad lines instead of failing on the first one. */
  skipBadLines?: boolean;
  onBadLine?: (line: number, reason: string) => void;
}

export interface NdjsonStats { lines: number; records: number; badLines: number }

/** Bytes (or strings) in, one parsed record per non-empty line out. */
export function parseNdjson<T = unknown>(opts: ParseNdjsonOptions<T> = {}): Transform & { stats: NdjsonStats } {
  const file = opts.file ?? "<stdin>";
  const stats: NdjsonStats = { lines: 0, records: 0, badLines: 0 };
  let carry = "";
  const decoder = new TextDecoder("utf-8");

  const handle = (stream: Transform, line: string): void => {
    stats.lines++;
    const text = stats.lines === 1 ? line.replace(/^\uFEFF/, "") : line;
    if (!text.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return bad(stream, stats.lines, `not valid JSON (${(e as Error).message}); each line must be one JSON object`);
    }
    if (opts.schema) {
      const parsed = opts.schema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join(".") || undefined;
        return bad(stream, stats.lines, issue.message, field);
      }
      value = parsed.data;
    }
    stats.records++;
    stream.push(value);
  };

  const bad = (stream: Transform, line: number, reason: string, field?: string): void => {
    stats.badLines++;
    if (opts.skipBadLines) {
      opts.onBadLine?.(line, field ? `field "${field}": ${reason}` : reason);
      return;
    }
    stream.destroy(new PipelineError("E_BAD_LINE", `${reason} (use --skip-bad-lines to skip such lines)`, { file, line, field }));
  };

  const t = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer | string, _enc, cb) {
      carry += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      let from = 0;
      let nl: number;
      while ((nl = carry.indexOf("\n", from)) >= 0) {
        const line = carry.slice(from, nl);
        from = nl + 1;
        handle(this, line.endsWith("\r") ? line.slice(0, -1) : line);
        if (this.destroyed) return;
      }
      carry = carry.slice(from);
      cb();
    },
    flush(cb) {
      carry += decoder.decode();
      if (carry.length) handle(this, carry);
      carry = "";
      if (!this.destroyed) cb();
    },
  }) as Transform & { stats: NdjsonStats };
  t.stats = stats;
  return t;
}

/** Records in, one JSON line each out. */
export function stringifyNdjson(): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(record: unknown, _enc, cb) {
      cb(null, JSON.stringify(record) + "\n");
    },
  });
}
