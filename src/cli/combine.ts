// `pipeline combine`: merge Q&A files (JSON arrays and NDJSON) into one training_data.json, exact duplicates dropped.
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { PipelineError } from "../errors.ts";
import { log, summary } from "../log.ts";
import { QaRecord } from "../records.ts";
import { runStep } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { coerceQa } from "../transforms/validate-input.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

const QA_FILE = /\.(json|ndjson|jsonl)$/i;

export interface CombineCount { file: string; records: number; duplicates: number }

/** Files in sorted order (stable output), recursing into folders; partial/ledger files of running steps are skipped. */
async function listQaFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new PipelineError("E_INPUT", "input folder not found; check --input-dir", { file: dir });
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listQaFiles(p)));
    else if (QA_FILE.test(e.name) && !/\.ledger\.json$|\.partial$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Every record of every file, in file order, then record order; the first copy of an id wins. */
export async function* combineRecords(files: string[], counts: CombineCount[], skipBadLines = false): AsyncGenerator<QaRecord> {
  const seen = new Set<string>();
  for (const file of files) {
    const c: CombineCount = { file, records: 0, duplicates: 0 };
    counts.push(c);
    for await (const r of readRecords({ path: file, schema: QaRecord, coerce: coerceQa, skipBadLines, onBadLine: (l, why) => log.warn(`${file}: record ${l} skipped: ${why}`) })) {
      if (seen.has(r.id)) { c.duplicates++; continue; }
      seen.add(r.id);
      c.records++;
      yield r;
    }
  }
}

export default defineCommand({
  meta: {
    name: "combine",
    description:
      "Merge Q&A files from a folder (JSON arrays like training_data.json, and NDJSON) into one JSON array.\n" +
      "  Files are read in sorted order, records keep their order, and an id seen before is dropped.\n" +
      "  Examples:\n" +
      "    pipeline combine                               # data/qa_results → data/results/training_data.json\n" +
      "    pipeline combine -i runs/ -o data/document_training_data/training_data.json",
  },
  args: {
    "input-dir": { type: "string", alias: "i", description: "Folder of Q&A files, or - for records on stdin (default data/qa_results)", valueHint: "DIR" },
    output: { type: "string", alias: "o", description: "Merged JSON array (default data/results/training_data.json)", valueHint: "FILE" },
    // runStep keeps the records of a failed or interrupted run and says "rerun with --resume": this makes that true.
    resume: { type: "boolean", description: "Continue a failed or interrupted run: keeps the records already written (same files)" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args);
    const dir = resolve(args["input-dir"] ?? "data/qa_results");
    const output = resolve(args.output ?? "data/results/training_data.json");
    // `-i -`: the records come from stdin (JSON array or NDJSON), as one input.
    const files = args["input-dir"] === "-" ? ["-"] : (await listQaFiles(dir)).filter((f) => resolve(f) !== output);
    if (!files.length) log.warn(`no .json/.ndjson/.jsonl files in ${dir}; writing an empty array`);
    const counts: CombineCount[] = [];
    const r = await runStep<QaRecord, QaRecord>({
      name: "combine", input: combineRecords(files, counts, settings.skipBadLines), stage: (x) => x,
      output: { path: output, format: "json-array" }, settings: { files }, resume: !!args.resume,
    });
    for (const c of counts) log.info(`  ${c.file}: ${c.records} record(s)${c.duplicates ? `, ${c.duplicates} duplicate(s) dropped` : ""}`);
    const dups = counts.reduce((n, c) => n + c.duplicates, 0);
    summary("combine", { files: counts, records: r.records, duplicates: dups, output });
    log.info(`combine: ${files.length} file(s) → ${r.records} record(s) in ${output}; ${dups} duplicate(s) dropped`);
  },
});
