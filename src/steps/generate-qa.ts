// The generate-qa step: chunk records (a file or stdin) → Q&A records (training_data.json or NDJSON on stdout), resumable.
import { resolve } from "node:path";
import type { Settings } from "../config.ts";
import { log, summary } from "../log.ts";
import { ChunkRecord, type QaRecord } from "../records.ts";
import { cacheDirUnder } from "../providers/client.ts";
import { createProgress } from "../streams/progress.ts";
import { runStep, type StepOutput } from "../streams/run-step.ts";
import { readRecords } from "../sinks/read-records.ts";
import { emptyGenerateQaStats, promptFor, qaGenerator, QA_REPLY_SCHEMA } from "../transforms/generate-qa.ts";
import { styleSettings } from "../transforms/qa-styles.ts";
import { openStepClient, planFromInput, recordsInFlight } from "../transforms/generate-qa-client.ts";
import { checkFailures, pairWithPrevious, previousRecords, retryFailedStage } from "../transforms/retry-failed.ts";
import type { Stage } from "../streams/as-transform.ts";
import { PipelineError } from "../errors.ts";
import { batchedClient, forEachAfter } from "../providers/batch/client.ts";
import { ignoreDeferred } from "../providers/batch/run.ts";
import { withRecordId } from "../providers/batch/replay.ts";
import { requireBatchProvider } from "../providers/batch/vendor.ts";

export interface GenerateQaRun {
  /** The chunks file; undefined reads chunk NDJSON from stdin. */
  input?: string;
  /** training_data.json (a JSON array); undefined writes NDJSON to stdout. */
  output?: string;
  resume: boolean;
  /** Print the planned calls, tokens and cost instead of running. */
  dryRun?: boolean;
  /** Ask again only for the chunks whose records in the existing output failed. */
  retryFailed?: boolean;
  /** Fail the step when more chunks than this fail (default: only when every one failed). */
  maxFailures?: number;
}

export async function runGenerateQa(settings: Settings, o: GenerateQaRun): Promise<void> {
  const output: StepOutput = o.output ? { path: o.output, format: "json-array" } : { stream: process.stdout, format: "ndjson" };
  const readChunks = () => readRecords({ path: o.input, schema: ChunkRecord, skipBadLines: settings.skipBadLines, onBadLine: (l, why) => log.warn(`chunk input line ${l} skipped: ${why}`) });
  if (o.dryRun) {
    // About 60 reply tokens per pair asked for, plus the JSON around them.
    return planFromInput(settings, "generate-qa", readChunks(), (c) => promptFor(c, settings.questionsPerChunk, settings.qaStyle), 20 + 60 * settings.questionsPerChunk, QA_REPLY_SCHEMA.schema);
  }
  if (o.retryFailed && !o.output) throw new PipelineError("E_USAGE", "--retry-failed rewrites an output file: name its folder with -o", { field: "--retry-failed" });
  if (settings.batch) {
    if (!o.output) throw new PipelineError("E_USAGE", "--batch keeps its batch ledger beside the output file: name its folder with -o", { field: "--batch" });
    if (!o.input) throw new PipelineError("E_USAGE", "--batch reads the chunks more than once (to collect the requests, then to write the records): name their folder with -i instead of piping them", { field: "--batch" });
    if (o.retryFailed) throw new PipelineError("E_USAGE", "--retry-failed is not available with --batch yet: run it without --batch (it asks only the failed chunks again)", { field: "--batch" });
  }
  const opened = await openStepClient(settings, "generate-qa", cacheDirUnder(settings.qaDir));
  let client = opened;
  const stats = emptyGenerateQaStats();
  const genOptions = { questionsPerChunk: settings.questionsPerChunk, temperature: settings.temperature, styles: settings.qaStyle };
  const stepSettings: Record<string, unknown> = {
    input: o.input ? resolve(o.input) : "<stdin>",
    provider: client?.provider ?? "extractive",
    model: client?.model ?? "extractive",
    questionsPerChunk: settings.questionsPerChunk,
    temperature: client ? settings.temperature : undefined,
    ...styleSettings(settings.qaStyle),
  };
  if (settings.batch) {
    // Every chunk's requests go out in batches first; the step then runs as usual on the replies.
    client = await Promise.resolve().then(() => requireBatchProvider(opened?.provider ?? "extractive")).then(() => batchedClient(settings, opened!, {
      step: "generate-qa", target: resolve(o.output!), resume: o.resume, stepSettings, outputTokensPerCall: 20 + 60 * settings.questionsPerChunk,
      collect: async (c, skip) => {
        const gen = qaGenerator({ client: c, ...genOptions }, emptyGenerateQaStats());
        const signal = new AbortController().signal;
        await forEachAfter(readChunks(), skip, (chunk, index) => withRecordId(chunk.id, async () => { await gen(chunk, { index, signal }); }).catch(ignoreDeferred));
      },
    })).catch(async (e) => { await opened?.close(); throw e; });
  }
  const generator = qaGenerator({ client, ...genOptions }, stats);
  try {
    let input: AsyncIterable<unknown> = readChunks();
    let stage: Stage<never, QaRecord> = generator as Stage<never, QaRecord>;
    if (o.retryFailed && o.output) {
      // Chunks whose pairs failed are asked again; the others keep their records as they are.
      const previous = await previousRecords<QaRecord>("generate-qa", resolve(o.output), stepSettings);
      input = pairWithPrevious(readChunks(), previous, (p, c: ChunkRecord) => p.chunkId === c.id);
      stage = retryFailedStage(generator, (p: QaRecord) => !!p.error) as Stage<never, QaRecord>;
      stepSettings.retryFailed = true;
    }
    const r = await runStep<never, QaRecord>({
      name: "generate-qa",
      input: input as AsyncIterable<never>,
      stage,
      output,
      resume: o.resume,
      commitEveryMs: settings.commitIntervalMs,
      concurrency: recordsInFlight(client),
      progress: createProgress({ label: "generate-qa", unit: "chunks" }),
      settings: stepSettings,
    });
    const resumed = r.resumedInputs ? ` (${r.resumedInputs} done before --resume)` : "";
    summary("generate-qa", {
      chunks: r.inputs, resumedChunks: r.resumedInputs ?? 0, records: r.records, output: r.path ?? null, pairs: stats.pairs,
      shortChunks: stats.shortChunks, emptyChunks: stats.emptyChunks, failedChunks: stats.failedChunks, usage: stats.usage,
    });
    log.info(
      `generate-qa: ${r.inputs} chunk(s)${resumed} → ${r.records} record(s)${r.path ? ` in ${r.path}` : ""}; ` +
        `this run: ${stats.pairs} pair(s), ${stats.shortChunks} chunk(s) gave fewer than ${settings.questionsPerChunk} ` +
        `(${stats.emptyChunks} none), ${stats.failedChunks} failed (recorded with error)` +
        (client ? `; tokens ${stats.usage.inputTokens} in, ${stats.usage.outputTokens} out` : ""),
    );
    for (const s of stats.shortfalls.slice(0, 50)) log.debug(`  chunk ${s.chunkId}: ${s.made} of ${s.asked} pair(s)`);
    if (client) log.info(client.formatUsage());
    checkFailures("generate-qa", stats.failedChunks, stats.chunks, o.maxFailures, "chunk(s) asked this run");
  } finally {
    await client?.close();
    if (client !== opened) await opened?.close();
  }
}
