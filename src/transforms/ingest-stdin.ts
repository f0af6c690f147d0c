// Standard input as documents: NDJSON doc records are read as a stream of records; anything else
// (raw text, markdown…) is one document.
import { Readable } from "node:stream";
import { log } from "../log.ts";
import { DocInput, type DocRecord } from "../records.ts";
import { parseNdjson } from "../streams/ndjson.ts";
import { decodeText } from "./decode-text.ts";
import { completeDoc, makeDoc } from "./ingest.ts";

export interface StdinDocsOptions { source?: string; skipBadLines?: boolean; warn?: (m: string) => void }

/** Decides from the first line: a JSON object with "text" means NDJSON doc records. */
export async function* docsFromStream(input: AsyncIterable<Buffer | string>, opts: StdinDocsOptions = {}): AsyncGenerator<DocRecord> {
  const source = opts.source ?? "<stdin>";
  const iterator = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  // Read until the first newline (or 1 MB) to decide, keeping the bytes to replay.
  while (true) {
    const next = await iterator.next();
    if (next.done) { ended = true; break; }
    const b = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    head.push(b);
    headBytes += b.length;
    if (b.includes(0x0a) || headBytes >= 1 << 20) break;
  }
  const first = Buffer.concat(head);
  const replay = async function* (): AsyncGenerator<Buffer> {
    yield first;
    if (ended) return;
    while (true) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    }
  };

  if (isDocRecordLine(first)) {
    const warn = opts.warn ?? ((m: string) => log.warn(m));
    const parser = parseNdjson({ file: source, schema: DocInput, skipBadLines: opts.skipBadLines, onBadLine: (n, r) => warn(`${source}:${n}: ${r}; line skipped`) });
    let n = 0;
    for await (const d of Readable.from(replay()).pipe(parser)) yield completeDoc(d as DocInput, `${source}#${++n}`);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const b of replay()) chunks.push(b);
  const decoded = decodeText(Buffer.concat(chunks));
  if (!decoded) {
    (opts.warn ?? ((m: string) => log.warn(m)))(`${source}: looks like binary data, not text; nothing to read`);
    return;
  }
  yield makeDoc(decoded.text, source);
}
type DocInput = import("zod").infer<typeof DocInput>;

function isDocRecordLine(bytes: Buffer): boolean {
  const nl = bytes.indexOf(0x0a);
  const line = bytes.subarray(0, nl < 0 ? bytes.length : nl).toString("utf8").replace(/^\uFEFF/, "").trim();
  if (!line.startsWith("{")) return false;
  try {
    const v = JSON.parse(line) as unknown;
    return !!v && typeof v === "object" && typeof (v as { text?: unknown }).text === "string";
  } catch {
    return false;
  }
}
