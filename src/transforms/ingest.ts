// Ingest: files and folders (txt, md, html, pdf, docx, NDJSON doc records) → doc records, in sorted
// order. Unsupported, binary, encrypted or corrupt files are skipped with a warning naming them, and counted.
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { DocInput, docId, type DocRecord } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { heapCheckpoint } from "../streams/heap-guard.ts";
import { parseNdjson } from "../streams/ndjson.ts";
import { isTextPart, readTextPart, type TextPart } from "./big-text.ts";
import { BIG_DOC_CHARS } from "./chunk.ts";
import { cleanDocument, CLEANUPS, emptyCleanCounts, type CleanCounts, type Cleanup } from "./clean-text.ts";
import { decodeText, looksBinary } from "./decode-text.ts";
import type { PdfEngine, PdfPool } from "./pdf-pool.ts";

const KINDS: Record<string, "text" | "markdown" | "html" | "pdf" | "docx" | "ndjson"> = {
  ".txt": "text", ".text": "text", ".rst": "text", ".org": "text", ".adoc": "text", ".csv": "text", ".tsv": "text",
  ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
  ".html": "html", ".htm": "html", ".xhtml": "html",
  ".pdf": "pdf",
  ".docx": "docx",
  ".ndjson": "ndjson", ".jsonl": "ndjson",
};
export const SUPPORTED_EXTENSIONS = Object.keys(KINDS);
/** How ingest reads a file, by its extension (undefined: unsupported). */
export const fileKind = (file: string): string | undefined => KINDS[extname(file).toLowerCase()];

export interface IngestStats { files: number; docs: number; skipped: number; failed: number; bytes: number; cleaned: CleanCounts }

export interface IngestOptions {
  /** PDF worker threads (default: 2, or fewer cores). */
  pdfWorkers?: number;
  /** Which PDF text extractor the workers run (default: pdfium; pdf-pool.ts). */
  pdfEngine?: PdfEngine;
  /** Skip malformed lines in NDJSON doc files instead of stopping. */
  skipBadLines?: boolean;
  /** Where warnings go (default: the logger). */
  warn?: (message: string) => void;
  /** Text cleanups (clean-text.ts; default: all). NDJSON doc records are taken as written. */
  clean?: ReadonlySet<Cleanup>;
}

/** Every file under the given paths: folders recursed in sorted (code point) order, dotfiles left out. */
export { listFiles } from "./folder-walk.ts";

/** A doc record from text; the id is a hash of source and text, so it is stable across runs. */
export function makeDoc(text: string, source: string, title?: string, meta?: Record<string, unknown>): DocRecord {
  return { type: "doc", id: docId(source, text), source, text, ...(title ? { title } : {}), ...(meta ? { meta } : {}) };
}

/** A hand-written doc record (only `text` required) made whole. */
export function completeDoc(input: DocInput, fallbackSource: string): DocRecord {
  const source = input.source ?? fallbackSource;
  return { type: "doc", id: input.id ?? docId(source, input.text), source, text: input.text, ...(input.title ? { title: input.title } : {}), ...(input.meta ? { meta: input.meta } : {}) };
}
type DocInput = import("zod").infer<typeof DocInput>;

/** The ingest stage: a file path in, its doc record(s) out (none when the file is skipped). */
export function ingester(opts: IngestOptions = {}): { stage: Stage<string | TextPart, DocRecord>; stats: IngestStats; close: () => Promise<void> } {
  const stats: IngestStats = { files: 0, docs: 0, skipped: 0, failed: 0, bytes: 0, cleaned: emptyCleanCounts() };
  const clean = opts.clean ?? new Set(CLEANUPS);
  const cleaned = (input: { text?: string; pages?: string[] }) => cleanDocument(input, clean, stats.cleaned);
  const warn = opts.warn ?? ((m: string) => log.warn(m));
  let pool: PdfPool | undefined;

  const skip = (file: string, reason: string, failed = false): null => {
    if (failed) stats.failed++; else stats.skipped++;
    warn(`${file}: ${reason}; skipped`);
    return null;
  };

  const stage: Stage<string | TextPart, DocRecord> = async (file) => {
    if (isTextPart(file)) {
      // A part of a big text file (see big-text.ts): counted as one file, at its first part.
      if (file.part === 0) stats.files++;
      stats.bytes += file.byteEnd - file.byteStart;
      return done([await readTextPart(file)]);
    }
    stats.files++;
    const ext = extname(file).toLowerCase();
    const kind = KINDS[ext];
    if (!kind) return skip(file, `unsupported file type "${ext || basename(file)}" (supported: ${SUPPORTED_EXTENSIONS.join(" ")})`);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      return skip(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, true);
    }
    stats.bytes += bytes.length;
    const title = basename(file, extname(file));

    if (kind === "pdf") {
      if (bytes.subarray(0, 1024).indexOf("%PDF-") < 0) return skip(file, "is not a PDF (no %PDF- header); re-export it as PDF", true);
      // Format readers load on first use: a folder of markdown never pays for pdf.js or mammoth.
      pool ??= new (await import("./pdf-pool.ts")).PdfPool({ engine: opts.pdfEngine, size: opts.pdfWorkers });
      const r = await (await import("./ingest-pdf.ts")).pdfToPages(pool, bytes);
      if (!r.ok) return skip(file, r.reason, true);
      if (!r.hasText) warn(`${file}: PDF has no text layer (scanned images?); run OCR first to include its text`);
      // cleanDocument consumes the page list: the pages become the document's text, one page at a time.
      const doc = makeDoc(cleaned({ pages: r.pageTexts }), file, title, { pages: r.pages });
      // A big PDF's pages and the cleanups' copies are garbage now (see heapCheckpoint).
      if (doc.text.length > BIG_DOC_CHARS) heapCheckpoint();
      return done([doc]);
    }
    if (kind === "docx") {
      try {
        const { docxToPlainText } = await import("./ingest-docx.ts");
        return done([makeDoc(cleaned({ text: await docxToPlainText(bytes) }), file, title)]);
      } catch (e) {
        return skip(file, `DOCX is corrupt or not a Word document (${(e as Error).message})`, true);
      }
    }

    const decoded = decodeText(bytes);
    if (!decoded || looksBinary(decoded.text)) return skip(file, `looks like binary data, not ${kind === "text" ? "plain" : kind} text`);
    if (decoded.encoding !== "UTF-8") log.debug(`${file}: decoded as ${decoded.encoding}`);
    if (kind === "ndjson") return done(await docsFromNdjson(decoded.text, file, opts.skipBadLines ?? false, warn));
    if (kind === "html") {
      const { htmlToPlainText } = await import("./ingest-html.ts");
      const { text, title: htmlTitle } = htmlToPlainText(decoded.text);
      return done([makeDoc(cleaned({ text }), file, htmlTitle ?? title)]);
    }
    const heading = kind === "markdown" ? /^#\s+(.+)$/m.exec(decoded.text)?.[1]?.trim() : undefined;
    return done([makeDoc(cleaned({ text: decoded.text }), file, heading ?? title)]);
  };

  const done = (docs: DocRecord[]): DocRecord[] => {
    stats.docs += docs.length;
    return docs;
  };

  return { stage, stats, close: async () => { await pool?.close(); pool = undefined; } };
}

async function docsFromNdjson(text: string, file: string, skipBadLines: boolean, warn: (m: string) => void): Promise<DocRecord[]> {
  const docs: DocRecord[] = [];
  let line = 0;
  const parser = parseNdjson({ file, schema: DocInput, skipBadLines, onBadLine: (n, reason) => warn(`${file}:${n}: ${reason}; line skipped`) });
  await pipeline(Readable.from([text]), parser, async (src: AsyncIterable<DocInput>) => {
    for await (const d of src) docs.push(completeDoc(d, `${file}#${++line}`));
  });
  return docs;
}

/** Library use: file paths in, doc records out, as an object-mode Transform (PDFs parse two at a time). */
export function ingest(opts: IngestOptions = {}): Transform {
  const { stage, close } = ingester(opts);
  return asTransform(stage, { name: "ingest", concurrency: 4, flush: async () => { await close(); } });
}
