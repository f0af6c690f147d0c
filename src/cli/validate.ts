// `pipeline validate`: score every Q&A pair (none dropped), write validation_report.json, print the summary.
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { flag } from "../config.ts";
import { QA_FILE, REPORT_FILE } from "../layout.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import { runValidate } from "../steps/validate.ts";
import { parseMaxFailures } from "../transforms/retry-failed.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { failureArgs, providerArgs, providerFlags } from "./provider-args.ts";

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
    ...failureArgs,
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      ...providerFlags(args),
      validationThreshold: flag("--threshold", args.threshold),
      filterThreshold: flag("--filter-threshold", args["filter-threshold"]),
    });
    const fromStdin = args.input === "-" || (!args.input && stdinIsPiped());
    const toStdout = !args.output && stdoutIsPiped();
    await runValidate(settings, {
      input: fromStdin ? undefined : (args.input ?? join(settings.qaDir, QA_FILE)),
      output: toStdout ? undefined : resolve(args.output ?? join(settings.qaDir, REPORT_FILE)),
      filteredOutput: args["filtered-output"],
      resume: !!args.resume,
      dryRun: !!args["dry-run"],
      retryFailed: !!args["retry-failed"],
      maxFailures: parseMaxFailures(args["max-failures"]),
    });
  },
});
