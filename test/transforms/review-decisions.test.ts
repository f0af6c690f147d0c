// Review decisions: the schema, the fold (undo reverts the last action of that pair), edits in place, and
// format applying them (accepted kept whatever the threshold, rejected dropped, edits replace the text).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ExampleRecord, ScoredRecord } from "../../src/records.ts";
import { emptyFormatStats, exampleFormatter } from "../../src/transforms/format.ts";
import { ReviewDecision, ReviewStates, withEdits } from "../../src/transforms/review-decisions.ts";
import { qaRecord } from "./qa-fixtures.ts";

const ctx = { index: 0, signal: new AbortController().signal };
const at = "2026-12-04T04:00:00.000Z";

function scored(question: string, overall: number, over: Partial<ScoredRecord> = {}): ScoredRecord {
  const qa = qaRecord({ question, answer: "The number of characters two chunks share." });
  return { ...qa, type: "scored", qaId: qa.id, scores: { accuracy: 9, relevance: 9, clarity: 9, completeness: 9, overall }, verdict: overall >= 8 ? "PASS" : overall >= 7 ? "NEEDS_REVIEW" : "FAIL", checks: { grounded: true, duplicateOf: null, length: "ok" }, ...over };
}

test("schema: actions, edits only with edit, unknown keys and empty edits refused", () => {
  assert.ok(ReviewDecision.safeParse({ qaId: "qa_1", action: "accept", at }).success);
  assert.ok(ReviewDecision.safeParse({ qaId: "qa_1", action: "edit", edits: { answer: "x" }, at }).success);
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "edit", at }).success, false, "edit without edits");
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "accept", edits: { answer: "x" }, at }).success, false, "edits on accept");
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "edit", edits: {}, at }).success, false, "an empty edit");
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "delete", at }).success, false);
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "accept", at, path: "/etc/passwd" }).success, false, "unknown key");
  assert.equal(ReviewDecision.safeParse({ qaId: "qa_1", action: "accept", at: "yesterday" }).success, false);
});

test("fold: the last status wins, edits merge, undo reverts the last action of that pair only", () => {
  const s = new ReviewStates([
    { qaId: "a", action: "accept", at },
    { qaId: "b", action: "reject", at },
    { qaId: "a", action: "edit", edits: { question: "Q1" }, at },
    { qaId: "a", action: "edit", edits: { answer: "A1" }, at },
    { qaId: "a", action: "reject", at },
  ]);
  assert.equal(s.get("a")!.status, "rejected");
  assert.deepEqual(s.get("a")!.edits, { question: "Q1", answer: "A1" });
  s.add({ qaId: "a", action: "undo", at });
  assert.equal(s.get("a")!.status, "accepted", "undo of the reject brings back the accept");
  s.add({ qaId: "a", action: "undo", at });
  assert.deepEqual(s.get("a")!.edits, { question: "Q1" }, "undo of the second edit keeps the first");
  assert.equal(s.get("b")!.status, "rejected", "another pair is untouched");
  s.add({ qaId: "b", action: "undo", at });
  s.add({ qaId: "b", action: "undo", at });
  assert.equal(s.get("b"), undefined, "nothing left in force; an extra undo does nothing");
  assert.equal(s.size, 1);
});

test("withEdits: a pair's text; a conversation's turns with question/answer following turn 1", () => {
  const r = scored("What is chunk overlap?", 9);
  assert.equal(withEdits(r, { answer: "Shared characters." }).answer, "Shared characters.");
  assert.equal(r.answer, "The number of characters two chunks share.", "the input record is not changed");
  const conv = { ...r, style: "multi-turn" as const, turns: [{ question: "Q1", answer: "A1", evidence: "" }, { question: "Q2", answer: "A2", evidence: "" }] };
  const e = withEdits(conv, { turns: [{ question: "N1", answer: "B1", evidence: "" }, { question: "N2", answer: "B2", evidence: "" }] });
  assert.deepEqual([e.question, e.answer, e.turns![1]!.answer], ["N1", "B1", "B2"]);
  const first = withEdits(conv, { answer: "B1" });
  assert.deepEqual([first.answer, first.turns![0]!.answer, first.turns![1]!.answer], ["B1", "B1", "A2"]);
});

test("format applies decisions: accepted kept below the threshold, rejected dropped, edits in the data and marked", async () => {
  const low = scored("What is the filter threshold?", 3);
  const lowUngrounded = scored("What is the judge?", 8, { checks: { grounded: false, duplicateOf: null, length: "ok" } });
  const good = scored("What is chunk overlap?", 9);
  const edited = scored("What is the cache?", 9);
  const untouched = scored("What is the ledger?", 2);
  const decisions = new ReviewStates([
    { qaId: low.qaId, action: "accept", at },
    { qaId: lowUngrounded.qaId, action: "accept", at },
    { qaId: good.qaId, action: "reject", at },
    { qaId: edited.qaId, action: "edit", edits: { answer: "The response cache keeps replies." }, at },
  ]);
  const stats = emptyFormatStats();
  const stage = exampleFormatter({ template: "alpaca", threshold: 7, decisions }, stats);
  const out: ExampleRecord[] = [];
  for (const r of [low, lowUngrounded, good, edited, untouched]) { const ex = await stage(r, ctx); if (ex) out.push(ex as ExampleRecord); }
  assert.deepEqual(out.map((e) => e.qaId), [low.qaId, lowUngrounded.qaId, edited.qaId]);
  assert.deepEqual(out.map((e) => e.review), [{ accepted: true }, { accepted: true }, { edited: true }]);
  assert.equal((out[2]!.data as { output: string }).output, "The response cache keeps replies.");
  assert.deepEqual(stats.review, { applied: 4, accepted: 2, rejected: 1, edited: 1 });
  assert.deepEqual([stats.dropped.rejected, stats.dropped.below_threshold], [1, 1]);
  // Without decisions the same run keeps only the good and the edited pair (as they were).
  const plain = exampleFormatter({ template: "alpaca", threshold: 7 });
  const kept = [];
  for (const r of [low, lowUngrounded, good, edited, untouched]) if (await plain(r, ctx)) kept.push(r.qaId);
  assert.deepEqual(kept, [good.qaId, edited.qaId]);
});

test("format: an accepted pair with no answer is still dropped (nothing to train on)", async () => {
  const empty = scored("What is it?", 9, { answer: "", error: "generation failed" });
  const stats = emptyFormatStats();
  const stage = exampleFormatter({ template: "alpaca", threshold: 0, decisions: new ReviewStates([{ qaId: empty.qaId, action: "accept", at }]) }, stats);
  assert.equal(await stage(empty, ctx), null);
  assert.equal(stats.dropped.generation_failed, 1);
});
