import assert from "node:assert/strict";
import { test } from "node:test";
import { openaiProvider } from "../../src/providers/openai.ts";
import { evalItemFromExample, evalMarkdown, runEval, tokenF1 } from "../../src/export/eval.ts";
import type { ExampleRecord } from "../../src/records.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";

test("token F1 follows SQuAD: normalized, multiset overlap", () => {
  assert.equal(tokenF1("The warranty lasts 2 years.", "warranty lasts 2 years"), 1);
  assert.equal(tokenF1("", ""), 1);
  assert.equal(tokenF1("nothing alike", "warranty lasts 2 years"), 0);
  // The repeated "two" counts once (multiset): common = 2, precision 2/3, recall 2/4.
  assert.equal(tokenF1("two two years", "lasts two full years").toFixed(4), (2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)).toFixed(4));
  assert.equal(tokenF1("Garantía: DOS años", "garantía dos años"), 1);
});

const ex = (data: Record<string, unknown>, template: ExampleRecord["template"]): ExampleRecord => ({
  type: "example", id: `ex_${template}`, qaId: "q", docId: "d", chunkId: "c", source: "s", template, split: "valid", data,
});

test("questions and references come out of every example template", () => {
  assert.deepEqual(evalItemFromExample(ex({ instruction: "Q?", input: "", output: "A." }, "alpaca")), { id: "ex_alpaca", question: "Q?", reference: "A." });
  assert.deepEqual(evalItemFromExample(ex({ messages: [{ role: "system", content: "S" }, { role: "user", content: "Q?" }, { role: "assistant", content: "A." }] }, "openai")), { id: "ex_openai", question: "Q?", reference: "A.", system: "S" });
  assert.deepEqual(evalItemFromExample(ex({ conversations: [{ from: "human", value: "Q?" }, { from: "gpt", value: "A." }] }, "sharegpt")), { id: "ex_sharegpt", question: "Q?", reference: "A." });
  assert.deepEqual(evalItemFromExample(ex({ text: "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ?\nmore<|im_end|>\n<|im_start|>assistant\nA.<|im_end|>\n" }, "chatml")), { id: "ex_chatml", question: "Q?\nmore", reference: "A.", system: "S" });
  assert.equal(evalItemFromExample(ex({ foo: 1 }, "alpaca")), undefined);
});

const items = [
  { id: "1", question: "How long is the warranty?", reference: "Two years from purchase." },
  { id: "2", question: "Who pays shipping?", reference: "The seller pays shipping." },
];

test("without a judge: F1 per model, means, and a markdown table", async () => {
  const report = await runEval({
    items,
    answerers: { base: async () => "I do not know", "fine-tuned": async (i) => (i.id === "1" ? "Two years from purchase." : "The buyer pays.") },
  });
  assert.equal(report.scorer, "token-overlap F1 vs reference");
  assert.equal(report.mean.base, 0);
  assert.equal(report.rows[0]!.results["fine-tuned"]!.score, 1);
  assert.ok(report.mean["fine-tuned"]! > 0.5 && report.mean["fine-tuned"]! < 1);
  const md = evalMarkdown(report);
  assert.match(md, /\| base \| 0\.000 \|/);
  assert.match(md, /\| How long is the warranty\? \| Two years from purchase\. \| I do not know \| 0\.00 \| Two years from purchase\. \| 1\.00 \|/);
});

test("with a judge: the real OpenAI SDK against a loopback server grades each answer", async () => {
  const srv = await startOpenAiServer({ script: [{ reply: '{"score": 9, "reason": "same facts"}' }, { reply: "not json at all" }] });
  try {
    const judge = openaiProvider({ model: "judge-model", baseURL: srv.baseURL, apiKey: "sk-test-123456" });
    const report = await runEval({ items: items.slice(0, 1), answerers: { base: async () => "2 years", tuned: async () => "Two years." }, judge });
    assert.equal(report.rows[0]!.results.base!.score, 0.9);
    assert.equal(report.rows[0]!.results.tuned!.score, 0);
    assert.match(report.rows[0]!.results.tuned!.reason!, /judge reply unusable/);
    assert.match(report.scorer, /judge openai\/judge-model/);
    assert.match(srv.requests[0]!.messages[1]!.content, /Reference answer: Two years from purchase\.\n\nAnswer to grade: 2 years/);
  } finally {
    await srv.close();
  }
});
