// `pipeline pipeline`: steps 1-4 (chunk → generate-qa → validate → format) in one run, as one stream:
// every step starts at once and follows the previous step's committed output, so records flow through
// while the files the seed wrote are written; each step keeps its own ledger, so --resume continues all four.
import { defineCommand } from "citty";
import { flag, parseFlag } from "../config.ts";
import { runPipeline } from "../steps/pipeline.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { providerArgs, providerFlags } from "./provider-args.ts";

export default defineCommand({
  meta: {
    name: "pipeline",
    description:
      "Steps 1-4 in one run: chunk → generate-qa → validate → format, streaming from one step into the next.\n" +
      "  Writes the seed's files: <chunks-dir>/chunks.ndjson, <qa-dir>/training_data.json, validation_report.json\n" +
      "  (+ validation_report.scored.ndjson) and training_data_final.jsonl (+ provenance, dataset card README.md).\n" +
      "  Examples:\n" +
      "    pipeline pipeline --provider extractive              # offline, deterministic\n" +
      "    pipeline pipeline -i docs/ --provider openai --model gpt-4o-mini --questions-per-chunk 5\n" +
      "    pipeline pipeline --resume                           # continue an interrupted run",
  },
  args: {
    "input-dir": { type: "string", alias: "i", description: "Folder of documents (default PIPELINE_INPUT_DIR or data/documents)", valueHint: "DIR" },
    "chunk-size": { type: "string", description: "Largest chunk in characters (default 1500)", valueHint: "N" },
    "chunk-overlap": { type: "string", description: "Characters shared by neighbouring chunks (default 200)", valueHint: "N" },
    "follow-symlinks": { type: "boolean", description: "Also read symlinks that point outside the input folder (PIPELINE_FOLLOW_SYMLINKS; default: skipped with a warning)" },
    "clean": { type: "string", description: "Text cleanups: ligatures,hyphens,headers (default all) or none (PIPELINE_CLEAN)", valueHint: "LIST" },
    "pdf-engine": { type: "string", description: "PDF text extractor: pdfium (default) or pdf-parse (PIPELINE_PDF_ENGINE)", valueHint: "NAME" },
    "questions-per-chunk": { type: "string", description: "Pairs per chunk (default 3)", valueHint: "N" },
    style: { type: "string", description: "qa | multi-turn | reasoning, or a mix like qa=0.6,multi-turn=0.3,reasoning=0.1 (default qa, PIPELINE_QA_STYLE); each chunk gets one style, fixed by its id", valueHint: "STYLE" },
    "reasoning-format": { type: "string", description: "How reasoning records put their reasoning before the answer: think (<think>…</think>) | plain (default think, PIPELINE_REASONING_FORMAT)", valueHint: "FORM" },
    temperature: { type: "string", description: "Sampling temperature for generation (default 0.7)", valueHint: "T" },
    "validation-threshold": { type: "string", description: "PASS at or above this overall score (default 8.0)", valueHint: "X" },
    "filter-threshold": { type: "string", description: "NEEDS_REVIEW at or above this, FAIL below (default 7.0)", valueHint: "X" },
    "format-threshold": { type: "string", description: "Keep examples with overall >= this in training_data_final.jsonl (default: the filter threshold)", valueHint: "X" },
    template: { type: "string", description: "alpaca, chatml, sharegpt or openai (default alpaca)", valueHint: "NAME" },
    resume: { type: "boolean", description: "Continue an interrupted run: every step keeps what it committed" },
    ...providerArgs,
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      ...providerFlags(args),
      inputDir: flag("--input-dir", args["input-dir"]),
      chunkSize: flag("--chunk-size", args["chunk-size"]),
      chunkOverlap: flag("--chunk-overlap", args["chunk-overlap"]),
      followSymlinks: flag("--follow-symlinks", args["follow-symlinks"]), clean: flag("--clean", args.clean), pdfEngine: flag("--pdf-engine", args["pdf-engine"]),
      questionsPerChunk: flag("--questions-per-chunk", args["questions-per-chunk"]),
      temperature: flag("--temperature", args.temperature),
      validationThreshold: flag("--validation-threshold", args["validation-threshold"]),
      filterThreshold: flag("--filter-threshold", args["filter-threshold"]),
      formatTemplate: flag("--template", args.template),
      qaStyle: flag("--style", args.style),
      reasoningFormat: flag("--reasoning-format", args["reasoning-format"]),
    });
    await runPipeline(settings, {
      formatThreshold: parseFlag("format-threshold", args["format-threshold"]) ?? settings.filterThreshold,
      resume: !!args.resume,
      dryRun: !!args["dry-run"],
    });
  },
});
