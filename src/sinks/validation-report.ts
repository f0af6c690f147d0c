// validation_report.json (settings, summary, distribution, every scored pair) and the filtered pairs,
// assembled from the scored NDJSON by streaming it twice: once to sum, once to copy. Nothing is held.
import { ScoredRecord } from "../records.ts";
import { framing } from "../streams/framing.ts";
import { SummaryBuilder, type ValidationSummary } from "../transforms/validate-summary.ts";
import { readRecords } from "./read-records.ts";
import { fileWriter, type TextWriter } from "./write-text.ts";

export interface ReportOptions {
  /** The scored records, NDJSON, in order. */
  scoredPath: string;
  reportPath: string;
  /** Also write the pairs scoring ≥ filterThreshold (and not failed in generation) here, as a JSON array. */
  filteredPath?: string;
  filterThreshold: number;
  settings: Record<string, unknown>;
  /** Anything else to store in the report (usage and cost). */
  extra?: Record<string, unknown>;
}

export function distributionObject(s: ValidationSummary): Record<string, number> {
  return Object.fromEntries(s.distribution.map((n, i) => [`${i}-${i + 1}`, n]));
}

/** The report's summary: the seed's counts first, then our own. */
export function summaryObject(s: ValidationSummary): Record<string, unknown> {
  const { total, verdicts, distribution: _d, ...rest } = s;
  return {
    total_pairs: total,
    pass: verdicts.PASS,
    needs_review: verdicts.NEEDS_REVIEW,
    fail: verdicts.FAIL,
    pass_rate: total ? Math.round((verdicts.PASS / total) * 1000) / 1000 : 0,
    ...rest,
  };
}

export async function summarizeScored(path: string): Promise<ValidationSummary> {
  const b = new SummaryBuilder();
  for await (const r of readRecords({ path, schema: ScoredRecord })) b.add(r);
  return b.result();
}

export async function writeValidationReport(opts: ReportOptions): Promise<{ summary: ValidationSummary; filtered: number }> {
  const summary = await summarizeScored(opts.scoredPath);
  const report = await fileWriter(opts.reportPath);
  let filtered: TextWriter | undefined;
  const frame = framing("json-array", 2);
  let kept = 0;
  try {
    filtered = opts.filteredPath ? await fileWriter(opts.filteredPath) : undefined;
    const head = {
      settings: opts.settings,
      summary: summaryObject(summary),
      distribution: distributionObject(summary),
      ...(opts.extra ?? {}),
    };
    const open = JSON.stringify(head, null, 2);
    await report.write(`${open.slice(0, -2)},\n  "pairs": [`);
    await filtered?.write(frame.header);
    let n = 0;
    for await (const r of readRecords({ path: opts.scoredPath, schema: ScoredRecord })) {
      await report.write(`${n++ ? "," : ""}\n    ${JSON.stringify(r)}`);
      if (filtered && !r.error && r.scores.overall >= opts.filterThreshold) await filtered.write(frame.record(r, kept++));
    }
    await report.write(`${n ? "\n  " : ""}]\n}\n`);
    await filtered?.write(frame.footer(kept));
    await report.close();
    await filtered?.close();
  } catch (e) {
    await report.abort();
    await filtered?.abort();
    throw e;
  }
  return { summary, filtered: kept };
}
