// The validation summary: counts by verdict, the score histogram, and the seed's exact text block.
import type { ScoredRecord, Verdict } from "../records.ts";

export interface ValidationSummary {
  total: number;
  verdicts: Record<Verdict, number>;
  /** Ten buckets of `overall`: [0,1), [1,2) … [9,10]; a score of exactly 10 counts in 9-10. */
  distribution: number[];
  averageScores: { accuracy: number; relevance: number; clarity: number; completeness: number; overall: number };
  groundingFailures: number;
  unsupportedAnswers: number;
  duplicates: number;
  lengthProblems: number;
  languageMismatches: number;
  generationFailures: number;
  judgeFailures: number;
  usage: { inputTokens: number; outputTokens: number };
}

export function bucketOf(overall: number): number {
  return Math.min(9, Math.max(0, Math.floor(overall)));
}

export class SummaryBuilder {
  private s: ValidationSummary = {
    total: 0,
    verdicts: { PASS: 0, NEEDS_REVIEW: 0, FAIL: 0 },
    distribution: new Array(10).fill(0),
    averageScores: { accuracy: 0, relevance: 0, clarity: 0, completeness: 0, overall: 0 },
    groundingFailures: 0, unsupportedAnswers: 0, duplicates: 0, lengthProblems: 0, languageMismatches: 0,
    generationFailures: 0, judgeFailures: 0,
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  private sums = { accuracy: 0, relevance: 0, clarity: 0, completeness: 0, overall: 0 };

  add(r: ScoredRecord): void {
    const s = this.s;
    s.total++;
    s.verdicts[r.verdict]++;
    s.distribution[bucketOf(r.scores.overall)]!++;
    for (const k of Object.keys(this.sums) as Array<keyof typeof this.sums>) this.sums[k] += r.scores[k];
    if (r.error) { s.generationFailures++; return; }
    if (!r.checks.grounded) s.groundingFailures++;
    if (r.checks.supported === false) s.unsupportedAnswers++;
    if (r.checks.duplicateOf) s.duplicates++;
    if (r.checks.length !== "ok") s.lengthProblems++;
    if (r.checks.languageMatches === false) s.languageMismatches++;
    if (r.judge?.error) s.judgeFailures++;
    s.usage.inputTokens += (r.judge?.usage.inputTokens ?? 0);
    s.usage.outputTokens += (r.judge?.usage.outputTokens ?? 0);
  }

  result(): ValidationSummary {
    const n = this.s.total || 1;
    const avg = (x: number) => Math.round((x / n) * 100) / 100;
    return {
      ...this.s,
      distribution: [...this.s.distribution],
      averageScores: {
        accuracy: avg(this.sums.accuracy), relevance: avg(this.sums.relevance), clarity: avg(this.sums.clarity),
        completeness: avg(this.sums.completeness), overall: avg(this.sums.overall),
      },
    };
  }
}

function pct(n: number, total: number): string {
  return `${total ? ((n / total) * 100).toFixed(1) : "0.0"}%`;
}

/** The seed's block, byte for byte (no trailing extras): keep it so scripts that parse it keep working. */
export function formatSummaryBlock(s: ValidationSummary): string {
  const rule = "=".repeat(50);
  const lines = [
    rule,
    "VALIDATION SUMMARY",
    rule,
    `Total Q&A pairs: ${s.total}`,
    `PASS: ${s.verdicts.PASS} (${pct(s.verdicts.PASS, s.total)})`,
    `NEEDS_REVIEW: ${s.verdicts.NEEDS_REVIEW} (${pct(s.verdicts.NEEDS_REVIEW, s.total)})`,
    `FAIL: ${s.verdicts.FAIL} (${pct(s.verdicts.FAIL, s.total)})`,
    "",
    "SCORE DISTRIBUTION:",
    ...s.distribution.map((n, i) => `Overall: ${i}-${i + 1}: ${n} (${pct(n, s.total)})`),
  ];
  return lines.join("\n") + "\n";
}

/** Our own lines, printed after the seed's block. */
export function formatSummaryExtras(s: ValidationSummary, cost?: string): string {
  const lines = [
    "",
    `Grounding failures (evidence not found in chunk): ${s.groundingFailures}`,
    `Answers not supported by chunk: ${s.unsupportedAnswers}`,
    `Near-duplicate questions: ${s.duplicates}`,
    `Length out of bounds: ${s.lengthProblems}`,
    `Language mismatches: ${s.languageMismatches}`,
    `Generation failures (recorded, excluded downstream): ${s.generationFailures}`,
    `Judge failures (heuristic scores used): ${s.judgeFailures}`,
    `Judge tokens: ${s.usage.inputTokens} in, ${s.usage.outputTokens} out${cost ? `, cost ${cost}` : ""}`,
  ];
  return lines.join("\n") + "\n";
}
