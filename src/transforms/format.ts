// Step 4, format: scored pairs → training examples in the chosen template, filtered by score,
// near-duplicates and grounding failures dropped (unless kept), split train/valid by document.
import { createHash } from "node:crypto";
import { stableId, type ExampleRecord, type ScoredRecord } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { answerWithReasoning, render, type ReasoningFormat, type TemplateName, type Turn } from "./format-templates.ts";
import { bucketOf } from "./validate-summary.ts";
import { withEdits, type ReviewStates } from "./review-decisions.ts";

export interface FormatOptions {
  template: TemplateName;
  /** Keep pairs whose overall score is ≥ this; 0 keeps all (failed generations are always dropped). */
  threshold: number;
  /** Keep near-duplicate questions and pairs whose evidence was not found in the chunk. */
  keepDuplicates?: boolean;
  /** Share of documents (0–1) whose examples go to the validation split. */
  validFraction?: number;
  system?: string;
  /** How a reasoning record's reasoning is written before its answer (default `think`). */
  reasoningFormat?: ReasoningFormat;
  /**
   * A person's review decisions (pipeline review): accepted pairs are kept whatever their score or checks,
   * rejected ones dropped, edits replace the text (and are marked in the example's `review`).
   */
  decisions?: ReviewStates;
}

/** The example a scored record makes: every turn of a conversation, the reasoning before a reasoning answer. */
export function turnOf(r: ScoredRecord, opts: Pick<FormatOptions, "system" | "reasoningFormat">): Turn {
  const turns = r.turns && r.turns.length > 1 ? r.turns : [{ question: r.question, answer: r.answer }];
  const last = turns.at(-1)!;
  const answer = r.reasoning ? answerWithReasoning(r.reasoning, last.answer, opts.reasoningFormat ?? "think") : last.answer;
  const t: Turn = { question: last.question, answer, system: opts.system };
  if (turns.length > 1) t.history = turns.slice(0, -1).map((h) => ({ question: h.question, answer: h.answer }));
  return t;
}

export type DropReason = "generation_failed" | "below_threshold" | "duplicate" | "ungrounded" | "rejected";

export interface FormatStats {
  seen: number;
  kept: { train: number; valid: number };
  dropped: Record<DropReason, number>;
  /** Overall scores of the kept examples in ten buckets (10 counts in 9-10). */
  histogram: number[];
  /** Kept examples per source document. */
  sources: Map<string, number>;
  /** Review decisions applied: pairs accepted (kept), rejected (dropped) and edited. */
  review: { applied: number; accepted: number; rejected: number; edited: number };
}

export function emptyFormatStats(): FormatStats {
  return { seen: 0, kept: { train: 0, valid: 0 }, dropped: { generation_failed: 0, below_threshold: 0, duplicate: 0, ungrounded: 0, rejected: 0 }, histogram: new Array(10).fill(0), sources: new Map(), review: { applied: 0, accepted: 0, rejected: 0, edited: 0 } };
}

/**
 * The split of a document, from a hash of its id: the same document always lands on the same side,
 * so no document leaks across, and the decision needs no look at the rest of the data (streaming).
 */
export function splitOf(docId: string, validFraction: number): "train" | "valid" {
  if (!(validFraction > 0)) return "train";
  const h = createHash("sha256").update(docId).digest().readUInt32BE(0);
  return h / 0x1_0000_0000 < validFraction ? "valid" : "train";
}

/**
 * Why a pair is left out, or null to keep it. A score equal to the threshold is kept. A person's review
 * overrides the numbers: rejected is dropped, accepted is kept unless it has no question or answer to train on.
 */
export function dropReason(r: ScoredRecord, opts: Pick<FormatOptions, "threshold" | "keepDuplicates">, review?: "accepted" | "rejected"): DropReason | null {
  if (review === "rejected") return "rejected";
  if (!r.question || !r.answer) return "generation_failed";
  if (review === "accepted") return null;
  if (r.error) return "generation_failed";
  if (r.scores.overall < opts.threshold) return "below_threshold";
  if (!opts.keepDuplicates) {
    if (r.checks.duplicateOf) return "duplicate";
    if (!r.checks.grounded) return "ungrounded";
  }
  return null;
}

export function exampleFormatter(opts: FormatOptions, stats: FormatStats = emptyFormatStats()): Stage<ScoredRecord, ExampleRecord> {
  return (scored) => {
    stats.seen++;
    const decision = opts.decisions?.get(scored.qaId);
    const r = decision?.edits ? withEdits(scored, decision.edits) : scored;
    if (decision) {
      stats.review.applied++;
      if (decision.status === "accepted") stats.review.accepted++;
      if (decision.status === "rejected") stats.review.rejected++;
      if (decision.edits) stats.review.edited++;
    }
    const why = dropReason(r, opts, decision?.status);
    if (why) { stats.dropped[why]++; return null; }
    const split = splitOf(r.docId, opts.validFraction ?? 0);
    stats.kept[split]++;
    stats.histogram[bucketOf(r.scores.overall)]!++;
    stats.sources.set(r.source, (stats.sources.get(r.source) ?? 0) + 1);
    // The reasoning format joins the id only when it shapes the data, so ids of plain pairs stay as they were;
    // so do a person's edits (an edited example is another example).
    const parts: string[] = [r.qaId, opts.template, opts.system ?? ""];
    if (r.reasoning) parts.push(opts.reasoningFormat ?? "think");
    if (decision?.edits) parts.push(JSON.stringify(decision.edits));
    const example: ExampleRecord = {
      type: "example",
      id: stableId("example", ...parts),
      qaId: r.qaId,
      docId: r.docId,
      chunkId: r.chunkId,
      source: r.source,
      start: r.start,
      end: r.end,
      template: opts.template,
      split,
      data: render(opts.template, turnOf(r, opts)),
    };
    if (decision) example.review = { ...(decision.status === "accepted" ? { accepted: true } : {}), ...(decision.edits ? { edited: true } : {}) };
    return example;
  };
}

export const format = (opts: FormatOptions) => asTransform(exampleFormatter(opts), { name: "format" });
