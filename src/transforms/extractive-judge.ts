// The offline judge: deterministic 0–10 scores from grounding, answer support, question form, answer
// length, and whether the answer fits the question and is whole (checks/answer-fit.ts). Used when no LLM
// judge is configured (provider `extractive`).
import type { QaRecord, Scores } from "../records.ts";
import { runChecks, type PairChecks } from "./checks/run-checks.ts";
import { contentWords, stem } from "./checks/normalize.ts";

const QUESTION_START = /^(?:what|how|why|when|where|which|who|whom|whose|is|are|was|were|does|do|did|can|could|should|would|will|has|have|in what|for what|according to)\b/i;
const VAGUE = /\b(?:it|this|that|these|those|the text|the passage|the document|the above)\s*\??$/i;

function round1(x: number): number {
  return Math.round(Math.min(10, Math.max(0, x)) * 10) / 10;
}

function share(of: string[], within: Set<string>): number {
  if (!of.length) return 0;
  let hit = 0;
  for (const w of of) if (within.has(w)) hit++;
  return hit / of.length;
}

export interface JudgeInput { question: string; answer: string; evidence: string; context?: string }

/** Below this answer fit the pair is taken for an answer to some other question (bench/judge-mismatch.ts). */
export const FIT_OK = 0.8;

/** Weights of the parts in `overall`: being right and on topic matter most. */
export const HEURISTIC_WEIGHTS = { accuracy: 0.35, relevance: 0.25, clarity: 0.2, completeness: 0.2 } as const;

/** `followUp`: a later turn of a conversation, which may lean on the turns before it ("And why?", "What about it?"). */
export function heuristicScores(pair: JudgeInput, checks: PairChecks, opts: { followUp?: boolean } = {}): Scores {
  const q = opts.followUp ? pair.question.trim().replace(/^(?:and|so|then|also|but)\s+/i, "") : pair.question.trim();
  const a = pair.answer.trim();

  // Accuracy: the quote is really in the source, and the answer's words come from it.
  const accuracy = (checks.grounded ? 5 : 1) + 5 * checks.support;

  // Relevance: the question is about this chunk, and the answer speaks to the question's terms.
  const qWords = contentWords(q).map(stem);
  const inContext = share(qWords, new Set(contentWords(pair.context ?? "").map(stem)));
  const inAnswer = share(qWords, new Set(contentWords(a).map(stem)));
  const fit = checks.answerFit ?? 1;
  const relevance = qWords.length ? 2 + 3 * inContext + 2 * inAnswer + 3 * fit : 2 + 3 * fit;

  // Clarity: reads as one self-contained question.
  const qWordCount = q.split(/\s+/).filter(Boolean).length;
  let clarity = 0;
  if (QUESTION_START.test(q)) clarity += 3;
  if (q.endsWith("?") && q.indexOf("?") === q.length - 1) clarity += 3;
  if (qWordCount >= 3 && qWordCount <= 30) clarity += 2;
  if (opts.followUp || !VAGUE.test(q)) clarity += 2;
  if (checks.languageMatches === false) clarity -= 3;

  // Completeness: a real answer — neither a fragment nor an essay.
  const aWords = a.split(/\s+/).filter(Boolean).length;
  let completeness = aWords < 3 ? 2 : aWords < 8 ? 6 : aWords <= 150 ? 10 : aWords <= 400 ? 7 : 4;
  if (aWords >= 3 && !/[.!?)"'\]`]$|\n\s*(?:[-*+]|\d+[.)])\s/.test(a) && !/[.!?]$/.test(a)) completeness -= 1;
  if (checks.length !== "ok") completeness = Math.min(completeness, 4);
  if (checks.truncated) completeness = Math.min(completeness, 3);

  const s = { accuracy: round1(accuracy), relevance: round1(relevance), clarity: round1(clarity), completeness: round1(completeness) };
  const weighted =
    s.accuracy * HEURISTIC_WEIGHTS.accuracy + s.relevance * HEURISTIC_WEIGHTS.relevance +
    s.clarity * HEURISTIC_WEIGHTS.clarity + s.completeness * HEURISTIC_WEIGHTS.completeness;
  // A grounded, fluent answer to another question must not pass on its other merits: a poor fit or a cut-off
  // answer scales the whole score down rather than one part of it.
  const fitFactor = fit >= FIT_OK ? 1 : 0.3 + 0.7 * (fit / FIT_OK) ** 2;
  const overall = round1(weighted * fitFactor * (checks.truncated ? 0.8 : 1));
  return { ...s, overall };
}

/**
 * The checks and offline scores of a record. A conversation is checked turn by turn (each answer against its
 * own quote and question; later turns as follow-ups) and is as good as its weakest turn: its scores are that
 * turn's, its checks hold the worst of each, and `checks.turns` keeps every turn's.
 */
export function checkAndScore(qa: QaRecord, duplicateOf: string | null): { checks: PairChecks; heuristic: Scores } {
  if (!qa.turns || qa.turns.length < 2) {
    const checks = runChecks(qa, duplicateOf);
    return { checks, heuristic: heuristicScores(qa, checks) };
  }
  const per = qa.turns.map((t, i) => {
    const pair = { question: t.question, answer: t.answer, evidence: t.evidence, context: qa.context };
    const checks = runChecks(pair, null);
    return { checks, scores: heuristicScores(pair, checks, { followUp: i > 0 }) };
  });
  const worst = per.reduce((a, b) => (b.scores.overall < a.scores.overall ? b : a));
  const first = per[0]!.checks;
  const checks: PairChecks = {
    ...first,
    duplicateOf,
    grounded: per.every((p) => p.checks.grounded),
    supported: per.every((p) => p.checks.supported !== false),
    support: Math.min(...per.map((p) => p.checks.support)),
    length: per.find((p) => p.checks.length !== "ok")?.checks.length ?? "ok",
    answerFit: Math.min(...per.map((p) => p.checks.answerFit ?? 1)),
    truncated: per.some((p) => p.checks.truncated),
    turns: per.map((p) => ({ grounded: p.checks.grounded, supported: p.checks.supported, answerFit: p.checks.answerFit, truncated: p.checks.truncated })),
  };
  return { checks, heuristic: worst.scores };
}
