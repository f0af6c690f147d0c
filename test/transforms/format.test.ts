import assert from "node:assert/strict";
import { test } from "node:test";
import { Template } from "@huggingface/jinja";
import { z } from "zod";
import type { ExampleRecord, ScoredRecord } from "../../src/records.ts";
import { dropReason, emptyFormatStats, exampleFormatter, splitOf } from "../../src/transforms/format.ts";
import { render } from "../../src/transforms/format-templates.ts";
import { qaRecord } from "./qa-fixtures.ts";

const ctx = { index: 0, signal: new AbortController().signal };
const turn = { question: "What is chunk overlap?", answer: "Chunk overlap is the number of characters two chunks share.\nIt keeps sentences whole.", system: "You answer questions about docs2model." };

// The ChatML chat template as Qwen2/ChatML models ship it (tokenizer_config.json chat_template).
const CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

test("openai: the chat fine-tuning shape, and a chat template renders it", () => {
  const data = render("openai", turn);
  const Shape = z.object({ messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string().min(1) }).strict()).min(2) }).strict();
  const parsed = Shape.parse(JSON.parse(JSON.stringify(data)));
  assert.equal(parsed.messages.at(-1)!.role, "assistant", "the example ends with the answer to learn");
  const text = new Template(CHATML_JINJA).render({ messages: parsed.messages, add_generation_prompt: false });
  assert.match(text, /<\|im_start\|>user\nWhat is chunk overlap\?<\|im_end\|>/);
});

test("chatml: the text is exactly what the ChatML chat template renders from the same messages", () => {
  const data = render("chatml", turn) as { text: string };
  const messages = (render("openai", turn) as { messages: unknown[] }).messages;
  assert.equal(data.text, new Template(CHATML_JINJA).render({ messages, add_generation_prompt: false }));
  const turns = [...data.text.matchAll(/<\|im_start\|>(system|user|assistant)\n([\s\S]*?)<\|im_end\|>\n/g)];
  assert.equal(turns.map((m) => m[0]).join(""), data.text, "nothing outside the turns");
  assert.deepEqual(turns.map((m) => m[1]), ["system", "user", "assistant"]);
});

test("sharegpt: conversations of from/value, human and gpt alternating (axolotl / LLaMA-Factory sharegpt)", () => {
  const data = render("sharegpt", { question: turn.question, answer: turn.answer });
  const Shape = z.object({ conversations: z.array(z.object({ from: z.enum(["system", "human", "gpt"]), value: z.string().min(1) }).strict()) }).strict();
  const { conversations } = Shape.parse(JSON.parse(JSON.stringify(data)));
  assert.deepEqual(conversations.map((c) => c.from), ["human", "gpt"]);
  assert.equal(render("sharegpt", turn).conversations instanceof Array, true);
});

test("alpaca: instruction/input/output strings; the Alpaca prompt renders from them", () => {
  const data = render("alpaca", { question: turn.question, answer: turn.answer });
  const Shape = z.object({ instruction: z.string().min(1), input: z.string(), output: z.string().min(1) }).strict();
  const r = Shape.parse(JSON.parse(JSON.stringify(data)));
  const prompt = `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${r.instruction}\n\n### Response:\n${r.output}`;
  assert.match(prompt, /### Instruction:\nWhat is chunk overlap\?\n\n### Response:\nChunk overlap/);
});

function scored(over: Partial<ScoredRecord> & { overall: number }, q = "What is chunk overlap?"): ScoredRecord {
  const qa = qaRecord({ question: q, answer: "The number of characters two chunks share." });
  const { context: _c, ...rest } = qa;
  const { overall, ...o } = over;
  return { ...rest, type: "scored", qaId: qa.id, scores: { accuracy: 9, relevance: 9, clarity: 9, completeness: 9, overall }, verdict: "PASS", checks: { grounded: true, duplicateOf: null, length: "ok" }, ...o };
}

test("threshold: a score equal to the threshold is kept; 0 keeps all but failed generations", () => {
  assert.equal(dropReason(scored({ overall: 7.0 }), { threshold: 7.0 }), null);
  assert.equal(dropReason(scored({ overall: 6.99 }), { threshold: 7.0 }), "below_threshold");
  assert.equal(dropReason(scored({ overall: 0 }), { threshold: 0 }), null);
  assert.equal(dropReason(scored({ overall: 0, error: "bad JSON" }), { threshold: 0 }), "generation_failed");
  const dup = scored({ overall: 9, checks: { grounded: true, duplicateOf: "qa_x", length: "ok" } });
  assert.equal(dropReason(dup, { threshold: 7 }), "duplicate");
  assert.equal(dropReason(dup, { threshold: 7, keepDuplicates: true }), null);
  assert.equal(dropReason(scored({ overall: 9, checks: { grounded: false, duplicateOf: null, length: "ok" } }), { threshold: 7 }), "ungrounded");
});

test("split by document: every example of a document lands on one side; about the asked share of documents is valid", async () => {
  const docs = Array.from({ length: 400 }, (_, i) => `doc_${i}`);
  const valid = docs.filter((d) => splitOf(d, 0.2) === "valid").length;
  assert.ok(valid > 50 && valid < 110, `~20% of 400 documents, got ${valid}`);
  assert.ok(docs.every((d) => splitOf(d, 0) === "train"));
  const stats = emptyFormatStats();
  const fmt = exampleFormatter({ template: "openai", threshold: 0, validFraction: 0.5 }, stats);
  const bySplit = new Map<string, Set<string>>();
  for (let i = 0; i < 200; i++) {
    const r = scored({ overall: 9, docId: `doc_${i % 20}`, start: i, end: i + 5 }, `Question ${i}?`);
    const ex = (await fmt(r, ctx)) as ExampleRecord;
    assert.equal(ex.docId, r.docId);
    assert.equal(ex.start, i, "provenance: offsets carried");
    bySplit.set(ex.docId, (bySplit.get(ex.docId) ?? new Set()).add(ex.split));
  }
  assert.ok([...bySplit.values()].every((s) => s.size === 1), "no document on both sides");
  assert.equal(stats.kept.train + stats.kept.valid, 200);
});
