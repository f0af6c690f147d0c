// The format step from input to files (or stdout): training file, validation split, provenance and dataset card.
import { dirname, resolve } from "node:path";
import { writeFile } from "node:fs/promises";
import { PipelineError } from "../errors.ts";
import { log, summary } from "../log.ts";
import { ScoredRecord, type ExampleRecord } from "../records.ts";
import { datasetCard } from "../sinks/dataset-card.ts";
import { readRecords } from "../sinks/read-records.ts";
import { fileWriter, streamWriter, type TextWriter } from "../sinks/write-text.ts";
import { emptyFormatStats, exampleFormatter, type FormatOptions, type FormatStats } from "../transforms/format.ts";
import { decisionsPathFor, siblingPath } from "../layout.ts";
import { existsSync } from "node:fs";
import { readReviewStates } from "../sinks/review-decisions.ts";
import { checkOutputFile } from "../streams/path-checks.ts";
import { cardPathIn, looksLikeProvenance, siblingPathIn } from "../sinks/own-files.ts";

export interface FormatRun {
  input?: string; output?: string; toStdout: boolean; records?: boolean; options: FormatOptions; skipBadLines?: boolean;
  /** The validation file's name when a trainer wants its own (mlx: valid.jsonl); default <output>.valid.jsonl. */
  validOutput?: string;
  /**
   * The review decisions to apply (pipeline review): a file, or false for none. Default: review_decisions.ndjson
   * beside the input file, when there is one.
   */
  decisions?: string | false;
}

/** The decisions file a format run applies, if any (see FormatRun.decisions). */
export function decisionsFileFor(run: Pick<FormatRun, "input" | "decisions">): string | undefined {
  if (run.decisions === false) return undefined;
  if (run.decisions !== undefined) {
    if (!existsSync(run.decisions)) throw new PipelineError("E_INPUT", "review decisions file not found; check --decisions", { file: run.decisions });
    return run.decisions;
  }
  if (!run.input || run.input === "-") return undefined;
  const beside = decisionsPathFor(run.input);
  return existsSync(beside) ? beside : undefined;
}

/** Runs format from input to files (or stdout); returns the stats. Used by `format` and `pipeline`. */
export async function runFormat(run: FormatRun, source?: AsyncIterable<ScoredRecord>) {
  const stats = emptyFormatStats();
  const decisionsFile = run.options.decisions ? undefined : decisionsFileFor(run);
  if (decisionsFile) {
    run = { ...run, options: { ...run.options, decisions: readReviewStates(decisionsFile) } };
    log.info(`format: applying the review decisions for ${run.options.decisions!.size} pair(s) in ${decisionsFile}`);
  }
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
      summary("format", formatJson(stats, {}));
      return { stats, decisionsFile };
    }
    const trainPath = resolve(run.output!);
    // Siblings we name ourselves never replace a file we did not write: a foreign one keeps its place and ours
    // goes under a docs2model name (said in a log line).
    const placed = (where: { path: string; foreign?: string }, what: string): string => {
      if (where.foreign) log.warn(`${where.foreign} is not a file we wrote, so it is kept; the ${what} goes to ${where.path}`);
      return where.path;
    };
    const validPath = (run.options.validFraction ?? 0) > 0
      ? placed(run.validOutput
        ? siblingPathIn(resolve(run.validOutput), siblingPath(resolve(run.validOutput), "docs2model"))
        : siblingPathIn(siblingPath(trainPath, "valid"), siblingPath(trainPath, "docs2model.valid")), "validation split") : undefined;
    const provenancePath = placed(siblingPathIn(siblingPath(trainPath, "provenance"), siblingPath(trainPath, "docs2model.provenance"), looksLikeProvenance), "provenance file");
    const cardPath = placed(cardPathIn(dirname(trainPath)), "dataset card");
    for (const p of [trainPath, validPath, provenancePath, cardPath]) if (p) checkOutputFile(p);
    const train = await fileWriter(trainPath); writers.push(train);
    const valid = validPath ? await fileWriter(validPath) : undefined; if (valid) writers.push(valid);
    const provenance = await fileWriter(provenancePath); writers.push(provenance);
    const lines = { train: 0, valid: 0 };
    for await (const r of input) {
      const ex = (await stage(r, { index: 0, signal: new AbortController().signal })) as ExampleRecord | null;
      if (!ex) continue;
      await (ex.split === "valid" ? valid! : train).write(JSON.stringify(ex.data) + "\n");
      const line = ++lines[ex.split];
      await provenance.write(JSON.stringify({ split: ex.split, line, id: ex.id, qaId: ex.qaId, docId: ex.docId, chunkId: ex.chunkId, source: ex.source, start: ex.start, end: ex.end, ...(ex.review ? { review: ex.review } : {}) }) + "\n");
    }
    for (const w of writers) await w.close();
    await writeFile(cardPath, datasetCard({ trainFile: trainPath, validFile: validPath, provenanceFile: provenancePath, input: run.input ?? "<stdin>", options: run.options, stats }));
    summary("format", formatJson(stats, { train: trainPath, valid: validPath ?? null, provenance: provenancePath, card: cardPath }));
    return { stats, trainPath, validPath, provenancePath, cardPath, decisionsFile };
  } catch (e) {
    for (const w of writers) await w.abort().catch(() => {});
    throw e;
  }
}

/** The one-line account of a format run: kept per split, dropped per reason. */
export function formatSummary(result: Awaited<ReturnType<typeof runFormat>>, options: FormatOptions): string {
  const s = result.stats;
  const d = s.dropped;
  return `format: ${s.seen} pair(s) → ${s.kept.train} train${options.validFraction ? ` + ${s.kept.valid} valid` : ""} example(s) (${options.template})` +
    `${"trainPath" in result && result.trainPath ? ` in ${result.trainPath}` : ""}; dropped ${d.below_threshold} below ${options.threshold}, ` +
    `${d.duplicate} near-duplicate, ${d.ungrounded} ungrounded, ${d.generation_failed} failed generation` +
    (result.decisionsFile ? `; applied ${s.review.applied} review decision(s) from ${result.decisionsFile}: ${s.review.accepted} accepted, ${d.rejected} rejected, ${s.review.edited} edited` : "");
}

/** The --json form of a format run's stats (sources as an object). */
function formatJson(s: FormatStats, files: Record<string, string | null>): Record<string, unknown> {
  return { seen: s.seen, kept: s.kept, dropped: s.dropped, histogram: s.histogram, sources: Object.fromEntries(s.sources), review: s.review, files };
}
