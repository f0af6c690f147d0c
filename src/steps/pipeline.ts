// `pipeline pipeline`'s run: steps 1-4 (chunk → generate-qa → validate → format) as one stream — every step starts
// at once and follows the previous step's committed output; each keeps its own ledger, so --resume continues all four.
import { resolve } from "node:path";
import { humanOut, log, summary as jsonSummary } from "../log.ts";
import { ChunkRecord, QaRecord, ScoredRecord, type DocRecord } from "../records.ts";
import { cacheDirUnder } from "../providers/client.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { tailOutput } from "../sinks/tail-output.ts";
import { writeValidationReport } from "../sinks/validation-report.ts";
import { chunker, CHUNK_HEAP_GROWTH } from "../transforms/chunk.ts";
import { emptyGenerateQaStats, promptFor, qaGenerator, QA_REPLY_SCHEMA } from "../transforms/generate-qa.ts";
import { styleSettings } from "../transforms/qa-styles.ts";
import { openStepClient, planFromInput, recordsInFlight } from "../transforms/generate-qa-client.ts";
import { dryRun } from "../providers/plan.ts";
import { estimatePromptTokens } from "../providers/tokens.ts";
import { collectResult, type Stage } from "../streams/as-transform.ts";
import type { Settings } from "../config.ts";
import { expandBigTextFiles, type TextPart } from "../transforms/big-text.ts";
import { fileKind, ingester, listFiles } from "../transforms/ingest.ts";
import { requireDocuments } from "../transforms/input-check.ts";
import { formatSummaryBlock, formatSummaryExtras } from "../transforms/validate-summary.ts";
import { judgePrompt, JUDGE_REPLY_SCHEMA, markDuplicates, qaScorer } from "../transforms/validate.ts";
import type { TemplateName } from "../transforms/format-templates.ts";
import { runFormat } from "./format.ts";
import { projectFiles } from "../layout.ts";
import { requireBatchProvider } from "../providers/batch/vendor.ts";
import { normalizeProviderName, resolveSelection } from "../providers/select.ts";
import { batchPriceFor, costOf, loadPrices } from "../providers/prices.ts";

export interface PipelineRun {
  /** Keep examples with overall >= this in training_data_final.jsonl. */
  formatThreshold: number;
  resume: boolean;
  /** Price the run instead of making it. */
  dryRun?: boolean;
}

interface StepState { done: boolean; error?: unknown }

/**
 * --dry-run: chunk in memory (cheap, nothing written), then price one generation call per chunk and one
 * judge call per pair asked for, as the real run would make them.
 */
async function planPipeline(settings: Settings, files: string[], ingest: Stage<string, DocRecord>): Promise<void> {
  const chunk = chunker({ size: settings.chunkSize, overlap: settings.chunkOverlap });
  const signal = new AbortController().signal;
  async function* chunks(): AsyncGenerator<ChunkRecord> {
    let index = 0;
    for (const file of files) {
      for (const doc of await collectResult(await ingest(file, { index: index++, signal }))) {
        for (const c of await collectResult(await chunk(doc, { index, signal }))) yield c;
      }
    }
  }
  const n = settings.questionsPerChunk;
  let judgeCalls = 0, judgeTokens = 0;
  await planFromInput(settings, "generate-qa", chunks(), (c) => {
    // Each pair asked for is judged once, with the chunk in the prompt.
    const judge = judgePrompt({ type: "qa", id: "", docId: c.docId, chunkId: c.id, source: c.source, question: "", answer: "", evidence: "", context: c.text, provider: "", model: "", usage: { inputTokens: 0, outputTokens: 0 } });
    judgeCalls += n;
    judgeTokens += n * (estimatePromptTokens(judge, JUDGE_REPLY_SCHEMA.schema) + 60);
    return promptFor(c, n, settings.qaStyle);
  }, 20 + 60 * n, QA_REPLY_SCHEMA.schema);
  if (!settings.batch) {
    await dryRun(settings, { calls: judgeCalls, inputTokens: judgeTokens, outputTokens: judgeCalls * 60 }, { step: "validate" });
    return;
  }
  // The pairs do not exist yet, so validate's batches cannot be laid out: its size and cost at batch prices.
  const sel = await resolveSelection(settings);
  const price = batchPriceFor(sel.provider, sel.model, loadPrices(settings.prices));
  process.stderr.write(
    `dry run of validate --batch: ${sel.provider} / ${sel.model}\n  requests: ~${judgeCalls.toLocaleString("en")} (one per pair asked for)\n` +
      `  tokens:   ~${judgeTokens.toLocaleString("en")} in + ~${(judgeCalls * 60).toLocaleString("en")} out\n` +
      `  cost:     ${price ? `$${costOf(price, judgeTokens, judgeCalls * 60).toFixed(4)}` : "unknown (model not in the price table; set PIPELINE_PRICES)"} at batch prices\n`,
  );
}

export async function runPipeline(settings: Settings, o: PipelineRun): Promise<void> {
  const { resume, formatThreshold } = o;
  const paths = projectFiles(settings);
  const chunksPath = resolve(paths.chunks);
  const qaPath = resolve(paths.qa);
  const reportPath = resolve(paths.report);
  const scoredPath = resolve(paths.scored);
  const finalPath = resolve(paths.final);

  const files = await listFiles([settings.inputDir], { followSymlinks: settings.followSymlinks });
  requireDocuments(files, [settings.inputDir]);
  const ingest = ingester({ skipBadLines: settings.skipBadLines, clean: settings.clean, pdfEngine: settings.pdfEngine });
  if (o.dryRun) {
    try { return await planPipeline(settings, files, ingest.stage); } finally { await ingest.close(); }
  }
  if (settings.batch) {
    await ingest.close();
    return runPipelineInBatches(settings, o, { chunks: paths.chunks, qa: qaPath, report: reportPath, final: finalPath });
  }
  const generator = await openStepClient(settings, "generate-qa", cacheDirUnder(settings.qaDir));
  const judge = generator ? await openStepClient(settings, "validate", cacheDirUnder(settings.qaDir)) : null;

  const since = Date.now();
  const abort = new AbortController();
  const states = { chunk: {} as StepState, qa: {} as StepState, validate: {} as StepState, format: {} as StepState };
  const track = <T>(name: keyof typeof states, p: Promise<T>): Promise<T> => {
    states[name] = { done: false };
    return p.then(
      (v) => { states[name].done = true; return v; },
      (e) => { states[name].error = e; if (!abort.signal.aborted) abort.abort(e); throw e; },
    );
  };
  const follow = (path: string, of: StepState) =>
    tailOutput({ path, since, done: () => of.done, failed: () => of.error, signal: abort.signal });
  // Stages commit often here: the next step only sees committed bytes.
  const common = { resume, signal: abort.signal, commitEveryMs: Math.min(settings.commitIntervalMs, 200) };
  const qaStats = emptyGenerateQaStats();

  const chunkStep = track("chunk", runStep<string | TextPart, ChunkRecord>({
    ...common, name: "chunk", input: await expandBigTextFiles(files, fileKind), stage: [ingest.stage, chunker({ size: settings.chunkSize, overlap: settings.chunkOverlap })],
    output: { path: chunksPath, format: "ndjson" }, concurrency: 4, heapGuardGrowth: CHUNK_HEAP_GROWTH,
    settings: { chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap, clean: [...settings.clean].sort().join(",") || "none", pdfEngine: settings.pdfEngine, input: [resolve(settings.inputDir)] },
  }));
  const qaStep = track("qa", runStep<ChunkRecord, QaRecord>({
    ...common, name: "generate-qa",
    input: readRecords({ path: chunksPath, stream: follow(chunksPath, states.chunk), schema: ChunkRecord }),
    stage: qaGenerator({ client: generator, questionsPerChunk: settings.questionsPerChunk, temperature: settings.temperature, styles: settings.qaStyle }, qaStats),
    output: { path: qaPath, format: "json-array" }, concurrency: recordsInFlight(generator),
    progress: createProgress({ label: "pipeline", unit: "chunks" }),
    settings: {
      input: chunksPath, provider: generator?.provider ?? "extractive", model: generator?.model ?? "extractive",
      questionsPerChunk: settings.questionsPerChunk, temperature: generator ? settings.temperature : undefined, ...styleSettings(settings.qaStyle),
    },
  }));
  const validateStep = track("validate", runStep({
    ...common, name: "validate",
    input: markDuplicates(readRecords({ path: qaPath, stream: follow(qaPath, states.qa), schema: QaRecord })),
    stage: qaScorer({ judge, threshold: settings.validationThreshold, filterThreshold: settings.filterThreshold }),
    output: { path: scoredPath, format: "ndjson" }, concurrency: recordsInFlight(judge),
    settings: {
      input: qaPath, judge: judge?.provider ?? "extractive", model: judge?.model ?? "extractive",
      threshold: settings.validationThreshold, filterThreshold: settings.filterThreshold,
    },
  }));
  const formatOptions = { template: settings.formatTemplate as TemplateName, threshold: formatThreshold, keepDuplicates: false, validFraction: 0, reasoningFormat: settings.reasoningFormat };
  const formatStep = track("format", runFormat(
    { output: finalPath, toStdout: false, options: formatOptions, input: scoredPath },
    readRecords({ path: scoredPath, stream: follow(scoredPath, states.validate), schema: ScoredRecord }),
  ));

  try {
    const settled = await Promise.allSettled([chunkStep, qaStep, validateStep, formatStep]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const [c, q] = settled.map((s) => (s as PromiseFulfilledResult<{ records: number }>).value);
    const { summary } = await writeValidationReport({
      scoredPath, reportPath, filterThreshold: settings.filterThreshold,
      settings: { input: qaPath, judge: judge?.provider ?? "extractive", model: judge?.model ?? "extractive", threshold: settings.validationThreshold, filterThreshold: settings.filterThreshold },
    });
    humanOut().write(formatSummaryBlock(summary) + formatSummaryExtras(summary, judge ? `$${(judge.usage().total.cost + generator!.usage().total.cost).toFixed(4)} this run (generation + judging)` : undefined));
    const fmt = (settled[3] as PromiseFulfilledResult<Awaited<typeof formatStep>>).value.stats;
    jsonSummary("pipeline", {
      files: files.length, chunks: c!.records, qaRecords: q!.records, validation: summary, kept: fmt.kept, dropped: fmt.dropped,
      outputs: { chunks: chunksPath, qa: qaPath, report: reportPath, final: finalPath },
    });
    log.info(
      `pipeline: ${files.length} file(s) → ${c!.records} chunk(s) → ${q!.records} Q&A record(s) → ${summary.total} scored → ` +
        `${fmt.kept.train} example(s) (${formatOptions.template}, overall >= ${formatThreshold})\n` +
        `  ${chunksPath}\n  ${qaPath}\n  ${reportPath}\n  ${finalPath}`,
    );
    if (generator) log.info(generator.formatUsage());
    if (judge) log.info(judge.formatUsage());
  } finally {
    await ingest.close();
    await generator?.close();
    await judge?.close();
  }
}

/**
 * --batch: the steps one after another instead of as one stream — a vendor batch needs every request of a step
 * before it is submitted. Each step keeps its own ledger, so --resume continues where the run stopped.
 */
async function runPipelineInBatches(settings: Settings, o: PipelineRun, files: { chunks: string; qa: string; report: string; final: string }): Promise<void> {
  if (settings.provider) requireBatchProvider(normalizeProviderName(settings.provider));
  const { runChunk } = await import("./chunk.ts");
  const { runGenerateQa } = await import("./generate-qa.ts");
  const { runValidate } = await import("./validate.ts");
  const { formatSummary } = await import("./format.ts");
  await runChunk(settings, { inputs: [settings.inputDir], output: files.chunks, resume: o.resume });
  await runGenerateQa(settings, { input: files.chunks, output: files.qa, resume: o.resume });
  await runValidate(settings, { input: files.qa, output: files.report, resume: o.resume });
  const options = { template: settings.formatTemplate as TemplateName, threshold: o.formatThreshold, keepDuplicates: false, validFraction: 0, reasoningFormat: settings.reasoningFormat };
  log.info(formatSummary(await runFormat({ input: files.report, output: files.final, toStdout: false, options, skipBadLines: settings.skipBadLines }), options));
}
