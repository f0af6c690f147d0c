// batchedAttention equals the per-head attention of ../model/ops.ts (values and gradients), with
// grouped kv heads and with packed rows; it runs with or without the native kernel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../../src/train/backend.ts";
import { attention, type AttentionShape } from "../../../src/train/model/ops.ts";
import { batchedAttention } from "../../../src/train/native/batched-attention.ts";

function maxRelDiff(x: tf.Tensor, y: tf.Tensor): number {
  const a = x.dataSync(), b = y.dataSync();
  assert.equal(a.length, b.length);
  let d = 0, s = 1e-30;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); s = Math.max(s, Math.abs(b[i]!)); }
  return d / s;
}

const cases: Array<[string, AttentionShape]> = [
  ["multi-head", { batch: 2, seq: 12, heads: 4, kvHeads: 4, headDim: 8 }],
  ["grouped kv (8 heads, 2 kv heads)", { batch: 3, seq: 10, heads: 8, kvHeads: 2, headDim: 4 }],
  ["packed rows", { batch: 2, seq: 9, heads: 4, kvHeads: 2, headDim: 6, positions: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 0, 1, 0, 1, 2, 3, 4, 5, 0, 1, 2]) }],
];

for (const [name, s] of cases) {
  test(`batchedAttention equals per-head attention: ${name}`, async () => {
    await useBackend("wasm", 2);
    tf.tidy(() => {
      const rows = s.batch * s.seq;
      const q = tf.randomNormal([rows, s.heads * s.headDim], 0, 1, "float32", 1) as tf.Tensor2D;
      const k = tf.randomNormal([rows, s.kvHeads * s.headDim], 0, 1, "float32", 2) as tf.Tensor2D;
      const v = tf.randomNormal([rows, s.kvHeads * s.headDim], 0, 1, "float32", 3) as tf.Tensor2D;
      const w = tf.randomNormal([rows, s.heads * s.headDim], 0, 1, "float32", 4);
      const run = (fn: typeof attention) => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(fn(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, s), w)))([q, k, v]);
        return { out: fn(q, k, v, s), value, grads };
      };
      const ref = run(attention), got = run(batchedAttention);
      assert.deepEqual(got.out.shape, ref.out.shape);
      assert.ok(maxRelDiff(got.out, ref.out) < 1e-5, "output");
      assert.ok(maxRelDiff(got.value, ref.value) < 1e-5, "loss");
      ["dq", "dk", "dv"].forEach((g, i) => assert.ok(maxRelDiff(got.grads[i]!, ref.grads[i]!) < 1e-4, g));
    });
  });
}
