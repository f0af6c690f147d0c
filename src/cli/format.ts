// `pipeline format`: scored pairs → training file in a chosen template (+ validation split, provenance, dataset card).
import { dirname, join, resolve } from "node:path";
import { writeFile } from "node:fs/promises";
import { checkOutputFile } from "../streams/path-checks.ts";
import { defineCommand } from "citty";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { ScoredRecord, type ExampleRecord } from "../records.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { datasetCard } from "../sinks/dataset-card.ts";
import { readRecords } from "../sinks/read-records.ts";
import { fileWriter, streamWriter, type TextWriter } from "../sinks/write-text.ts";
import { emptyFormatStats, exampleFormatter, type FormatOptions } from "../transforms/format.ts";
import { TEMPLATES, type TemplateName } from "../transforms/format-templates.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { siblingPath } from "../layout.ts";

export const FINAL_FILE = "training_data_final.jsonl";


export interface FormatRun { input?: string; output?: string; toStdout: boolean; records?: boolean; options: FormatOptions; skipBadLines?: boolean }

/** Runs format from input to files (or stdout); returns the stats. Used by `format` and `pipeline`. */
export async function runFormat(run: FormatRun, source?: AsyncIterable<ScoredRecord>) {
  const stats = emptyFormatStats();
  const stage = exampleFormatter(run.options, stats);
  const input = source ?? readRecords({ path: run.input, schema: ScoredRecord, skipBadLines: run.skipBadLines, onBadLine: (l, why) => log.warn(`scored input record ${l} skipped: ${why}`) });
  const writers: TextWriter[] = [];
  try {
    if (run.toStdout) {
      if ((run.options.validFraction ?? 0) > 0) throw new PipelineError("E_USAGE", "--valid-split writes a second file: name the output with -o");
      const out = streamWriter(process.stdout);
      for await (const r of input) {
        const ex = (await stage(r, { index: 0, signal: new AbortController().signal })) as ExampleRecord | null;
        if (ex) await out.write(JSON.stringify(run.records ? ex : ex.data) + "\n");
      }
      return { stats };
    }
    const trainPath = resolve(run.output!);
    const validPath = (run.options.validFraction ?? 0) > 0 ? siblingPath(trainPath, "valid") : undefined;
    const provenancePath = siblingPath(trainPath, "provenance");
    for (const p of [trainPath, validPath, provenancePath, join(dirname(trainPath), "README.md")]) if (p) checkOutputFile(p);
    const train = await fileWriter(trainPath); writers.push(train);
    const valid = validPath ? await fileWriter(validPath) : undefined; if (valid) writers.push(valid);
    const provenance = await fileWriter(provenancePath); writers.push(provenance);
    const lines = { train: 0, valid: 0 };
    for await (const r of input) {
      const ex = (await stage(r, { index: 0, signal: new AbortController().signal })) as ExampleRecord | null;
      if (!ex) continue;
      await (ex.split === "valid" ? valid! : train).write(JSON.stringify(ex.data) + "\n");
      const line = ++lines[ex.split];
      await provenance.write(JSON.stringify({ split: ex.split, line, id: ex.id, qaId: ex.qaId, docId: ex.docId, chunkId: ex.chunkId, source: ex.source, start: ex.start, end: ex.end }) + "\n");
    }
    for (const w of writers) await w.close();
    const cardPath = join(dirname(trainPath), "README.md");
    await writeFile(cardPath, datasetCard({ trainFile: trainPath, validFile: validPath, provenanceFile: provenancePath, input: run.input ?? "<stdin>", options: run.options, stats }));
    return { stats, trainPath, validPath, provenancePath, cardPath };
  } catch (e) {
    for (const w of writers) await w.abort().catch(() => {});
    throw e;
  }
}

export default defineCommand({
  meta: {
    name: "format",
    description:
      "Step 4: turn scored pairs into a training file in the template your trainer loads unchanged.\n" +
      "  alpaca: {instruction, input, output}   chatml: {text: \"<|im_start|>user…\"}\n" +
      "  sharegpt: {conversations: [{from, value}]}   openai: {messages: [{role, content}]}\n" +
      "  Keeps overall >= --threshold; drops failed generations, near-duplicate questions and pairs whose evidence\n" +
      "  is not in the chunk (--keep-duplicates keeps the last two). --valid-split F sends a share F of the documents\n" +
      "  (whole documents, so none leaks across) to <output>.valid.jsonl. Writes <output>.provenance.jsonl (doc,\n" +
      "  chunk, offsets per example) and a dataset card README.md beside the data.\n" +
      "  Examples:\n" +
      "    pipeline format --template openai --threshold 8\n" +
      "    pipeline format -i data/document_training_data/validation_report.json --valid-split 0.1\n" +
      "    pipeline validate < qa.ndjson | pipeline format --template chatml > train.jsonl",
  },
  args: {
    input: { type: "string", alias: "i", description: "validation_report.json or scored NDJSON (default: stdin when piped, else <PIPELINE_QA_DIR>/validation_report.json)", valueHint: "FILE" },
    output: { type: "string", alias: "o", description: "Training file (default: stdout when piped, else <PIPELINE_QA_DIR>/training_data_final.jsonl)", valueHint: "FILE" },
    template: { type: "string", description: `One of ${TEMPLATES.join(", ")} (default alpaca, PIPELINE_FORMAT_TEMPLATE)`, valueHint: "NAME" },
    threshold: { type: "string", description: "Keep pairs with overall >= this (default: PIPELINE_FILTER_THRESHOLD, 7.0); 0 keeps all", valueHint: "X" },
    "keep-duplicates": { type: "boolean", description: "Keep near-duplicate questions and pairs whose evidence was not found in the chunk" },
    "valid-split": { type: "string", description: "Share of documents (0-1) for the validation file, split by document (default 0)", valueHint: "F" },
    system: { type: "string", description: "A system prompt to put in every example", valueHint: "TEXT" },
    records: { type: "boolean", description: "On stdout, write example records (template data + provenance) instead of bare template lines" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, { formatTemplate: args.template, filterThreshold: args.threshold });
    const validFraction = args["valid-split"] === undefined ? 0 : Number(args["valid-split"]);
    if (!(validFraction >= 0 && validFraction < 1)) throw new PipelineError("E_USAGE", `--valid-split must be a share of documents from 0 to below 1, like 0.1 (got ${args["valid-split"]})`);
    const fromStdin = !args.input && stdinIsPiped();
    const toStdout = !args.output && stdoutIsPiped();
    const options: FormatOptions = {
      template: settings.formatTemplate as TemplateName,
      threshold: settings.filterThreshold,
      keepDuplicates: !!args["keep-duplicates"],
      validFraction,
      system: args.system,
    };
    const result = await runFormat({
      input: fromStdin ? undefined : (args.input ?? join(settings.qaDir, "validation_report.json")),
      output: toStdout ? undefined : (args.output ?? join(settings.qaDir, FINAL_FILE)),
      toStdout, records: !!args.records, options, skipBadLines: settings.skipBadLines,
    });
    const s = result.stats;
    const d = s.dropped;
    log.info(
      `format: ${s.seen} pair(s) → ${s.kept.train} train${validFraction ? ` + ${s.kept.valid} valid` : ""} example(s) (${options.template})` +
        `${"trainPath" in result && result.trainPath ? ` in ${result.trainPath}` : ""}; dropped ${d.below_threshold} below ${options.threshold}, ` +
        `${d.duplicate} near-duplicate, ${d.ungrounded} ungrounded, ${d.generation_failed} failed generation`,
    );
  },
});
