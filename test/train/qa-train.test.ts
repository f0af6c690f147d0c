// qa-train: every example shape, chat-template rendering, prompt masking, packing and its report.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { LlamaModel } from "../../src/model/llama.ts";
import { messagesFromData, qaTrain } from "../../src/train/qa-train.ts";
import { readTokenRows } from "../../src/train/qa-train-files.ts";
import { packExamples } from "../../src/train/qa-train-pack.ts";
import { loadTokenizer } from "../../src/tokenizer/load.ts";
import { testConfig } from "../model/fixture.ts";

const pairs = Array.from({ length: 12 }, (_, i) => ({ q: `Which river feeds mill number ${i}?`, a: `The Alder river feeds mill ${i}, north of the bridge.` }));

function exampleLines(): string[] {
  return pairs.map((p, i) => {
    const data = [
      { instruction: p.q, input: "", output: p.a },
      { messages: [{ role: "system", content: "Answer from the documents." }, { role: "user", content: p.q }, { role: "assistant", content: p.a }] },
      { conversations: [{ from: "human", value: p.q }, { from: "gpt", value: p.a }] },
    ][i % 3]!;
    // Half are full example records with their own split, half bare data lines.
    return JSON.stringify(i % 2 === 0
      ? { type: "example", id: `ex${i}`, qaId: `qa${i}`, docId: "d", chunkId: "c", source: "s.md", template: "alpaca", split: i === 4 ? "valid" : "train", data }
      : data);
  });
}

test("messagesFromData reads alpaca, chatml/openai messages and sharegpt conversations", () => {
  assert.deepEqual(messagesFromData({ instruction: "Q?", input: "ctx", output: "A." }), [{ role: "user", content: "Q?\n\nctx" }, { role: "assistant", content: "A." }]);
  assert.deepEqual(messagesFromData({ conversations: [{ from: "human", value: "Q?" }, { from: "gpt", value: "A." }] }), [{ role: "user", content: "Q?" }, { role: "assistant", content: "A." }]);
  assert.equal(messagesFromData({ messages: [{ role: "user", content: "no answer" }] }), undefined);
});

test("qa-train with `tiny`: masks prompts, packs rows, writes token files, base model and report", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-qa-train-"));
  const input = join(dir, "training_data_final.jsonl");
  writeFileSync(input, exampleLines().join("\n") + "\n");
  const out = join(dir, "tokens");
  const { report, meta } = await qaTrain({ input, outDir: out, modelName: "tiny", seqLen: 64 });
  assert.ok(existsSync(join(out, "base.gguf")) && existsSync(join(out, "qa_train_report.json")));
  assert.equal(meta.tiny, true);
  assert.equal(report.train.examples + report.valid.examples, pairs.length);
  assert.ok(report.valid.examples >= 1);
  assert.equal(report.train.truncated, 0);
  assert.ok(report.train.packingEfficiency > 0.5 && report.train.packingEfficiency <= 1);
  const tok = await loadTokenizer(meta.basePath);
  const rows = await readTokenRows(join(out, "train.tokens"));
  const valid = await readTokenRows(join(out, "valid.tokens"));
  assert.equal(rows.rows, report.train.rows);
  assert.equal(valid.rows, report.valid.rows);
  let lossText = "";
  let promptText = "";
  for (const set of [rows, valid]) {
    for (let r = 0; r < set.rows; r++) {
      const inp = set.inputs(r), tgt = set.targets(r);
      lossText += tok.decode(Array.from(tgt).filter((t) => t >= 0), { special: true });
      promptText += tok.decode(Array.from(inp).filter((_, j) => tgt[j]! < 0), { special: true });
    }
  }
  // Loss falls on answers (and their end-of-turn marker) only; questions appear only in no-loss positions.
  for (const p of pairs) {
    assert.ok(lossText.includes(p.a), `answer "${p.a}" carries loss`);
    assert.ok(!lossText.includes(p.q), `question "${p.q}" carries no loss`);
    assert.ok(promptText.includes(p.q));
  }
  assert.ok(lossText.includes("<|im_end|>"), "the end-of-turn token is learned");
  assert.ok(!lossText.includes("<|im_start|>"));

  const short = await qaTrain({ input, outDir: join(dir, "short"), modelName: "tiny", seqLen: 24 });
  assert.ok(short.report.train.truncated + short.report.train.dropped > 0, "long examples are counted as truncated or dropped");
});

test("qa-train names the bad line, or counts it with skipBadLines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-qa-bad-"));
  const input = join(dir, "final.jsonl");
  writeFileSync(input, [...exampleLines().slice(0, 3), "{not json", JSON.stringify({ foo: 1 })].join("\n"));
  await assert.rejects(qaTrain({ input, outDir: join(dir, "t"), modelName: "tiny", seqLen: 64 }), /final\.jsonl:4.*not valid JSON/);
  const { report } = await qaTrain({ input, outDir: join(dir, "t"), modelName: "tiny", seqLen: 64, skipBadLines: true });
  assert.equal(report.badLines, 2);
});

test("qa-train takes format's held-out file (<output>.valid.jsonl) as the validation split", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-qa-train-valid-"));
  const input = join(dir, "training_data_final.jsonl");
  const bare = pairs.map((p) => JSON.stringify({ instruction: p.q, input: "", output: p.a }));
  writeFileSync(input, bare.slice(0, 9).join("\n") + "\n");
  writeFileSync(join(dir, "training_data_final.valid.jsonl"), bare.slice(9).join("\n") + "\n");
  const { report } = await qaTrain({ input, outDir: join(dir, "t"), modelName: "tiny", seqLen: 64 });
  assert.equal(report.train.examples, 9, "every line of the training file is trained on");
  assert.equal(report.valid.examples, 3, "the validation split is exactly format's held-out file");
});

test("a packed example sees only itself: its logits equal those of the example alone", async () => {
  await useBackend("cpu");
  const config = testConfig("llama", 64, { dim: 32, heads: 4, kvHeads: 2, headDim: 8, ffn: 48 });
  const model = LlamaModel.random(config, 5, { std: 0.2 });
  const a = { tokens: [1, 5, 9, 13, 17, 21], lossFrom: 3 };
  const b = { tokens: [1, 7, 11, 3, 2], lossFrom: 2 };
  const { rows } = packExamples([a, b], 16, 0);
  assert.equal(rows.rows, 1);
  const packed = tf.tidy(() => model.forward(rows.inputs(0), 1, 16, { positions: rows.positions(0) }).arraySync() as number[][]);
  const alone = tf.tidy(() => model.forward(Int32Array.from(b.tokens.slice(0, -1)), 1, 4).arraySync() as number[][]);
  for (let j = 0; j < 4; j++) {
    for (let v = 0; v < 64; v++) assert.ok(Math.abs(packed[5 + j]![v]! - alone[j]![v]!) < 1e-4, `position ${j}, token ${v}`);
  }
  model.dispose();
});
