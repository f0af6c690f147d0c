// `pipeline generate-qa` (alias `qa`): chunk records → Q&A records, by an LLM or offline (extractive), resumable.
import { join, resolve } from "node:path";
import { flag } from "../config.ts";
import { defineCommand } from "citty";
import { log } from "../log.ts";
import { ChunkRecord, type QaRecord } from "../records.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep, type StepOutput } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { emptyGenerateQaStats, qaGenerator, qaPrompt, QA_REPLY_SCHEMA } from "../transforms/generate-qa.ts";
import { openStepClient, planFromInput } from "../transforms/generate-qa-client.ts";
import { cacheDirUnder } from "../providers/client.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { providerArgs, providerFlags } from "./provider-args.ts";

export const CHUNKS_FILE = "chunks.ndjson";
export const QA_FILE = "training_data.json";

export const generateQaArgs = {
  "input-dir": { type: "string", alias: "i", description: "Folder holding chunks.ndjson (default: stdin when piped, else PIPELINE_CHUNKS_DIR or data/document_chunks)", valueHint: "DIR" },
  "output-dir": { type: "string", alias: "o", description: "Folder for training_data.json (default: stdout as NDJSON when piped, else PIPELINE_QA_DIR or data/document_training_data)", valueHint: "DIR" },
  "questions-per-chunk": { type: "string", description: "Pairs to ask for per chunk (default 3); a chunk too short for N good pairs gives fewer", valueHint: "N" },
  temperature: { type: "string", description: "Sampling temperature for the LLM (default 0.7)", valueHint: "T" },
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
      "    pipeline chunk < guide.md | pipeline qa --provider ollama --model llama3.1 > qa.ndjson",
  },
  args: { ...generateQaArgs, ...commonArgs },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      ...providerFlags(args),
      chunksDir: flag("--input-dir", args["input-dir"]),
      qaDir: flag("--output-dir", args["output-dir"]),
      questionsPerChunk: flag("--questions-per-chunk", args["questions-per-chunk"]),
      temperature: flag("--temperature", args.temperature),
    });
    const fromStdin = !args["input-dir"] && stdinIsPiped();
    const inputPath = fromStdin ? undefined : join(settings.chunksDir, CHUNKS_FILE);
    const output: StepOutput = args["output-dir"] || !stdoutIsPiped()
      ? { path: join(settings.qaDir, QA_FILE), format: "json-array" }
      : { stream: process.stdout, format: "ndjson" };

    const readChunks = () => readRecords({ path: inputPath, schema: ChunkRecord, skipBadLines: settings.skipBadLines, onBadLine: (l, why) => log.warn(`chunk input line ${l} skipped: ${why}`) });
    if (args["dry-run"]) {
      // About 60 reply tokens per pair asked for, plus the JSON around them.
      return planFromInput(settings, "generate-qa", readChunks(), (c) => qaPrompt(c, settings.questionsPerChunk), 20 + 60 * settings.questionsPerChunk, QA_REPLY_SCHEMA.schema);
    }
    const client = await openStepClient(settings, "generate-qa", cacheDirUnder(settings.qaDir));
    const stats = emptyGenerateQaStats();
    const stage = qaGenerator({ client, questionsPerChunk: settings.questionsPerChunk, temperature: settings.temperature }, stats);
    const provider = client?.provider ?? "extractive";
    try {
      const r = await runStep<ChunkRecord, QaRecord>({
        name: "generate-qa",
        input: readChunks(),
        stage,
        output,
        resume: !!args.resume,
        commitEveryMs: settings.commitIntervalMs,
        concurrency: client ? settings.concurrency : 1,
        progress: createProgress({ label: "generate-qa", unit: "chunks" }),
        settings: {
          input: inputPath ? resolve(inputPath) : "<stdin>",
          provider,
          model: client?.model ?? "extractive",
          questionsPerChunk: settings.questionsPerChunk,
          temperature: client ? settings.temperature : undefined,
        },
      });
      const resumed = r.resumedInputs ? ` (${r.resumedInputs} done before --resume)` : "";
      log.info(
        `generate-qa: ${r.inputs} chunk(s)${resumed} → ${r.records} record(s)${r.path ? ` in ${r.path}` : ""}; ` +
          `this run: ${stats.pairs} pair(s), ${stats.shortChunks} chunk(s) gave fewer than ${settings.questionsPerChunk} ` +
          `(${stats.emptyChunks} none), ${stats.failedChunks} failed (recorded with error)` +
          (client ? `; tokens ${stats.usage.inputTokens} in, ${stats.usage.outputTokens} out` : ""),
      );
      for (const s of stats.shortfalls.slice(0, 50)) log.debug(`  chunk ${s.chunkId}: ${s.made} of ${s.asked} pair(s)`);
      if (client) log.info(client.formatUsage());
    } finally {
      await client?.close();
    }
  },
});
