// `pipeline validate`: score every Q&A pair (none dropped), write validation_report.json, print the summary.
import { dirname, join, resolve } from "node:path";
import { flag } from "../config.ts";
import { defineCommand } from "citty";
import { log } from "../log.ts";
import { QaRecord, type ScoredRecord } from "../records.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { writeValidationReport } from "../sinks/validation-report.ts";
import { openStepClient, planFromInput } from "../transforms/generate-qa-client.ts";
import { coerceQa } from "../transforms/validate-input.ts";
import { formatSummaryBlock, formatSummaryExtras, SummaryBuilder } from "../transforms/validate-summary.ts";
import { judgePrompt, JUDGE_REPLY_SCHEMA, markDuplicates, qaScorer, type ToScore } from "../transforms/validate.ts";
import { cacheDirUnder } from "../providers/client.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { providerArgs, providerFlags } from "./provider-args.ts";

export const REPORT_FILE = "validation_report.json";

/** Where the scored records live beside a report: the resumable part of a validate run. */
export function scoredPathFor(reportPath: string): string {
  return reportPath.replace(/\.json$/i, "") + ".scored.ndjson";
}

export default defineCommand({
  meta: {
    name: "validate",
    description:
      "Step 3: score every Q&A pair (accuracy, relevance, clarity, completeness, overall; 0-10) — none is dropped.\n" +
      "  An LLM judge sees the source chunk; heuristic checks always run: evidence found in the chunk, answer\n" +
      "  supported, near-duplicate questions across the dataset, length bounds, language.\n" +
      "  Verdict: PASS at overall >= --threshold (8.0), NEEDS_REVIEW >= --filter-threshold (7.0), else FAIL.\n" +
      "  Writes validation_report.json (settings, summary, distribution, every scored pair) and, beside it,\n" +
      "  validation_report.scored.ndjson; prints the VALIDATION SUMMARY. Piped with no -o: scored NDJSON on stdout.\n" +
      "  Examples:\n" +
      "    pipeline validate --provider extractive            # offline heuristic judge\n" +
      "    pipeline validate --provider openai --model gpt-4o-mini --filtered-output data/filtered.json\n" +
      "    pipeline qa < chunks.ndjson | pipeline validate | pipeline format -o train.jsonl",
  },
  args: {
    input: { type: "string", alias: "i", description: "Q&A pairs: training_data.json (JSON array) or NDJSON (default: stdin when piped, else <PIPELINE_QA_DIR>/training_data.json)", valueHint: "FILE" },
    output: { type: "string", alias: "o", description: "Report path (default: stdout as NDJSON when piped, else <PIPELINE_QA_DIR>/validation_report.json)", valueHint: "FILE" },
    "filtered-output": { type: "string", description: "Also write the pairs scoring >= --filter-threshold here (JSON array)", valueHint: "FILE" },
    threshold: { type: "string", description: "PASS at or above this overall score (default 8.0, PIPELINE_VALIDATION_THRESHOLD)", valueHint: "X" },
    "filter-threshold": { type: "string", description: "NEEDS_REVIEW at or above this, FAIL below (default 7.0, PIPELINE_FILTER_THRESHOLD)", valueHint: "X" },
    resume: { type: "boolean", description: "Continue an interrupted run: keeps the pairs already scored" },
    ...providerArgs,
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      ...providerFlags(args),
      validationThreshold: flag("--threshold", args.threshold),
      filterThreshold: flag("--filter-threshold", args["filter-threshold"]),
    });
    const fromStdin = !args.input && stdinIsPiped();
    const inputPath = fromStdin ? undefined : (args.input ?? join(settings.qaDir, "training_data.json"));
    const toStdout = !args.output && stdoutIsPiped();
    const reportPath = resolve(args.output ?? join(settings.qaDir, REPORT_FILE));

    const readPairs = () => readRecords({
      path: inputPath, schema: QaRecord, coerce: coerceQa, skipBadLines: settings.skipBadLines,
      onBadLine: (l, why) => log.warn(`Q&A input record ${l} skipped: ${why}`),
    });
    if (args["dry-run"]) {
      return planFromInput(settings, "validate", readPairs(), (qa) => (qa.error ? null : judgePrompt(qa)), 60, JUDGE_REPLY_SCHEMA.schema);
    }
    const judge = await openStepClient(settings, "validate", cacheDirUnder(dirname(reportPath)));
    const opts = { judge, threshold: settings.validationThreshold, filterThreshold: settings.filterThreshold };
    const stepSettings = {
      input: inputPath ? resolve(inputPath) : "<stdin>",
      judge: judge?.provider ?? "extractive",
      model: judge?.model ?? "extractive",
      threshold: opts.threshold,
      filterThreshold: opts.filterThreshold,
    };
    const input = markDuplicates(readPairs());
    // Cost of this run's calls (a resumed run paid only for the rest); token counts in the summary cover every pair.
    const cost = () => (judge ? `$${judge.usage().total.cost.toFixed(4)} this run` : undefined);
    const base = { name: "validate", input, stage: qaScorer(opts), commitEveryMs: settings.commitIntervalMs, concurrency: judge ? settings.concurrency : 1, progress: createProgress({ label: "validate", unit: "pairs" }) };

    try {
      if (toStdout) {
        // Data on stdout, so the summary goes to stderr; it is summed as records pass.
        const summary = new SummaryBuilder();
        const tap = (r: ScoredRecord) => { summary.add(r); return r; };
        await runStep<ToScore, ScoredRecord>({ ...base, stage: [base.stage, tap], output: { stream: process.stdout, format: "ndjson" }, resume: !!args.resume });
        const s = summary.result();
        if (judge) log.info(judge.formatUsage());
        process.stderr.write(formatSummaryBlock(s) + formatSummaryExtras(s, cost()));
        if (args["filtered-output"]) log.warn("--filtered-output needs a report file: add -o FILE");
        return;
      }
      const scoredPath = scoredPathFor(reportPath);
      const r = await runStep<ToScore, ScoredRecord>({ ...base, output: { path: scoredPath, format: "ndjson" }, resume: !!args.resume, settings: stepSettings });
      const { summary, filtered } = await writeValidationReport({
        scoredPath, reportPath, filteredPath: args["filtered-output"] ? resolve(args["filtered-output"]) : undefined,
        filterThreshold: opts.filterThreshold, settings: stepSettings,
      });
      // stdout carries no data in this mode, so the summary goes there (as the seed printed it).
      process.stdout.write(formatSummaryBlock(summary) + formatSummaryExtras(summary, cost()));
      const resumed = r.resumedInputs ? ` (${r.resumedInputs} scored before --resume)` : "";
      log.info(`validate: ${summary.total} pair(s)${resumed} → ${reportPath}${args["filtered-output"] ? `; ${filtered} pair(s) >= ${opts.filterThreshold} → ${args["filtered-output"]}` : ""}`);
      if (judge) log.info(judge.formatUsage());
    } finally {
      await judge?.close();
    }
  },
});
