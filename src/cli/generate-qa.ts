// `pipeline generate-qa` (alias `qa`): chunk records → Q&A records, by an LLM or offline (extractive), resumable.
import { statSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { flag } from "../config.ts";
import { CHUNKS_FILE, QA_FILE } from "../layout.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { runGenerateQa } from "../steps/generate-qa.ts";
import { parseMaxFailures } from "../transforms/retry-failed.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { failureArgs, providerArgs, providerFlags } from "./provider-args.ts";

export const generateQaArgs = {
  "input-dir": { type: "string", alias: "i", description: "Folder holding chunks.ndjson (or a chunks file itself), or - for stdin (default: stdin when piped, else PIPELINE_CHUNKS_DIR or data/document_chunks)", valueHint: "DIR" },
  "output-dir": { type: "string", alias: "o", description: "Folder for training_data.json (default: stdout as NDJSON when piped, else PIPELINE_QA_DIR or data/document_training_data)", valueHint: "DIR" },
  "questions-per-chunk": { type: "string", description: "Pairs to ask for per chunk (default 3); a chunk too short for N good pairs gives fewer", valueHint: "N" },
  temperature: { type: "string", description: "Sampling temperature for the LLM (default 0.7)", valueHint: "T" },
  style: { type: "string", description: "qa | multi-turn | reasoning, or a mix like qa=0.6,multi-turn=0.3,reasoning=0.1 (default qa, PIPELINE_QA_STYLE); each chunk gets one style, fixed by its id", valueHint: "STYLE" },
  resume: { type: "boolean", description: "Continue an interrupted run: keeps committed pairs, skips chunks already done" },
  ...providerArgs,
} as const;

export default defineCommand({
  meta: {
    name: "generate-qa",
    description:
      "Step 2: write question-answer pairs for every chunk, each with an evidence quote copied from the chunk.\n" +
      "  Questions are self-contained and in the chunk's language; answers are supported by the chunk.\n" +
      "  A chunk whose reply stays unusable after one repair is recorded as a pair with `error` set (excluded later).\n" +
      "  Input: <input-dir>/chunks.ndjson, or chunk NDJSON on stdin. Output: <output-dir>/training_data.json\n" +
      "  (a JSON array, written as a stream), or NDJSON on stdout when it is piped and no -o is given.\n" +
      "  Examples:\n" +
      "    pipeline generate-qa --provider extractive          # offline, deterministic\n" +
      "    pipeline generate-qa --provider openai --model gpt-4o-mini --questions-per-chunk 5\n" +
      "    pipeline generate-qa --style qa=0.6,multi-turn=0.3,reasoning=0.1   # conversations and reasoning too\n" +
      "    pipeline chunk < guide.md | pipeline qa --provider ollama --model llama3.1 > qa.ndjson",
  },
  args: { ...generateQaArgs, ...failureArgs, ...commonArgs },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      ...providerFlags(args),
      chunksDir: flag("--input-dir", args["input-dir"] === "-" ? undefined : args["input-dir"]),
      qaDir: flag("--output-dir", args["output-dir"]),
      questionsPerChunk: flag("--questions-per-chunk", args["questions-per-chunk"]),
      temperature: flag("--temperature", args.temperature),
      qaStyle: flag("--style", args.style),
    });
    const fromStdin = args["input-dir"] === "-" || (!args["input-dir"] && stdinIsPiped());
    await runGenerateQa(settings, {
      input: fromStdin ? undefined : chunksPath(settings.chunksDir),
      output: args["output-dir"] || !stdoutIsPiped() ? join(settings.qaDir, QA_FILE) : undefined,
      resume: !!args.resume,
      dryRun: !!args["dry-run"],
      retryFailed: !!args["retry-failed"],
      maxFailures: parseMaxFailures(args["max-failures"]),
    });
  },
});

/** `-i out/chunks.ndjson` is what people type after `chunk -o out/`: a file is read as it is, a folder's chunks.ndjson otherwise. */
function chunksPath(dirOrFile: string): string {
  try { if (statSync(dirOrFile).isFile()) return dirOrFile; } catch { /* missing: the step says so, naming the path */ }
  return join(dirOrFile, CHUNKS_FILE);
}
