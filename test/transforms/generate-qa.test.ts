import assert from "node:assert/strict";
import { test } from "node:test";
import { createClient } from "../../src/providers/client.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import type { QaRecord } from "../../src/records.ts";
import { emptyGenerateQaStats, qaGenerator } from "../../src/transforms/generate-qa.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { chunksOf, guideText } from "./qa-fixtures.ts";

const ctx = { index: 0, signal: new AbortController().signal };

test("extractive: grounded pairs with exact evidence and document offsets; quota honoured, shortfall counted", async () => {
  const text = guideText(4);
  const chunks = chunksOf(text);
  const stats = emptyGenerateQaStats();
  const gen = qaGenerator({ client: null, questionsPerChunk: 3 }, stats);
  const all: QaRecord[] = [];
  for (const c of chunks) {
    const out = (await gen(c, ctx)) as QaRecord[];
    assert.ok(out.length <= 3);
    for (const r of out) {
      assert.equal(text.slice(r.start, r.end), r.evidence, "offsets point at the evidence in the document");
      assert.equal(r.chunkId, c.id);
      assert.equal(r.context, c.text);
      assert.match(r.question, /\?$/);
    }
    all.push(...out);
  }
  assert.equal(stats.chunks, chunks.length);
  assert.equal(stats.pairs, all.length);
  assert.ok(all.length >= chunks.length * 2, `most chunks give pairs (${all.length} from ${chunks.length})`);
  const tiny = (await gen({ ...chunks[0]!, id: "chunk_tiny", text: "Short." }, ctx)) as QaRecord[];
  assert.deepEqual(tiny, []);
  assert.equal(stats.emptyChunks, 1);
  assert.ok(stats.shortfalls.some((s) => s.chunkId === "chunk_tiny" && s.made === 0));
});

test("LLM: prompt carries the chunk and the schema; quota truncates; a failure after repair is a recorded error pair", async () => {
  const reply = JSON.stringify({ pairs: [
    { question: "What does chunk overlap control?", answer: "How many characters two chunks share.", evidence: "Chunk overlap is the setting number 0" },
    { question: "How do you change chunk overlap?", answer: "Pass the matching flag or set its key in config.env.", evidence: "pass the matching flag on the command line" },
    { question: "How do you change chunk overlap?", answer: "duplicate question", evidence: "" },
    { question: "Extra pair beyond the quota?", answer: "Yes.", evidence: "" },
  ] });
  const server = await startOpenAiServer({ script: [{ reply }, { reply: "no json here" }, { reply: "still none" }], latencyMs: 0 });
  const client = createClient(openaiProvider({ model: "qa-test", apiKey: "sk-test-qa-0123456789", baseURL: server.baseURL }), {
    step: "generate-qa", concurrency: 2, timeoutMs: 5000, maxRetries: 0, prices: DEFAULT_PRICES,
  });
  try {
    const chunks = chunksOf(guideText(2));
    const stats = emptyGenerateQaStats();
    const gen = qaGenerator({ client, questionsPerChunk: 2, temperature: 0.3 }, stats);
    const first = (await gen(chunks[0]!, ctx)) as QaRecord[];
    assert.equal(first.length, 2, "quota of 2; the repeated question is dropped");
    assert.deepEqual(first.map((r) => r.question), ["What does chunk overlap control?", "How do you change chunk overlap?"]);
    const req = server.requests[0]!;
    assert.ok(req.messages.some((m) => m.content.includes(chunks[0]!.text)), "the chunk is in the prompt");
    assert.ok(req.messages.some((m) => /same language as the passage/.test(m.content)));
    assert.ok(req.schema && JSON.stringify(req.schema).includes("evidence"), "JSON schema sent");
    assert.equal(req.temperature, 0.3);
    assert.equal(first[0]!.provider, "openai");
    assert.ok(first[0]!.usage.inputTokens > 0 && first[1]!.usage.inputTokens === 0, "call usage booked once");
    const at = chunks[0]!.text.indexOf("Chunk overlap is the setting number 0");
    assert.equal(first[0]!.start, chunks[0]!.start + at, "evidence located in the document");

    const failed = (await gen(chunks[1] ?? chunks[0]!, ctx)) as QaRecord[];
    assert.equal(failed.length, 1);
    assert.ok(failed[0]!.error, "recorded with error");
    assert.equal(failed[0]!.question, "");
    assert.equal(server.calls, 3, "one call, then one repair");
    assert.equal(stats.failedChunks, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test("LLM styles: multi-turn asks for conversations and keeps 2–4 turns; reasoning keeps the reasoning apart; both through the vendor SDK", async () => {
  const conversation = JSON.stringify({ conversations: [
    { turns: [
      { question: "What does chunk overlap control?", answer: "How many characters two chunks share.", evidence: "Chunk overlap" },
      { question: "Why does that matter?", answer: "A sentence cut at a border still appears whole in one chunk.", evidence: "" },
    ] },
    { turns: [{ question: "A one-turn conversation?", answer: "Dropped.", evidence: "" }] },
  ] });
  const reasoned = JSON.stringify({ pairs: [
    { question: "If the overlap is 200, how much text do two neighbours share?", reasoning: "The overlap is the number of characters two neighbouring chunks share; it is 200.", answer: "200 characters.", evidence: "Chunk overlap" },
  ] });
  const server = await startOpenAiServer({ script: [{ reply: conversation }, { reply: reasoned }], latencyMs: 0 });
  const client = createClient(openaiProvider({ model: "qa-test", apiKey: "sk-test-qa-0123456789", baseURL: server.baseURL }), {
    step: "generate-qa", concurrency: 1, timeoutMs: 5000, maxRetries: 0, prices: DEFAULT_PRICES,
  });
  try {
    const [chunk] = chunksOf(guideText(2));
    const multi = (await qaGenerator({ client, questionsPerChunk: 3, styles: [{ style: "multi-turn", weight: 1 }] })(chunk!, ctx)) as QaRecord[];
    assert.equal(multi.length, 1, "the one-turn conversation is dropped");
    assert.equal(multi[0]!.style, "multi-turn");
    assert.deepEqual(multi[0]!.turns!.map((t) => t.question), ["What does chunk overlap control?", "Why does that matter?"]);
    assert.equal(multi[0]!.question, "What does chunk overlap control?");
    assert.ok(multi[0]!.usage.inputTokens > 0, "the call's tokens are booked on the record");
    assert.ok(JSON.stringify(server.requests[0]!.schema).includes("turns"), "the conversation schema was sent");
    assert.ok(server.requests[0]!.messages.some((m) => /follow-up question builds on the turns before it/.test(m.content)));

    const reasoning = (await qaGenerator({ client, questionsPerChunk: 3, styles: [{ style: "reasoning", weight: 1 }] })(chunk!, ctx)) as QaRecord[];
    assert.equal(reasoning.length, 1);
    assert.equal(reasoning[0]!.style, "reasoning");
    assert.equal(reasoning[0]!.answer, "200 characters.");
    assert.match(reasoning[0]!.reasoning!, /number of characters/);
    assert.ok(JSON.stringify(server.requests[1]!.schema).includes("reasoning"));
    assert.notEqual(reasoning[0]!.id, multi[0]!.id);
  } finally {
    await client.close();
    await server.close();
  }
});
