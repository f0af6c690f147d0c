// Test helper: scored pairs of every kind (verdicts, failed checks, several documents, conversations, a
// hostile "<script>" pair), and a validation report written by the real report writer.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { qaId, type ScoredRecord } from "../../src/records.ts";
import { writeValidationReport } from "../../src/sinks/validation-report.ts";

const CONTEXT = "The validate step scores every pair and never drops one. Chunk overlap is the number of characters two chunks share.";

const questionOf = (k: number, n: string) => (k === 5 ? `<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> question ${n}` : `What does step ${n} do?`);
const answerOf = (k: number, n: string) => (k % 11 === 0 ? "Chunk overlap is the number of characters two chunks share." : `Step ${n} scores every pair and never drops one.`);
const idOf = (k: number) => qaId(`chunk_${k % 40}`, questionOf(k, String(k)), answerOf(k, String(k)));

/** Pair k of a generated set: verdict by k % 3, checks and documents by other residues; pair 7 is multi-turn. */
export function scoredPair(k: number): ScoredRecord {
  return pairWith(k, String(k), idOf(k));
}

function pairWith(k: number, n: string, id: string): ScoredRecord {
  const question = questionOf(k, n);
  const answer = answerOf(k, n);
  const overall = [7.5, 9, 3][k % 3]!;
  const r: ScoredRecord = {
    type: "scored", id: `qa_${n}`, qaId: id, docId: `doc_${k % 4}`, chunkId: `chunk_${k % 40}`, source: `doc-${k % 4}.md`,
    question, answer, evidence: k % 13 === 0 ? "a quote that is not there" : "scores every pair and never drops one", context: CONTEXT,
    provider: "extractive", model: "extractive", usage: { inputTokens: 0, outputTokens: 0 },
    scores: { accuracy: overall, relevance: overall, clarity: overall, completeness: overall, overall },
    verdict: overall >= 8 ? "PASS" : overall >= 7 ? "NEEDS_REVIEW" : "FAIL",
    checks: { grounded: k % 13 !== 0, supported: true, duplicateOf: k % 17 === 0 && k > 0 ? "qa_0" : null, length: "ok" },
  };
  if (k === 7) {
    r.style = "multi-turn";
    r.turns = [{ question, answer, evidence: r.evidence }, { question: "And after that?", answer: "Chunk overlap is the number of characters two chunks share.", evidence: "Chunk overlap is the number" }];
  }
  return r;
}

/** JSON.stringify(scoredPair(k)), from a cached text per kind of pair with the number and id put in (fast). */
const templates = new Map<string, string>();
function pairJson(k: number): string {
  if (k === 5 || k === 7) return JSON.stringify(scoredPair(k));
  const key = `${k % 3}:${k % 40}:${k % 11 === 0}:${k % 13 === 0}:${k % 17 === 0 && k > 0}`;
  let t = templates.get(key);
  if (!t) { t = JSON.stringify(pairWith(k, "\u0001", "\u0002")); templates.set(key, t); }
  return t.replaceAll("\\u0001", String(k)).replace("\\u0002", idOf(k));
}

/** Writes `n` pairs as scored NDJSON and as a validation report beside it; returns the report's path. */
export async function writeReport(dir: string, n: number): Promise<string> {
  const scoredPath = join(dir, "validation_report.scored.ndjson");
  const lines: string[] = [];
  for (let k = 0; k < n; k++) lines.push(JSON.stringify(scoredPair(k)));
  writeFileSync(scoredPath, lines.join("\n") + "\n");
  const reportPath = join(dir, "validation_report.json");
  await writeValidationReport({ scoredPath, reportPath, filterThreshold: 7, settings: { threshold: 8, filterThreshold: 7 } });
  return reportPath;
}

/**
 * The same file as writeReport, laid out byte for byte as validate's report writer lays it out, but written in
 * one go (the real writer validates every pair twice: 18 s for 100,000 pairs, too slow for a unit test).
 */
export function writeReportFast(dir: string, n: number): string {
  const head = JSON.stringify({ settings: { threshold: 8, filterThreshold: 7 }, summary: { total_pairs: n } }, null, 2);
  const parts: string[] = [`${head.slice(0, -2)},\n  "pairs": [`];
  for (let k = 0; k < n; k++) parts.push(`${k ? "," : ""}\n    ${pairJson(k)}`);
  parts.push(`${n ? "\n  " : ""}]\n}\n`);
  const reportPath = join(dir, "validation_report.json");
  writeFileSync(reportPath, parts.join(""));
  return reportPath;
}
