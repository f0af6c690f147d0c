// Big UTF-8 text files (over 16 MB) are read in parts of about 4 MB, cut after a newline (a blank line when
// there is one, else a space, else any character boundary), so that chunking a file of any size holds one
// part at a time: memory is bounded by the part size, not the file size.
//
// Every part is a doc record with the whole file's id (the same sha256 of source and text the one-piece
// path gives) and `meta: { part, offset }`: the chunker adds `offset` to its start/end, so chunk offsets
// still index the file's whole text, and numbers chunks `part × 2^24 + n` so `seq` keeps document order.
// Not UTF-8 (or binary): left to the one-piece path, which detects encodings and skips binary files.
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { open, stat, type FileHandle } from "node:fs/promises";
import { basename, extname } from "node:path";
import type { DocRecord } from "../records.ts";

export const BIG_TEXT_BYTES = 16 << 20;
export const PART_BYTES = 4 << 20;
/** How far back from a part's nominal end a better cut (blank line, newline, space) is looked for. */
const CUT_WINDOW = 1 << 20;
/** Chunk numbers of part k start at k × this (no part of PART_BYTES can give more chunks). */
export const PART_SEQ_STRIDE = 2 ** 24;

/** One part of a big text file: which bytes, where its text starts in the whole text, and the file's doc id. */
export interface TextPart {
  kind: "text-part";
  file: string;
  part: number;
  byteStart: number;
  byteEnd: number;
  /** Offset of this part's first character in the file's whole (normalized) text. */
  charStart: number;
  docId: string;
  title: string;
}

export const isTextPart = (v: unknown): v is TextPart => typeof v === "object" && v !== null && (v as TextPart).kind === "text-part";

/** Sizes, for tests: files over `bigBytes` are cut into parts of about `partBytes`. */
export interface PartSizes { bigBytes: number; partBytes: number; cutWindow?: number }
const SIZES: PartSizes = { bigBytes: BIG_TEXT_BYTES, partBytes: PART_BYTES, cutWindow: CUT_WINDOW };

/** Files as they are, except big UTF-8 text files, which become their parts (in order). */
export async function expandBigTextFiles(files: string[], kindOf: (file: string) => string | undefined, sizes: PartSizes = SIZES): Promise<Array<string | TextPart>> {
  const out: Array<string | TextPart> = [];
  for (const file of files) {
    const kind = kindOf(file);
    const parts = kind === "text" || kind === "markdown" ? await planTextParts(file, kind, sizes).catch(() => undefined) : undefined;
    if (parts) out.push(...parts.values()); else out.push(file);
  }
  return out;
}

/** The parts of `file`, or undefined when it is small, not UTF-8, or binary (the one-piece path decides). */
export async function planTextParts(file: string, kind: string, sizes: PartSizes = SIZES): Promise<TextPart[] | undefined> {
  const size = (await stat(file)).size;
  if (size <= sizes.bigBytes) return undefined;
  const partBytes = sizes.partBytes;
  const fh = await open(file, "r");
  try {
    const head = await readRange(fh, 0, Math.min(size, 8192));
    if (head.includes(0)) return undefined;
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    if (!bom && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return undefined;
    // Cut points first (random access around each nominal end), then one pass over the parts for the id.
    const cuts = [bom];
    while (size - cuts.at(-1)! > partBytes + partBytes / 2) {
      const last = cuts.at(-1)!;
      const cut = await cutBefore(fh, last + partBytes, Math.min(sizes.cutWindow ?? CUT_WINDOW, partBytes / 2));
      cuts.push(cut > last ? cut : last + partBytes);
    }
    cuts.push(size);
    const hash = createHash("sha256").update(file).update("\u0000");
    const parts: TextPart[] = [];
    let chars = 0;
    let title = basename(file, extname(file));
    for (let i = 0; i + 1 < cuts.length; i++) {
      const bytes = await readRange(fh, cuts[i]!, cuts[i + 1]!);
      if (!isUtf8(bytes)) return undefined;
      const text = normalize(bytes.toString("utf8"));
      if (i === 0 && kind === "markdown") title = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? title;
      hash.update(text);
      parts.push({ kind: "text-part", file, part: i, byteStart: cuts[i]!, byteEnd: cuts[i + 1]!, charStart: chars, docId: "", title });
      chars += text.length;
    }
    const docId = `doc_${hash.update("\u0000").digest("hex").slice(0, 16)}`;
    for (const p of parts) { p.docId = docId; p.title = title; }
    return parts;
  } finally {
    await fh.close();
  }
}

/** The doc record of one part (the text of its bytes only). */
export async function readTextPart(p: TextPart): Promise<DocRecord> {
  const fh = await open(p.file, "r");
  try {
    const text = normalize((await readRange(fh, p.byteStart, p.byteEnd)).toString("utf8"));
    return { type: "doc", id: p.docId, source: p.file, text, title: p.title, meta: { part: p.part, offset: p.charStart } };
  } finally {
    await fh.close();
  }
}

/**
 * A cut at or before `end`: after the last blank line in the window before it, else after its last newline,
 * else after its last space, else at the last UTF-8 character boundary. Never between "\r" and "\n".
 */
async function cutBefore(fh: FileHandle, end: number, window: number): Promise<number> {
  const from = Math.max(0, end - window);
  const w = await readRange(fh, from, end + 4); // a few bytes past `end` to see where its character starts
  const limit = Math.min(end - from, w.length);
  for (let i = limit - 1; i > 0; i--) if (w[i] === 0x0a && (w[i - 1] === 0x0a || (w[i - 1] === 0x0d && w[i - 2] === 0x0a))) return from + i + 1;
  const nl = w.subarray(0, limit).lastIndexOf(0x0a);
  if (nl >= 0) return from + nl + 1;
  const sp = w.subarray(0, limit).lastIndexOf(0x20);
  if (sp >= 0) return from + sp + 1;
  let i = limit;
  while (i > 0 && i < w.length && (w[i]! & 0xc0) === 0x80) i--; // w[i] must start a character
  if (i > 0 && w[i - 1] === 0x0d) i--; // never between "\r" and "\n"
  return from + i;
}

async function readRange(fh: FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(end - start);
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
    if (!bytesRead) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** As decode-text.ts: one newline convention, so offsets mean the same on every platform. */
function normalize(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}
