// Review decisions as data: what a person decided about a pair (accept, reject, edit, undo), the schema every
// line of review_decisions.ndjson must match, the fold of the log into each pair's current state, and the
// edited record format writes. Pure: the file side is sinks/review-decisions.ts.
import { z } from "zod";
import { QaTurn, type ScoredRecord } from "../records.ts";

/** The text a person may change; absent fields keep the record's own. `turns` replaces every turn of a conversation. */
export const ReviewEdits = z.strictObject({
  question: z.string().min(1).max(100_000).optional(),
  answer: z.string().min(1).max(100_000).optional(),
  evidence: z.string().max(100_000).optional(),
  turns: z.array(QaTurn).min(2).max(64).optional(),
}).refine((e) => Object.values(e).some((v) => v !== undefined), { message: "an edit must change at least one of question, answer, evidence, turns" });
export type ReviewEdits = z.infer<typeof ReviewEdits>;

export const ReviewAction = z.enum(["accept", "reject", "edit", "undo"]);
export type ReviewAction = z.infer<typeof ReviewAction>;

/** One line of review_decisions.ndjson. `at` is an ISO time; `edits` only (and always) with `edit`. */
export const ReviewDecision = z.strictObject({
  qaId: z.string().min(1).max(200),
  action: ReviewAction,
  edits: ReviewEdits.optional(),
  at: z.iso.datetime(),
}).refine((d) => (d.action === "edit") === (d.edits !== undefined), { message: "edits go with action \"edit\" and only with it", path: ["edits"] });
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** A pair's state after its decisions: accepted or rejected (or neither), and the merged edits if any. */
export interface ReviewState {
  status?: "accepted" | "rejected";
  edits?: ReviewEdits;
  /** The actions still in force, oldest first (undo pops the last). */
  actions: ReviewDecision[];
}

/** The state the actions in force make. */
function stateOf(actions: ReviewDecision[]): ReviewState {
  const s: ReviewState = { actions };
  for (const a of actions) {
    if (a.action === "accept") s.status = "accepted";
    else if (a.action === "reject") s.status = "rejected";
    else if (a.action === "edit") s.edits = { ...s.edits, ...a.edits };
  }
  return s;
}

/**
 * Folds decisions, in log order, into the current state per pair: each action stacks on that pair's earlier
 * ones, an undo removes the last action still in force (an undo with none left does nothing). A pair whose
 * actions were all undone has no state.
 */
export class ReviewStates {
  readonly byId = new Map<string, ReviewState>();

  constructor(decisions: Iterable<ReviewDecision> = []) {
    for (const d of decisions) this.add(d);
  }

  /** Applies one more decision; returns the pair's new state (undefined when nothing is left in force). */
  add(d: ReviewDecision): ReviewState | undefined {
    const actions = [...(this.byId.get(d.qaId)?.actions ?? [])];
    if (d.action === "undo") actions.pop();
    else actions.push(d);
    if (!actions.length) { this.byId.delete(d.qaId); return undefined; }
    const s = stateOf(actions);
    this.byId.set(d.qaId, s);
    return s;
  }

  get(qaId: string): ReviewState | undefined {
    return this.byId.get(qaId);
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * The record with a person's edits in place. For a conversation, `turns` replaces the turns and the top-level
 * question/answer/evidence follow the first turn (records.ts: they repeat turn 1); a question/answer edit on a
 * conversation without `turns` changes turn 1.
 */
export function withEdits(r: ScoredRecord, e: ReviewEdits): ScoredRecord {
  const out: ScoredRecord = { ...r };
  if (r.turns && r.turns.length > 1) {
    const turns = (e.turns ?? r.turns).map((t) => ({ ...t }));
    if (!e.turns) {
      if (e.question !== undefined) turns[0]!.question = e.question;
      if (e.answer !== undefined) turns[0]!.answer = e.answer;
      if (e.evidence !== undefined) turns[0]!.evidence = e.evidence;
    }
    out.turns = turns;
    out.question = turns[0]!.question;
    out.answer = turns[0]!.answer;
    out.evidence = turns[0]!.evidence;
    return out;
  }
  if (e.question !== undefined) out.question = e.question;
  if (e.answer !== undefined) out.answer = e.answer;
  if (e.evidence !== undefined) out.evidence = e.evidence;
  return out;
}
