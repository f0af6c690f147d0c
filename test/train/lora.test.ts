// LoRA layers: gradients against finite differences, zero-init identity, adapter tensors round trip.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { DEFAULT_TARGETS, Lora } from "../../src/train/lora.ts";
import { LlamaModel, type Batch } from "../../src/model/llama.ts";
import { useFastBatchedMatMul as useBatchedAttention } from "../../src/kernels/fused-ops.ts";
import { testConfig } from "../model/fixture.ts";
import { checkGradients } from "../fixtures/grad-check.ts";

const config = testConfig("llama", 64, { dim: 32, heads: 4, kvHeads: 2, headDim: 8, ffn: 48 });

function batchOf(seed: number): Batch {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) % 64);
  const inputs = Int32Array.from({ length: 16 }, rnd);
  const targets = Int32Array.from({ length: 16 }, rnd);
  const weights = Float32Array.from({ length: 16 }, (_, i) => (i % 8 < 3 ? 0 : 1)); // a masked "prompt" per row
  return { batch: 2, seq: 8, inputs, targets, weights };
}


test("LoRA gradients (through attention, rope, norms and masked loss) match finite differences", async () => {
  await useBackend("cpu");
  const model = LlamaModel.random(config, 3, { std: 0.2 });
  const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: DEFAULT_TARGETS, seed: 5 });
  // B starts at zero (so A's gradient would be zero): give it values to make the check meaningful.
  let seed = 11;
  for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.2, "float32", seed++));
  const batch = batchOf(1);
  const checked = checkGradients(lora.variables(), () => model.loss(batch, { hook: lora }), "lora");
  assert.equal(checked, 2 * 2 * 7 * config.layers);
  lora.dispose();
  model.dispose();
});

test("full-training gradients (embedding, projections, norms, output) match finite differences", async () => {
  await useBackend("cpu");
  const model = LlamaModel.random(config, 4, { std: 0.2, trainable: true });
  const batch = batchOf(2);
  const names = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.1.attn_norm.weight", "blk.1.ffn_down.weight", "output.weight"];
  const vars = names.map((n) => model.weights.get(n) as tf.Variable);
  checkGradients(vars, () => model.loss(batch), "full");
  model.dispose();
});

test("a fresh adapter leaves the model unchanged and round-trips through llama.cpp-layout tensors", async () => {
  await useBackend("cpu");
  const model = LlamaModel.random(config, 6, { std: 0.2 });
  const tokens = batchOf(3).inputs;
  const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"], seed: 5 });
  const plain = tf.tidy(() => model.forward(tokens, 2, 8).dataSync() as Float32Array);
  const withLora = tf.tidy(() => model.forward(tokens, 2, 8, { hook: lora }).dataSync() as Float32Array);
  assert.deepEqual(withLora, plain);
  for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.2, "float32", 9));
  const raw = lora.rawTensors();
  assert.equal(raw.length, 2 * 2 * config.layers);
  const a0 = raw.find((t) => t.name === "blk.0.attn_q.weight.lora_a")!;
  assert.deepEqual(a0.dims, [config.dim, 4]);
  assert.deepEqual(raw.find((t) => t.name === "blk.0.attn_v.weight.lora_b")!.dims, [4, config.kvHeads * config.headDim]);
  const copy = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"], seed: 99 });
  copy.load(raw);
  const y1 = tf.tidy(() => model.forward(tokens, 2, 8, { hook: lora }).dataSync() as Float32Array);
  const y2 = tf.tidy(() => model.forward(tokens, 2, 8, { hook: copy }).dataSync() as Float32Array);
  assert.deepEqual(y2, y1);
  assert.notDeepEqual(y1, plain);
  lora.dispose(); copy.dispose(); model.dispose();
});

test("batched attention (used with the native matmul kernel) equals per-head attention, GQA and packed rows included", async () => {
  await useBackend("cpu");
  const model = LlamaModel.random(config, 8, { std: 0.2 });
  const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"], seed: 5 });
  let seed = 21;
  for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.2, "float32", seed++));
  const batch = { ...batchOf(4), positions: Int32Array.from({ length: 16 }, (_, i) => (i % 8 < 5 ? i % 8 : (i % 8) - 5)) };
  const run = (batched: boolean) => {
    useBatchedAttention(batched);
    const { value, grads } = tf.variableGrads(() => model.loss(batch, { hook: lora }), lora.variables());
    const out = { loss: value.dataSync()[0]!, grads: lora.variables().map((v) => grads[v.name]!.dataSync() as Float32Array) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  const perHead = run(false);
  const batched = run(true);
  assert.ok(Math.abs(perHead.loss - batched.loss) < 1e-5);
  perHead.grads.forEach((g, i) => g.forEach((x, j) => assert.ok(Math.abs(x - batched.grads[i]![j]!) < 1e-4 + 1e-3 * Math.abs(x), `grad ${i}[${j}]`)));
  const checked = checkGradients(lora.variables().slice(0, 8), () => model.loss(batch, { hook: lora }), "batched");
  assert.equal(checked, 16);
  useBatchedAttention(false);
  lora.dispose(); model.dispose();
});

test("creating and disposing an adapter frees every tensor it made", async () => {
  await useBackend("cpu");
  const before = tf.memory().numTensors;
  const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: DEFAULT_TARGETS, seed: 1 });
  assert.ok(tf.memory().numTensors > before);
  lora.dispose();
  assert.equal(tf.memory().numTensors, before);
});
