// Step 3, validate: every Q&A pair scored (none dropped) by an LLM judge that sees the source chunk,
// or by the heuristic judge offline; heuristic checks always; a verdict from the two thresholds.
import { z } from "zod";
import { withRecordSignal } from "./checks/signal.ts";
import type { JsonSchemaSpec, LlmClient } from "../providers/types.ts";
import { jsonSchemaSpec } from "../providers/json-schema.ts";
import { stableId, type QaRecord, type Scores, type ScoredRecord, type Usage, type Verdict } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { NearDuplicateIndex } from "./checks/near-duplicate.ts";
import type { PairChecks } from "./checks/run-checks.ts";
import { checkAndScore } from "./extractive-judge.ts";
import { EXTRACTIVE_MODEL } from "./extractive.ts";

export interface ValidateOptions {
  /** null or a client whose provider is "extractive" → the heuristic judge. */
  judge: LlmClient | null;
  threshold: number;
  filterThreshold: number;
  temperature?: number;
}

/** PASS at or above the threshold, NEEDS_REVIEW at or above the filter threshold, FAIL below. */
export function verdictFor(overall: number, threshold: number, filterThreshold: number): Verdict {
  if (overall >= threshold) return "PASS";
  if (overall >= filterThreshold) return "NEEDS_REVIEW";
  return "FAIL";
}

const score = z.number().min(0).max(10);
const JudgeScores = z.object({ accuracy: score, relevance: score, clarity: score, completeness: score, overall: score, reason: z.string() });
/** What the judge is asked for: every score in 0–10 and a reason. */
export const JUDGE_REPLY_SCHEMA: JsonSchemaSpec = jsonSchemaSpec("qa_scores", JudgeScores.strict());
/** What is accepted back: the reason may be missing; a score out of 0–10 is refused. */
export const JudgeReply = JudgeScores.extend({ reason: z.string().optional() });

/** What the judge reads of a record: the pair, every turn of a conversation, the reasoning before an answer. */
function pairText(qa: QaRecord): string {
  if (qa.turns && qa.turns.length > 1) {
    return "A conversation: score it as a whole; a follow-up question may rely on the turns before it, and every answer must be right.\n" +
      qa.turns.map((t, i) => `Turn ${i + 1}\nQuestion: ${t.question}\nAnswer: ${t.answer}\nEvidence quoted: ${t.evidence || "(none)"}`).join("\n\n");
  }
  const reasoning = qa.reasoning ? `Reasoning (shown before the answer; it must be right and lead to the answer): ${qa.reasoning}\n` : "";
  return `Question: ${qa.question}\n${reasoning}Answer: ${qa.answer}\nEvidence quoted: ${qa.evidence || "(none)"}`;
}

export function judgePrompt(qa: QaRecord): Array<{ role: "system" | "user"; content: string }> {
  return [
    { role: "system", content: "You are a strict reviewer of question-answer pairs used to fine-tune a language model. You reply with JSON only." },
    {
      role: "user",
      content:
        "Score the question-answer pair against the source passage, each from 0 to 10:\n" +
        "- accuracy: the answer is correct and fully supported by the passage (no outside or invented facts)\n" +
        "- relevance: the question is about what the passage says and the answer addresses it\n" +
        "- clarity: the question is clear and self-contained (understandable without the passage)\n" +
        "- completeness: the answer is complete without being padded\n" +
        "- overall: your overall judgement of the pair as training data\n" +
        'Reply as JSON: {"accuracy":n,"relevance":n,"clarity":n,"completeness":n,"overall":n,"reason":"one sentence"}\n\n' +
        `Passage (from ${qa.source}):\n"""\n${qa.context ?? ""}\n"""\n\n` +
        pairText(qa),
    },
  ];
}

/** A QA record on its way to the judge, with its near-duplicate verdict already decided in dataset order. */
export interface ToScore { qa: QaRecord; duplicateOf: string | null }

/**
 * Decide near-duplicates in input order, before any concurrency: the index sees every record, including
 * those a resumed run skips, so a resumed run marks exactly what an uninterrupted one would.
 */
export async function* markDuplicates(input: AsyncIterable<QaRecord> | Iterable<QaRecord>, index = new NearDuplicateIndex()): AsyncGenerator<ToScore> {
  for await (const qa of input) {
    const duplicateOf = qa.error || !qa.question ? null : index.check(qa.id, qa.question);
    yield { qa, duplicateOf };
  }
}

const ZERO: Scores = { accuracy: 0, relevance: 0, clarity: 0, completeness: 0, overall: 0 };
const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };

function scored(qa: QaRecord, scores: Scores, verdict: Verdict, checks: PairChecks, judge: ScoredRecord["judge"]): ScoredRecord {
  const { context: _context, ...rest } = qa; // the chunk text stays in training_data.json; the report holds the verdicts
  return { ...rest, type: "scored", id: stableId("scored", qa.id), qaId: qa.id, scores, verdict, checks, judge };
}

/** The stage function: one pair (with its duplicate mark) → one scored record. Never drops a pair. */
export function qaScorer(opts: ValidateOptions): Stage<ToScore, ScoredRecord> {
  const client = opts.judge && opts.judge.provider !== "extractive" ? opts.judge : null;
  const verdict = (s: Scores) => verdictFor(s.overall, opts.threshold, opts.filterThreshold);

  return async ({ qa, duplicateOf }, ctx) => {
    if (qa.error) {
      // Generation failed for this chunk: recorded as FAIL so the count is honest; format excludes it.
      const checks: PairChecks = { grounded: false, supported: false, support: 0, duplicateOf: null, length: "too_short" };
      return scored(qa, ZERO, "FAIL", checks, { provider: qa.provider, model: qa.model, usage: NO_USAGE, error: `generation failed: ${qa.error}` });
    }
    const { checks, heuristic } = checkAndScore(qa, duplicateOf);
    if (!client) return scored(qa, heuristic, verdict(heuristic), checks, { provider: "extractive", model: EXTRACTIVE_MODEL, usage: NO_USAGE });

    const outcome = await withRecordSignal(ctx.signal, (signal) => client.generateJson(
      { messages: judgePrompt(qa), schema: JUDGE_REPLY_SCHEMA, temperature: opts.temperature ?? 0, signal },
      JudgeReply,
    ));
    if (!outcome.ok) {
      // The judge's reply stayed unusable after the repair attempt: keep the pair, scored by the heuristics, and say so.
      return scored(qa, heuristic, verdict(heuristic), checks, {
        provider: client.provider, model: outcome.result?.model ?? client.model, usage: outcome.result?.usage ?? NO_USAGE, error: outcome.error,
      });
    }
    const { reason: _reason, ...scores } = outcome.value;
    return scored(qa, scores, verdict(scores), checks, { provider: client.provider, model: outcome.result.model || client.model, usage: outcome.result.usage });
  };
}

/** The stage as a Transform for library users (duplicates are marked inside, in stream order). */
export function validate(opts: ValidateOptions & { concurrency?: number }) {
  const index = new NearDuplicateIndex();
  const score = qaScorer(opts);
  const stage: Stage<QaRecord, ScoredRecord> = (qa, ctx) => score({ qa, duplicateOf: qa.error || !qa.question ? null : index.check(qa.id, qa.question) }, ctx);
  return asTransform(stage, { name: "validate", concurrency: opts.concurrency ?? 4 });
}
