// Chunk: a doc record → chunk records (langchain's RecursiveCharacterTextSplitter), each with
// start/end such that doc.text.slice(start, end) === chunk.text, so every chunk traces to its source.
import { createRequire } from "node:module";
import type { Transform } from "node:stream";
import type { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { chunkId, type ChunkRecord, type DocRecord } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { heapCheckpoint } from "../streams/heap-guard.ts";
import { PART_SEQ_STRIDE } from "./big-text.ts";

export interface ChunkOptions {
  /** Largest chunk in characters (default 1500). */
  size?: number;
  /** Characters shared by neighbouring chunks (default 200). */
  overlap?: number;
  /** Where warnings go (default: the logger). */
  warn?: (message: string) => void;
  /** Records in flight for the Transform form (default 1: splitting is CPU-bound and fast). */
  concurrency?: number;
}

export const CHUNK_DEFAULTS = { size: 1500, overlap: 200 } as const;

/**
 * A big PDF's text, chunks and their JSON are live together (tens of MB for a 2,000-page manual, two at once with two
 * workers): a GC once the heap is 1.3× what was live, not 2×, keeps `chunk` under 300 MB on such a corpus
 * (bench/pdf-engines.ts) for a little more main-thread GC time.
 */
export const CHUNK_HEAP_GROWTH = 1.3;
/** A document this long (characters) leaves enough garbage behind each phase to be worth a heap check there. */
export const BIG_DOC_CHARS = 1_000_000;

/** The chunk stage: pure logic, usable without streams. */
export function chunker(opts: ChunkOptions = {}): Stage<DocRecord, ChunkRecord> {
  const size = opts.size ?? CHUNK_DEFAULTS.size;
  const overlap = opts.overlap ?? CHUNK_DEFAULTS.overlap;
  if (!Number.isInteger(size) || size < 1) throw new PipelineError("E_USAGE", `--chunk-size must be a whole number ≥ 1 (got ${size})`, { field: "chunkSize" });
  if (!Number.isInteger(overlap) || overlap < 0) throw new PipelineError("E_USAGE", `--chunk-overlap must be a whole number ≥ 0 (got ${overlap})`, { field: "chunkOverlap" });
  if (overlap >= size) throw new PipelineError("E_USAGE", `--chunk-overlap (${overlap}) must be smaller than --chunk-size (${size})`, { field: "chunkOverlap" });
  // Loaded on first use, so `pipeline chunk --help` and bad-flag errors stay fast.
  let splitter: RecursiveCharacterTextSplitter | undefined;
  const warn = opts.warn ?? ((m: string) => log.warn(m));

  return async function* chunkDoc(doc: DocRecord): AsyncGenerator<ChunkRecord> {
    // A part of a big file (big-text.ts): offsets and numbers continue from where the part starts.
    const part = typeof doc.meta?.part === "number" ? doc.meta.part : undefined;
    const offset = typeof doc.meta?.offset === "number" ? doc.meta.offset : 0;
    if (!doc.text.trim()) {
      if (part === undefined) warn(`${doc.source}: empty document (no text); no chunks`);
      return;
    }
    splitter ??= new (loadSplitterModule().RecursiveCharacterTextSplitter)({ chunkSize: size, chunkOverlap: overlap });
    const pieces = await splitter.splitText(doc.text);
    const starts = placePieces(doc.text, pieces, overlap);
    // The splitter's working copies of a big document are garbage now: collect them before its chunks pile up.
    if (doc.text.length > BIG_DOC_CHARS) heapCheckpoint();
    const seqBase = part === undefined ? 0 : part * PART_SEQ_STRIDE;
    for (let k = 0; k < pieces.length; k++) {
      if (starts[k]! < 0) throw new PipelineError("E_STAGE", `chunk ${k} not found in the document text (splitter changed the text)`, { stage: "chunk", file: doc.source, recordId: doc.id });
      // The same characters as the splitter's piece, as a slice of the document's text: V8 keeps a slice as a view
      // of its parent string, so a big document's chunks cost no second copy of its text.
      const text = doc.text.slice(starts[k]!, starts[k]! + pieces[k]!.length);
      pieces[k] = "";
      const start = offset + starts[k]!;
      const seq = seqBase + k;
      yield { type: "chunk", id: chunkId(doc.id, seq, text), docId: doc.id, source: doc.source, seq, start, end: start + text.length, text };
    }
  };
}

/**
 * The splitter package through require (its CommonJS build), not import: under tsx every ES module
 * passes through the loader thread, and @langchain/core's many modules cost ~24 MB more RSS that way —
 * a tenth of the chunk step's memory budget.
 */
function loadSplitterModule(): typeof import("@langchain/textsplitters") {
  return createRequire(import.meta.url)("@langchain/textsplitters") as typeof import("@langchain/textsplitters");
}

/**
 * Where each piece starts in the text. The splitter trims and overlaps pieces but never rewrites
 * them, so each is a substring; repeated text (runs, copied paragraphs, one-letter pieces) makes
 * indexOf ambiguous, so placement follows the splitter's own rules: piece k+1 starts no earlier
 * than `overlap` characters before piece k ends and no later than the first non-space after it
 * (or at piece k's own start when the splitter repeats a piece). A short backtracking search finds
 * the placement that obeys this for every piece; within a budget, else greedy. -1: not found.
 */
export function placePieces(text: string, pieces: string[], overlap: number): number[] {
  const n = pieces.length;
  const starts = new Array<number>(n).fill(-1);
  const nextFrom = new Array<number>(n).fill(-1);
  const triedRepeat = new Array<boolean>(n).fill(false);
  const nonSpaceAt = (i: number): number => { while (i < text.length && /\s/.test(text[i]!)) i++; return i; };
  let budget = 1000 + 50 * n;
  let k = 0;
  while (k < n && budget-- > 0) {
    const prevStart = k ? starts[k - 1]! : 0;
    const prevEnd = k ? prevStart + pieces[k - 1]!.length : 0;
    const lo = Math.max(prevStart, prevEnd - overlap);
    const hi = nonSpaceAt(prevEnd);
    const p = text.indexOf(pieces[k]!, nextFrom[k]! >= 0 ? nextFrom[k]! : lo);
    if (p >= 0 && p <= hi) {
      starts[k] = p; nextFrom[k] = p + 1; k++;
      if (k < n) { nextFrom[k] = -1; triedRepeat[k] = false; }
      continue;
    }
    if (k > 0 && !triedRepeat[k] && pieces[k] === pieces[k - 1]) {
      triedRepeat[k] = true; starts[k] = prevStart; nextFrom[k] = Number.MAX_SAFE_INTEGER; k++;
      if (k < n) { nextFrom[k] = -1; triedRepeat[k] = false; }
      continue;
    }
    if (k === 0) break;
    k--; // backtrack: try the previous piece's next occurrence
  }
  if (k === n) return starts;
  // Greedy fallback: never wrong about the text, may place a repeated piece at an earlier copy.
  let prevStart = 0, prevEnd = 0;
  for (let i = 0; i < n; i++) {
    let p = text.indexOf(pieces[i]!, Math.max(prevStart, prevEnd - overlap));
    if (p < 0) p = text.indexOf(pieces[i]!, prevStart);
    if (p < 0) p = text.indexOf(pieces[i]!);
    starts[i] = p;
    if (p >= 0) { prevStart = p; prevEnd = p + pieces[i]!.length; }
  }
  return starts;
}

/** Library use: doc records in, chunk records out, as an object-mode Transform for stream.pipeline. */
export function chunk(opts: ChunkOptions = {}): Transform {
  return asTransform(chunker(opts), { name: "chunk", concurrency: opts.concurrency ?? 1 });
}
