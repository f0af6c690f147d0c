// The validate step: Q&A records → every pair scored (none dropped) → validation_report.json (+ scored NDJSON beside
// it) and the VALIDATION SUMMARY, or scored NDJSON on stdout.
import { dirname, join, resolve } from "node:path";
import type { Settings } from "../config.ts";
import { scoredPathFor, REPORT_FILE } from "../layout.ts";
import { humanOut, log, summary as jsonSummary } from "../log.ts";
import { QaRecord, type ScoredRecord } from "../records.ts";
import { cacheDirUnder } from "../providers/client.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { writeValidationReport } from "../sinks/validation-report.ts";
import { openStepClient, planFromInput, recordsInFlight } from "../transforms/generate-qa-client.ts";
import { checkFailures, pairWithPrevious, previousRecords, retryFailedStage } from "../transforms/retry-failed.ts";
import { checkOutputFile } from "../streams/path-checks.ts";
import type { Stage } from "../streams/as-transform.ts";
import { PipelineError } from "../errors.ts";
import { batchedClient, forEachAfter } from "../providers/batch/client.ts";
import { ignoreDeferred } from "../providers/batch/run.ts";
import { withRecordId } from "../providers/batch/replay.ts";
import { requireBatchProvider } from "../providers/batch/vendor.ts";
import { coerceQa } from "../transforms/validate-input.ts";
import { formatSummaryBlock, formatSummaryExtras, SummaryBuilder } from "../transforms/validate-summary.ts";
import { judgePrompt, JUDGE_REPLY_SCHEMA, markDuplicates, qaScorer, type ToScore } from "../transforms/validate.ts";

export interface ValidateRun {
  /** training_data.json or Q&A NDJSON; undefined reads stdin. */
  input?: string;
  /** The report path; undefined writes scored NDJSON to stdout. */
  output?: string;
  /** Also write the pairs scoring >= the filter threshold here (JSON array). */
  filteredOutput?: string;
  resume: boolean;
  dryRun?: boolean;
  /** Score again only the pairs the judge failed on in the existing report. */
  retryFailed?: boolean;
  /** Fail the step when the judge fails on more pairs than this (default: only when on every one). */
  maxFailures?: number;
}

export async function runValidate(settings: Settings, o: ValidateRun): Promise<void> {
  const inputPath = o.input;
  const toStdout = o.output === undefined;
  const reportPath = resolve(o.output ?? join(settings.qaDir, REPORT_FILE));

  const readPairs = () => readRecords({
    path: inputPath, schema: QaRecord, coerce: coerceQa, skipBadLines: settings.skipBadLines,
    onBadLine: (l, why) => log.warn(`Q&A input record ${l} skipped: ${why}`),
  });
  if (o.dryRun) {
    return planFromInput(settings, "validate", readPairs(), (qa) => (qa.error ? null : judgePrompt(qa)), 60, JUDGE_REPLY_SCHEMA.schema);
  }
  if (!toStdout) for (const p of [reportPath, o.filteredOutput]) if (p) checkOutputFile(p);
  if (o.retryFailed && toStdout) throw new PipelineError("E_USAGE", "--retry-failed rewrites a report: name it with -o", { field: "--retry-failed" });
  if (settings.batch) {
    if (toStdout) throw new PipelineError("E_USAGE", "--batch keeps its batch ledger beside the report: name it with -o", { field: "--batch" });
    if (!inputPath) throw new PipelineError("E_USAGE", "--batch reads the pairs more than once (to collect the requests, then to score): name the file with -i instead of piping it", { field: "--batch" });
    if (o.retryFailed) throw new PipelineError("E_USAGE", "--retry-failed is not available with --batch yet: run it without --batch (it scores only the failed pairs again)", { field: "--batch" });
  }
  const opened = await openStepClient(settings, "validate", cacheDirUnder(dirname(reportPath)));
  let judge = opened;
  const opts = { judge, threshold: settings.validationThreshold, filterThreshold: settings.filterThreshold };
  const stepSettings = {
    input: inputPath ? resolve(inputPath) : "<stdin>",
    judge: judge?.provider ?? "extractive",
    model: judge?.model ?? "extractive",
    threshold: opts.threshold,
    filterThreshold: opts.filterThreshold,
  };
  if (settings.batch) {
    // Every pair's judge request goes out in batches first; the step then scores as usual on the replies.
    judge = await Promise.resolve().then(() => requireBatchProvider(opened?.provider ?? "extractive")).then(() => batchedClient(settings, opened!, {
      step: "validate", target: scoredPathFor(reportPath), resume: o.resume, stepSettings, outputTokensPerCall: 60,
      collect: async (c, skip) => {
        const score = qaScorer({ ...opts, judge: c });
        const signal = new AbortController().signal;
        await forEachAfter(markDuplicates(readPairs()), skip, (x, index) => withRecordId(x.qa.id, async () => { await score(x, { index, signal }); }).catch(ignoreDeferred));
      },
    })).catch(async (e) => { await opened?.close(); throw e; });
    opts.judge = judge;
  }
  const input = markDuplicates(readPairs());
  // Cost of this run's calls (a resumed run paid only for the rest); token counts in the summary cover every pair.
  const cost = () => (judge ? `$${judge.usage().total.cost.toFixed(4)} this run` : undefined);
  // Judge failures among the pairs scored this run (a pair whose generation failed is not the judge's failure).
  const judged = { total: 0, failed: 0 };
  const scorer = qaScorer(opts);
  const counted: Stage<ToScore, ScoredRecord> = async (x, ctx) => {
    const r = (await scorer(x, ctx)) as ScoredRecord;
    judged.total++;
    if (r.judge?.error && !r.error) judged.failed++;
    return r;
  };
  const checkJudged = () => { if (judge) checkFailures("validate", judged.failed, judged.total, o.maxFailures, "pair(s) judged this run"); };
  const base = { name: "validate", input, stage: counted, commitEveryMs: settings.commitIntervalMs, concurrency: recordsInFlight(judge), progress: createProgress({ label: "validate", unit: "pairs" }) };

  try {
    if (toStdout) {
      // Data on stdout, so the summary goes to stderr; it is summed as records pass.
      const summary = new SummaryBuilder();
      const tap = (r: ScoredRecord) => { summary.add(r); return r; };
      await runStep<ToScore, ScoredRecord>({ ...base, stage: [base.stage, tap], output: { stream: process.stdout, format: "ndjson" }, resume: o.resume });
      const s = summary.result();
      jsonSummary("validate", { ...s, output: null });
      if (judge) log.info(judge.formatUsage());
      process.stderr.write(formatSummaryBlock(s) + formatSummaryExtras(s, cost()));
      checkJudged();
      if (o.filteredOutput) log.warn("--filtered-output needs a report file: add -o FILE");
      return;
    }
    const scoredPath = scoredPathFor(reportPath);
    let step: { input: AsyncIterable<unknown>; stage: Stage<unknown, ScoredRecord>; settings: Record<string, unknown> } =
      { input, stage: counted as Stage<unknown, ScoredRecord>, settings: stepSettings };
    if (o.retryFailed) {
      // Pairs the judge failed on are scored again; the others keep their scored records as they are.
      const previous = await previousRecords<ScoredRecord>("validate", scoredPath, stepSettings);
      step = {
        input: pairWithPrevious(input, previous, (p, x: ToScore) => p.qaId === x.qa.id),
        stage: retryFailedStage(counted, (p: ScoredRecord) => !!p.judge?.error && !p.error) as Stage<unknown, ScoredRecord>,
        settings: { ...stepSettings, retryFailed: true },
      };
    }
    const r = await runStep<unknown, ScoredRecord>({ ...base, ...step, output: { path: scoredPath, format: "ndjson" }, resume: o.resume });
    const { summary, filtered } = await writeValidationReport({
      scoredPath, reportPath, filteredPath: o.filteredOutput ? resolve(o.filteredOutput) : undefined,
      filterThreshold: opts.filterThreshold, settings: stepSettings,
    });
    // stdout carries no data in this mode, so the summary goes there (as the seed printed it).
    jsonSummary("validate", { ...summary, report: reportPath, ...(o.filteredOutput ? { filtered, filteredOutput: o.filteredOutput } : {}) });
    humanOut().write(formatSummaryBlock(summary) + formatSummaryExtras(summary, cost()));
    const resumed = r.resumedInputs ? ` (${r.resumedInputs} scored before --resume)` : "";
    log.info(`validate: ${summary.total} pair(s)${resumed} → ${reportPath}${o.filteredOutput ? `; ${filtered} pair(s) >= ${opts.filterThreshold} → ${o.filteredOutput}` : ""}`);
    if (judge) log.info(judge.formatUsage());
    checkJudged();
  } finally {
    await judge?.close();
    if (judge !== opened) await opened?.close();
  }
}
