// Each generation style (issue 17 § 2) through the whole data path, offline: chunk → generate-qa → validate →
// format (every template) → qa-train → finetune. Checks what each style promises on the way: conversations of
// 2–4 turns with follow-ups, every turn checked and every assistant turn trained; reasoning kept apart from the
// answer and written the way trainers take it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CHATML_TEMPLATE } from "../../src/chat/template.ts";
import type { StyleShare } from "../../src/config.ts";
import { evalItemsFromExample } from "../../src/export/eval.ts";
import { ExampleRecord, type ChunkRecord, type DocRecord, type QaRecord, type QaStyle, type ScoredRecord } from "../../src/records.ts";
import { runFormat } from "../../src/steps/format.ts";
import { loadTokenizer } from "../../src/tokenizer/load.ts";
import { qaTrain, tokenizeConversation } from "../../src/train/qa-train.ts";
import { finetune } from "../../src/train/trainer-run.ts";
import { chunker } from "../../src/transforms/chunk.ts";
import { conversationOf, TEMPLATES } from "../../src/transforms/format-templates.ts";
import { qaGenerator } from "../../src/transforms/generate-qa.ts";
import { styleFor } from "../../src/transforms/qa-styles.ts";
import { markDuplicates, qaScorer } from "../../src/transforms/validate.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-styles-"));
after(() => rmSync(root, { recursive: true, force: true }));
const signal = new AbortController().signal;

async function chunks(): Promise<ChunkRecord[]> {
  const doc: DocRecord = { type: "doc", id: "doc_guide", source: "user-guide.md", text: readFileSync("data/documents/user-guide.md", "utf8") };
  const out: ChunkRecord[] = [];
  for await (const c of (await chunker()(doc, { index: 0, signal })) as AsyncIterable<ChunkRecord>) out.push(c);
  return out;
}

async function generate(style: QaStyle, input: ChunkRecord[]): Promise<QaRecord[]> {
  const gen = qaGenerator({ client: null, questionsPerChunk: 3, styles: [{ style, weight: 1 }] });
  const out: QaRecord[] = [];
  for (const c of input) out.push(...((await gen(c, { index: 0, signal })) as QaRecord[]));
  return out;
}

async function validate(qa: QaRecord[]): Promise<ScoredRecord[]> {
  const score = qaScorer({ judge: null, threshold: 8, filterThreshold: 7 });
  const out: ScoredRecord[] = [];
  for await (const item of markDuplicates(qa)) out.push((await score(item, { index: 0, signal })) as ScoredRecord);
  return out;
}

test("a style mix gives each chunk one style, fixed by its id, in about the asked shares", () => {
  const mix: StyleShare[] = [{ style: "qa", weight: 0.6 }, { style: "multi-turn", weight: 0.3 }, { style: "reasoning", weight: 0.1 }];
  const ids = Array.from({ length: 3000 }, (_, i) => `chunk_${i}`);
  const counts = { qa: 0, "multi-turn": 0, reasoning: 0 };
  for (const id of ids) counts[styleFor(id, mix)]++;
  assert.ok(Math.abs(counts.qa / 3000 - 0.6) < 0.04 && Math.abs(counts["multi-turn"] / 3000 - 0.3) < 0.04 && Math.abs(counts.reasoning / 3000 - 0.1) < 0.03, JSON.stringify(counts));
  assert.deepEqual(ids.slice(0, 50).map((id) => styleFor(id, mix)), ids.slice(0, 50).map((id) => styleFor(id, mix)));
});

test("multi-turn and reasoning records: shape, every turn checked, each goes format (every template) → qa-train → finetune", async () => {
  const input = await chunks();
  for (const style of ["qa", "multi-turn", "reasoning"] as const) {
    const qa = await generate(style, input);
    assert.ok(qa.length >= 3, `${style}: records made`);
    if (style === "multi-turn") {
      for (const r of qa) {
        assert.equal(r.style, "multi-turn");
        assert.ok(r.turns!.length >= 2 && r.turns!.length <= 4, `${r.turns!.length} turns`);
        assert.deepEqual([r.question, r.answer], [r.turns![0]!.question, r.turns![0]!.answer], "the first turn is also the record's pair");
        for (const t of r.turns!) assert.ok(r.context!.includes(t.evidence), "each turn quotes the chunk");
      }
      // Follow-ups lean on the turn before ("What about …?", "it", "And …"): not the stand-alone question.
      const followUps = qa.flatMap((r) => r.turns!.slice(1).map((t) => t.question));
      assert.ok(followUps.every((q) => /^(?:And |What about )|\b(?:it|they)\b/.test(q)), followUps.join(" | "));
    }
    if (style === "reasoning") {
      for (const r of qa) {
        assert.equal(r.style, "reasoning");
        assert.ok(r.reasoning && r.reasoning.length > r.answer.length / 2, "reasoning kept apart from the answer");
        assert.ok(!r.answer.includes(r.reasoning!), "the answer does not repeat the reasoning");
      }
    }

    const scored = await validate(qa);
    assert.equal(scored.length, qa.length, "validate drops nothing");
    if (style === "multi-turn") for (const s of scored) assert.equal(s.checks.turns!.length, s.turns!.length, "every turn checked");
    const passed = scored.filter((s) => s.verdict === "PASS").length;
    assert.ok(passed / scored.length >= 0.8, `${style}: ${passed}/${scored.length} PASS`);

    for (const template of TEMPLATES) {
      const dir = join(root, style, template);
      const final = join(dir, "training_data_final.jsonl");
      async function* records() { yield* scored; }
      const formatted = await runFormat({ output: final, toStdout: false, records: false, options: { template, threshold: 7, validFraction: 0 } }, records());
      assert.ok(formatted.stats.kept.train >= 3, `${style}/${template}: examples kept`);
      const lines = readFileSync(final, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const conv = conversationOf(lines[0]);
      assert.ok(conv, `${style}/${template}: a conversation qa-train can read`);
      const first = scored.find((s) => s.verdict !== "FAIL")!;
      if (style === "multi-turn") {
        assert.equal(conv!.filter((m) => m.role === "assistant").length, first.turns!.length, `${template} keeps every turn`);
        if (template === "alpaca") assert.equal(lines[0].history.length, first.turns!.length - 1, "alpaca: earlier turns in history");
      }
      if (style === "reasoning") assert.match(conv!.at(-1)!.content, /^<think>\n[\s\S]+\n<\/think>\n\n\S/, `${template}: reasoning in a think block before the answer`);

      const { report } = await qaTrain({ input: final, outDir: join(dir, "tokens"), modelName: "tiny", seqLen: 256 });
      assert.equal(report.badLines, 0, `${style}/${template}`);
      assert.ok(report.train.lossTokens > 0);
    }
    const ft = await finetune({
      tokensDir: join(root, style, "openai", "tokens"), outDir: join(root, style, "ft"), epochs: 1, lr: 3e-3, rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"],
      batch: 4, gradAccum: 1, backend: "wasm", threads: 1, resume: false, checkpointEvery: 100, evalEvery: 100, seed: 1,
    });
    assert.equal(ft.status, "completed", style);
  }
});

test("qa-train trains on every assistant turn of a conversation, and nothing else", async () => {
  const dir = join(root, "mask");
  const scored = await validate(await generate("multi-turn", await chunks()));
  async function* records() { yield* scored; }
  const final = join(dir, "training_data_final.jsonl");
  await runFormat({ output: final, toStdout: false, records: false, options: { template: "openai", threshold: 0, validFraction: 0 } }, records());
  const { meta } = await qaTrain({ input: final, outDir: join(dir, "tokens"), modelName: "tiny", seqLen: 512 });
  const tok = await loadTokenizer(meta.basePath);
  const messages = conversationOf(JSON.parse(readFileSync(final, "utf8").split("\n")[0]!))!;
  const info = { template: CHATML_TEMPLATE, source: "chatml", eogTokens: ["<|im_end|>"] };
  const ex = tokenizeConversation(tok, info, messages, true);
  const answers = messages.filter((m) => m.role === "assistant").map((m) => m.content);
  assert.equal(ex.lossSpans!.length, answers.length, "one loss span per assistant turn");
  ex.lossSpans!.forEach(([a, b], k) => {
    assert.equal(tok.decode(ex.tokens.slice(a, b), { special: true }).replace(/<\|im_end\|>\s*$/, "").trim(), answers[k]!.trim(), `turn ${k + 1}`);
  });
  // Outside the spans: the prompts (user turns, role headers), never trained on.
  const inSpan = (i: number) => ex.lossSpans!.some(([a, b]) => i >= a && i < b);
  const outside = tok.decode(ex.tokens.filter((_, i) => !inSpan(i)), { special: true });
  for (const m of messages.filter((x) => x.role === "user")) assert.ok(outside.includes(m.content.trim()), "user turns are prompt");
});

test("eval asks a held-out conversation turn by turn, each after the turns before it", () => {
  const ex = ExampleRecord.parse({
    type: "example", id: "ex1", qaId: "q", docId: "d", chunkId: "c", source: "s", template: "openai", split: "valid",
    data: { messages: [{ role: "system", content: "S" }, { role: "user", content: "Q1?" }, { role: "assistant", content: "A1." }, { role: "user", content: "And Q2?" }, { role: "assistant", content: "A2." }] },
  });
  const items = evalItemsFromExample(ex);
  assert.deepEqual(items, [
    { id: "ex1", question: "Q1?", reference: "A1.", system: "S" },
    { id: "ex1#2", question: "And Q2?", reference: "A2.", system: "S", history: [{ role: "user", content: "Q1?" }, { role: "assistant", content: "A1." }] },
  ]);
});
