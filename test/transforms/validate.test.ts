import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "../../src/providers/client.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import type { ScoredRecord } from "../../src/records.ts";
import { formatSummaryBlock, SummaryBuilder } from "../../src/transforms/validate-summary.ts";
import { judgePrompt, markDuplicates, qaScorer, verdictFor, type ToScore } from "../../src/transforms/validate.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { qaRecord } from "./qa-fixtures.ts";

const ctx = { index: 0, signal: new AbortController().signal };

function scoredWith(overall: number, verdict: ScoredRecord["verdict"]): ScoredRecord {
  const qa = qaRecord({ question: `Q ${overall}?`, answer: "A." });
  const { context: _c, ...rest } = qa;
  return { ...rest, type: "scored", qaId: qa.id, scores: { accuracy: overall, relevance: overall, clarity: overall, completeness: overall, overall }, verdict, checks: { grounded: true, duplicateOf: null, length: "ok" } };
}

test("golden: the VALIDATION SUMMARY block is byte for byte the seed's", () => {
  const b = new SummaryBuilder();
  const scores = [10, 9.2, 8.0, 8, 7.99, 7.0, 6.5, 3, 0, 0.5, 9.99];
  for (const s of scores) b.add(scoredWith(s, verdictFor(s, 8, 7)));
  const expected = [
    "==================================================",
    "VALIDATION SUMMARY",
    "==================================================",
    "Total Q&A pairs: 11",
    "PASS: 5 (45.5%)",
    "NEEDS_REVIEW: 2 (18.2%)",
    "FAIL: 4 (36.4%)",
    "",
    "SCORE DISTRIBUTION:",
    "Overall: 0-1: 2 (18.2%)",
    "Overall: 1-2: 0 (0.0%)",
    "Overall: 2-3: 0 (0.0%)",
    "Overall: 3-4: 1 (9.1%)",
    "Overall: 4-5: 0 (0.0%)",
    "Overall: 5-6: 0 (0.0%)",
    "Overall: 6-7: 1 (9.1%)",
    "Overall: 7-8: 2 (18.2%)",
    "Overall: 8-9: 2 (18.2%)",
    "Overall: 9-10: 3 (27.3%)",
    "",
  ].join("\n");
  assert.equal(formatSummaryBlock(b.result()), expected);
});

test("golden: an empty dataset prints zeros, not NaN", () => {
  const block = formatSummaryBlock(new SummaryBuilder().result());
  assert.match(block, /^Total Q&A pairs: 0$/m);
  assert.match(block, /^PASS: 0 \(0\.0%\)$/m);
  assert.match(block, /^Overall: 9-10: 0 \(0\.0%\)$/m);
});

test("threshold boundaries: equal to the threshold is PASS, equal to the filter threshold is NEEDS_REVIEW", () => {
  assert.equal(verdictFor(8.0, 8.0, 7.0), "PASS");
  assert.equal(verdictFor(7.999, 8.0, 7.0), "NEEDS_REVIEW");
  assert.equal(verdictFor(7.0, 8.0, 7.0), "NEEDS_REVIEW");
  assert.equal(verdictFor(6.999, 8.0, 7.0), "FAIL");
  assert.equal(verdictFor(10, 10, 10), "PASS");
  assert.equal(verdictFor(0, 0, 0), "PASS");
});

test("every pair is scored and counts add up; failed generations are FAIL, duplicates marked in order", async () => {
  const context = "Chunk overlap is the number of characters two neighbouring chunks share. The validate step scores every pair.";
  const pairs = [
    qaRecord({ question: "What is chunk overlap?", answer: "Chunk overlap is the number of characters two neighbouring chunks share.", evidence: "Chunk overlap is the number of characters" }, context),
    qaRecord({ question: "What is chunk overlap?", answer: "The number of characters two neighbouring chunks share.", evidence: "number of characters two neighbouring chunks share", chunkId: "chunk_2" }, context),
    qaRecord({ question: "Who won the 1998 world cup?", answer: "France won it in Paris.", evidence: "France won" }, context),
    qaRecord({ question: "", answer: "", error: "reply was not valid JSON after one repair" }, context),
  ];
  const score = qaScorer({ judge: null, threshold: 8, filterThreshold: 7 });
  const out: ScoredRecord[] = [];
  for await (const item of markDuplicates(pairs)) out.push((await score(item, ctx)) as ScoredRecord);
  assert.equal(out.length, pairs.length, "none dropped");
  assert.equal(out[1]!.checks.duplicateOf, pairs[0]!.id);
  assert.equal(out[0]!.checks.duplicateOf, null);
  assert.equal(out[0]!.verdict, "PASS");
  assert.equal(out[2]!.checks.grounded, false);
  assert.equal(out[2]!.verdict, "FAIL");
  assert.equal(out[3]!.verdict, "FAIL");
  assert.equal(out[3]!.scores.overall, 0);
  const b = new SummaryBuilder();
  for (const r of out) b.add(r);
  const s = b.result();
  assert.equal(s.verdicts.PASS + s.verdicts.NEEDS_REVIEW + s.verdicts.FAIL, s.total);
  assert.equal(s.distribution.reduce((a, n) => a + n, 0), s.total);
  assert.equal(s.generationFailures, 1);
  assert.equal(s.duplicates, 1);
});

test("LLM judge: sees the chunk, scores are used; a reply that is not JSON is repaired, then recorded — never lost", async () => {
  const good = JSON.stringify({ accuracy: 9, relevance: 8, clarity: 8, completeness: 7, overall: 8, reason: "fine" });
  const server = await startOpenAiServer({
    script: [
      { reply: good },
      { reply: "I think this pair is great, 9/10!" }, // not JSON → one repair turn
      { reply: "Still not JSON, sorry." },            // repair fails too → recorded with judge.error
      { reply: "{\"accuracy\": 7" },                 // truncated JSON → repaired by the next reply
      { reply: good },
    ],
  });
  const client = createClient(openaiProvider({ model: "judge-test", apiKey: "sk-test-judge-0123456789", baseURL: server.baseURL }), {
    step: "validate", concurrency: 1, timeoutMs: 5000, maxRetries: 0, prices: DEFAULT_PRICES,
  });
  try {
    const context = "The validate step scores every pair and never drops one. Chunk overlap is the number of characters two chunks share.";
    const score = qaScorer({ judge: client, threshold: 8, filterThreshold: 7 });
    const items: ToScore[] = [
      { qa: qaRecord({ question: "What does the validate step score?", answer: "The validate step scores every pair.", evidence: "The validate step scores every pair" }, context), duplicateOf: null },
      { qa: qaRecord({ question: "What is chunk overlap?", answer: "The number of characters two chunks share.", evidence: "number of characters two chunks share" }, context), duplicateOf: null },
      { qa: qaRecord({ question: "Does the validate step drop pairs?", answer: "No, it never drops one.", evidence: "never drops one" }, context), duplicateOf: null },
    ];
    const out: ScoredRecord[] = [];
    for (const it of items) out.push((await score(it, ctx)) as ScoredRecord);
    assert.equal(server.calls, 5);
    assert.ok(server.requests[0]!.messages.some((m) => m.content.includes(context)), "the judge sees the chunk");
    assert.ok(server.requests[0]!.schema, "the judge asks for JSON by schema");
    assert.deepEqual(out[0]!.scores, { accuracy: 9, relevance: 8, clarity: 8, completeness: 7, overall: 8 });
    assert.equal(out[0]!.verdict, "PASS");
    assert.equal(out[0]!.judge?.model, "judge-test");
    assert.ok(out[1]!.judge?.error, "failure after repair is recorded on the pair");
    assert.equal(out[1]!.question, "What is chunk overlap?", "the pair is kept");
    assert.ok(out[1]!.scores.overall > 0, "heuristic scores stand in");
    assert.equal(out[2]!.judge?.error, undefined);
    assert.equal(out[2]!.scores.overall, 8);
  } finally {
    await client.close();
    await server.close();
  }
});

test("the LLM judge sees a whole conversation, and the reasoning before an answer", () => {
  const base = { type: "qa" as const, id: "qa1", docId: "d", chunkId: "c", source: "s.md", evidence: "", context: "The passage.", provider: "p", model: "m", usage: { inputTokens: 0, outputTokens: 0 } };
  const conv = judgePrompt({ ...base, question: "Q1?", answer: "A1.", style: "multi-turn", turns: [{ question: "Q1?", answer: "A1.", evidence: "e1" }, { question: "And Q2?", answer: "A2.", evidence: "e2" }] });
  const text = conv.at(-1)!.content;
  for (const part of ["Turn 1", "Q1?", "A1.", "Turn 2", "And Q2?", "A2.", "e2"]) assert.ok(text.includes(part), part);
  const reasoned = judgePrompt({ ...base, question: "Q?", answer: "A.", style: "reasoning", reasoning: "Because the passage says so." }).at(-1)!.content;
  assert.match(reasoned, /Reasoning[^\n]*: Because the passage says so\.\nAnswer: A\./);
});
