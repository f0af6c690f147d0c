// Training end to end on a small model: overfitting 20 Q&A pairs, and resume equal to an uninterrupted run.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { CHATML_TEMPLATE, type ChatTemplateInfo } from "../../src/chat/template.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.ts";
import { Lora } from "../../src/train/lora.ts";
import { greedy } from "../../src/model/generate.ts";
import { LlamaModel } from "../../src/model/llama.ts";
import { learningRate } from "../../src/train/optimizer.ts";
import { packExamples } from "../../src/train/qa-train-pack.ts";
import { tokenizeConversation } from "../../src/train/qa-train.ts";
import { Trainer, type TrainOptions } from "../../src/train/trainer.ts";
import { spmTokenizer } from "../../src/tokenizer/load.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { testConfig } from "../model/fixture.ts";

const COLORS = ["red", "blue", "green", "gold", "gray", "pink", "teal", "navy", "plum", "mint"];
const PAIRS = Array.from({ length: 20 }, (_, i) => ({
  q: `What color is box ${i + 1}?`,
  a: `Box ${i + 1} is ${COLORS[(i * 3) % COLORS.length]}.`,
}));
const INFO: ChatTemplateInfo = { template: CHATML_TEMPLATE, source: "chatml", eogTokens: ["<|im_end|>"] };

function setup() {
  const vocab = trainSpmVocab(PAIRS.map((p) => `${p.q}\n${p.a}`).join("\n").repeat(2), { vocabSize: 300 });
  const tok = spmTokenizer(vocab);
  const examples = PAIRS.map((p) => tokenizeConversation(tok, INFO, [{ role: "user", content: p.q }, { role: "assistant", content: p.a }], true));
  return { tok, examples, config: testConfig("llama", vocab.tokens.length, { dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 128 }) };
}

test("learning-rate schedule warms up linearly, then decays by cosine to 10%", () => {
  assert.equal(learningRate(0, 100, 1, 10), 0.1);
  assert.equal(learningRate(9, 100, 1, 10), 1);
  assert.ok(Math.abs(learningRate(55, 100, 1, 10) - 0.55) < 1e-9);
  assert.ok(Math.abs(learningRate(100, 100, 1, 10) - 0.1) < 1e-9);
});

test("overfit: 20 pairs from scratch reach loss < 0.1 and greedy decoding reproduces every answer", async () => {
  await useBackend("wasm");
  const { tok, examples, config } = setup();
  const { rows } = packExamples(examples, 128, tok.eos);
  const model = LlamaModel.random(config, 1, { trainable: true });
  const opts: TrainOptions = { epochs: 200, lr: 1e-2, batch: rows.rows, gradAccum: 1, warmupSteps: 10, maxGradNorm: 1, weightDecay: 0, evalEvery: 0, seed: 1 };
  const trainer = new Trainer(model, undefined, rows, undefined, opts);
  let last = Infinity;
  await trainer.run({ onStep: (p) => { last = p.loss; }, shouldStop: () => last < 0.01 });
  assert.ok(last < 0.1, `final training loss ${last}`);
  const im_end = tok.encode("<|im_end|>", { special: true })[0]!;
  for (const [i, ex] of examples.entries()) {
    const out = greedy(model, ex.tokens.slice(0, ex.lossFrom), { maxNew: 24, stop: [im_end, tok.eos] });
    assert.equal(tok.decode(out).trim(), PAIRS[i]!.a, `pair ${i}`);
  }
  trainer.dispose();
  model.dispose();
});

test("resume from a checkpoint gives exactly the uninterrupted result (LoRA with dropout, grad accumulation)", async () => {
  await useBackend("wasm");
  const { tok, examples, config } = setup();
  const { rows } = packExamples(examples, 32, tok.eos);
  const base = LlamaModel.random(config, 2, { std: 0.1 });
  const opts: TrainOptions = { epochs: 2, lr: 5e-3, batch: 2, gradAccum: 2, warmupSteps: 2, maxGradNorm: 1, weightDecay: 0.01, evalEvery: 0, seed: 3 };
  const lora = () => new Lora(config, { rank: 4, alpha: 8, dropout: 0.1, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 9 });
  const run = (l: Lora) => new Trainer(base, l, rows, rows, opts);

  const l1 = lora();
  const full = run(l1);
  await full.run();
  const expected = full.state();

  const l2 = lora();
  const first = run(l2);
  const half = Math.floor(first.totalSteps / 2);
  await first.run({ shouldStop: () => first.step >= half });
  assert.equal(first.step, half);
  const dir = mkdtempSync(join(tmpdir(), "d2m-ckpt-"));
  await saveCheckpoint(dir, first.state(), "h1");
  await assert.rejects(loadCheckpoint(dir, "other"), /different training settings/);

  const l3 = lora();
  const resumed = run(l3);
  resumed.load(await loadCheckpoint(dir, "h1"));
  await resumed.run();
  const got = resumed.state();
  assert.equal(got.step, expected.step);
  assert.ok(expected.history.at(-1)!.loss < expected.history[0]!.loss, "the run learned something");
  assert.deepEqual(got.history.map((h) => h.loss), expected.history.map((h) => h.loss));
  for (let i = 0; i < expected.trainable.length; i++) assert.deepEqual(got.trainable[i], expected.trainable[i]);
  for (const t of [full, first, resumed]) t.dispose();
  for (const l of [l1, l2, l3]) l.dispose();
  base.dispose();
  assert.ok(tf.memory().numTensors < 1000);
});
