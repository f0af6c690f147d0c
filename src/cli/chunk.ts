// `pipeline chunk`: documents (a folder, files, or stdin) → chunk records (NDJSON), resumable.
import { join } from "node:path";
import { defineCommand } from "citty";
import { flag } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { CHUNKS_FILE } from "../layout.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { runChunk } from "../steps/chunk.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

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
    files: { type: "positional", required: false, description: "Files or folders to read (instead of --input-dir); - reads stdin", valueHint: "PATH..." },
    "input-dir": { type: "string", alias: "i", description: "Folder of documents (default: PIPELINE_INPUT_DIR or data/documents)", valueHint: "DIR" },
    "output-dir": { type: "string", alias: "o", description: "Folder for chunks.ndjson (default: stdout when piped, else PIPELINE_CHUNKS_DIR or data/document_chunks)", valueHint: "DIR" },
    "chunk-size": { type: "string", description: "Largest chunk in characters (default 1500, PIPELINE_CHUNK_SIZE)", valueHint: "N" },
    "chunk-overlap": { type: "string", description: "Characters shared by neighbouring chunks (default 200, PIPELINE_CHUNK_OVERLAP)", valueHint: "N" },
    "follow-symlinks": { type: "boolean", description: "Also read symlinks that point outside the input folder (PIPELINE_FOLLOW_SYMLINKS; default: skipped with a warning)" },
    "clean": { type: "string", description: "Text cleanups: ligatures,hyphens,headers (default all) or none (PIPELINE_CLEAN)", valueHint: "LIST" },
    "pdf-engine": { type: "string", description: "PDF text extractor: pdfium (default) or pdf-parse (PIPELINE_PDF_ENGINE)", valueHint: "NAME" },
    resume: { type: "boolean", description: "Continue an interrupted run: keeps committed output, skips inputs already done" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      inputDir: flag("--input-dir", args["input-dir"] === "-" ? undefined : args["input-dir"]),
      chunksDir: flag("--output-dir", args["output-dir"]),
      chunkSize: flag("--chunk-size", args["chunk-size"]),
      chunkOverlap: flag("--chunk-overlap", args["chunk-overlap"]),
      followSymlinks: flag("--follow-symlinks", args["follow-symlinks"]), clean: flag("--clean", args.clean), pdfEngine: flag("--pdf-engine", args["pdf-engine"]),
    });
    const positional = (args._ ?? []).map(String);
    // `-` (as the one file or as --input-dir) is stdin, as everywhere.
    const dash = args["input-dir"] === "-" || (positional.length === 1 && positional[0] === "-");
    if (!dash && positional.includes("-")) throw new PipelineError("E_USAGE", "`-` (stdin) cannot be mixed with files; give it alone");
    const fromStdin = dash || (!args["input-dir"] && positional.length === 0 && stdinIsPiped());
    await runChunk(settings, {
      inputs: fromStdin ? undefined : positional.length ? positional : [settings.inputDir],
      output: args["output-dir"] || !stdoutIsPiped() ? join(settings.chunksDir, CHUNKS_FILE) : undefined,
      resume: !!args.resume,
    });
  },
});
