// The chunk step: documents (files and folders, or stdin) → chunk records in a file (or stdout), resumable.
import { resolve } from "node:path";
import type { Settings } from "../config.ts";
import { log, summary } from "../log.ts";
import type { DocRecord } from "../records.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep, type StepOutput } from "../streams/run-step.ts";
import { chunker, CHUNK_HEAP_GROWTH } from "../transforms/chunk.ts";
import { expandBigTextFiles, type TextPart } from "../transforms/big-text.ts";
import { fileKind, ingester, listFiles } from "../transforms/ingest.ts";
import { docsFromStream } from "../transforms/ingest-stdin.ts";
import { requireDocuments } from "../transforms/input-check.ts";

export interface ChunkRun {
  /** Files and folders to read; undefined reads documents from stdin. */
  inputs?: string[];
  /** The chunks file; undefined writes NDJSON to stdout. */
  output?: string;
  resume: boolean;
}

export async function runChunk(settings: Settings, o: ChunkRun): Promise<void> {
  const stage = chunker({ size: settings.chunkSize, overlap: settings.chunkOverlap });
  const output: StepOutput = o.output ? { path: o.output, format: "ndjson" } : { stream: process.stdout, format: "ndjson" };
  const common = { name: "chunk", output, resume: o.resume, commitEveryMs: settings.commitIntervalMs };
  const chunkSettings = { chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap };

  if (!o.inputs) {
    const progress = createProgress({ label: "chunk", unit: "docs" });
    const r = await runStep<DocRecord, unknown>({
      ...common, input: docsFromStream(process.stdin, { skipBadLines: settings.skipBadLines }), stage, progress,
      settings: { ...chunkSettings, input: "<stdin>" },
    });
    summary("chunk", { input: "<stdin>", documents: r.inputs, chunks: r.records, output: r.path ?? null });
    log.info(`chunk: ${r.inputs} doc(s) from stdin → ${r.records} chunk(s)${r.path ? ` in ${r.path}` : ""}`);
    return;
  }

  const inputs = o.inputs;
  const files = await listFiles(inputs, { followSymlinks: settings.followSymlinks });
  requireDocuments(files, inputs);
  // Big text files are read in parts, so memory stays bounded whatever their size.
  const parts = await expandBigTextFiles(files, fileKind);
  const ingest = ingester({ skipBadLines: settings.skipBadLines, clean: settings.clean, pdfEngine: settings.pdfEngine });
  const progress = createProgress({ label: "chunk", unit: parts.length === files.length ? "files" : "file parts", total: parts.length });
  try {
    const r = await runStep<string | TextPart, unknown>({
      ...common, input: parts, stage: [ingest.stage, stage], concurrency: 2, progress, heapGuardGrowth: CHUNK_HEAP_GROWTH, holdYoungGeneration: true,
      // The cleanups shape the documents' text, so a resume must make the same ones.
      settings: { ...chunkSettings, clean: [...settings.clean].sort().join(",") || "none", pdfEngine: settings.pdfEngine, input: inputs.map((p) => resolve(p)) },
    });
    const s = ingest.stats;
    const problems = s.skipped + s.failed ? `; ${s.skipped} skipped, ${s.failed} unreadable (see warnings above)` : "";
    const resumed = r.resumedInputs ? ` (${r.resumedInputs} already done before --resume)` : "";
    summary("chunk", { files: files.length, resumedFiles: r.resumedInputs ?? 0, chunks: r.records, output: r.path ?? null, skipped: s.skipped, unreadable: s.failed, cleaned: s.cleaned });
    log.info(`chunk: ${files.length} file(s)${resumed} → ${r.records} chunk(s)${r.path ? ` in ${r.path}` : ""}${problems}`);
    const c = s.cleaned;
    if (c.ligatures + c.softHyphens + c.hyphenJoins + c.headerLines) {
      log.info(`chunk: cleaned ${c.hyphenJoins} line-end hyphenation(s), ${c.ligatures} ligature(s), ${c.softHyphens} soft hyphen(s), ${c.headerLines} running header/footer line(s) (--clean none to keep the text as extracted)`);
    }
  } finally {
    await ingest.close();
  }
}
