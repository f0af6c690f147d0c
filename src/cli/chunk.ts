// `pipeline chunk`: documents (a folder, files, or stdin) → chunk records (NDJSON), resumable.
import { join, resolve } from "node:path";
import { flag } from "../config.ts";
import { defineCommand } from "citty";
import { log } from "../log.ts";
import type { DocRecord } from "../records.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep, type StepOutput } from "../streams/run-step.ts";
import { chunker } from "../transforms/chunk.ts";
import { ingester, listFiles } from "../transforms/ingest.ts";
import { docsFromStream } from "../transforms/ingest-stdin.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export const CHUNKS_FILE = "chunks.ndjson";

export default defineCommand({
  meta: {
    name: "chunk",
    description:
      "Step 1: split documents into overlapping chunks (NDJSON chunk records with start/end offsets).\n" +
      "  Reads txt, md, html, pdf, docx and NDJSON doc records; folders are read recursively in sorted order.\n" +
      "  Input: --input-dir, file arguments, or stdin (raw text = one document; NDJSON doc records = records).\n" +
      "  Output: <output-dir>/chunks.ndjson, or stdout when it is piped and no -o is given.\n" +
      "  Examples:\n" +
      "    pipeline chunk -i data/documents -o data/document_chunks\n" +
      "    cat notes.md | pipeline chunk --chunk-size 800 > chunks.ndjson\n" +
      "    pipeline chunk --resume            # continue a run that was interrupted",
  },
  args: {
    files: { type: "positional", required: false, description: "Files or folders to read (instead of --input-dir)", valueHint: "PATH..." },
    "input-dir": { type: "string", alias: "i", description: "Folder of documents (default: PIPELINE_INPUT_DIR or data/documents)", valueHint: "DIR" },
    "output-dir": { type: "string", alias: "o", description: "Folder for chunks.ndjson (default: stdout when piped, else PIPELINE_CHUNKS_DIR or data/document_chunks)", valueHint: "DIR" },
    "chunk-size": { type: "string", description: "Largest chunk in characters (default 1500, PIPELINE_CHUNK_SIZE)", valueHint: "N" },
    "chunk-overlap": { type: "string", description: "Characters shared by neighbouring chunks (default 200, PIPELINE_CHUNK_OVERLAP)", valueHint: "N" },
    resume: { type: "boolean", description: "Continue an interrupted run: keeps committed output, skips inputs already done" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      inputDir: flag("--input-dir", args["input-dir"]),
      chunksDir: flag("--output-dir", args["output-dir"]),
      chunkSize: flag("--chunk-size", args["chunk-size"]),
      chunkOverlap: flag("--chunk-overlap", args["chunk-overlap"]),
    });
    const stage = chunker({ size: settings.chunkSize, overlap: settings.chunkOverlap });
    const positional = (args._ ?? []).map(String);
    const fromStdin = !args["input-dir"] && positional.length === 0 && stdinIsPiped();
    const output: StepOutput = args["output-dir"] || !stdoutIsPiped()
      ? { path: join(settings.chunksDir, CHUNKS_FILE), format: "ndjson" }
      : { stream: process.stdout, format: "ndjson" };
    const common = {
      name: "chunk",
      output,
      resume: !!args.resume,
      commitEveryMs: settings.commitIntervalMs,
    };
    const chunkSettings = { chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap };

    if (fromStdin) {
      const progress = createProgress({ label: "chunk", unit: "docs" });
      const r = await runStep<DocRecord, unknown>({
        ...common, input: docsFromStream(process.stdin, { skipBadLines: settings.skipBadLines }), stage, progress,
        settings: { ...chunkSettings, input: "<stdin>" },
      });
      log.info(`chunk: ${r.inputs} doc(s) from stdin → ${r.records} chunk(s)${r.path ? ` in ${r.path}` : ""}`);
      return;
    }

    const inputs = positional.length ? positional : [settings.inputDir];
    const files = await listFiles(inputs);
    if (!files.length) log.warn(`no files found in ${inputs.join(", ")}; nothing to chunk`);
    const ingest = ingester({ skipBadLines: settings.skipBadLines });
    const progress = createProgress({ label: "chunk", unit: "files", total: files.length });
    try {
      const r = await runStep<string, unknown>({
        ...common, input: files, stage: [ingest.stage, stage], concurrency: 2, progress,
        settings: { ...chunkSettings, input: inputs.map((p) => resolve(p)) },
      });
      const s = ingest.stats;
      const problems = s.skipped + s.failed ? `; ${s.skipped} skipped, ${s.failed} unreadable (see warnings above)` : "";
      const resumed = r.resumedInputs ? ` (${r.resumedInputs} already done before --resume)` : "";
      log.info(`chunk: ${files.length} file(s)${resumed} → ${r.records} chunk(s)${r.path ? ` in ${r.path}` : ""}${problems}`);
    } finally {
      await ingest.close();
    }
  },
});
