// The native fused kernels against the tfjs ops they replace (values and gradients), on the wasm and
// cpu backends: causal and packed attention with grouped kv heads, and the zero-copy Identity/Cast.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../../src/train/backend.ts";
import { attention, useFusedOps, type AttentionShape, type FusedOps } from "../../../src/train/model/ops.ts";
import { loadNativeMatMul, nativeMatMulUnavailableReason } from "../../../src/train/native/addon.ts";
import { registerFusedKernels } from "../../../src/train/native/native-fused.ts";

const skip = loadNativeMatMul() ? false : `native addon unavailable: ${nativeMatMulUnavailableReason()}`;

function randomArray(n: number, seed: number, amplitude = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = (s / 2 ** 31 - 1) * amplitude; }
  return out;
}

function maxRelativeError(x: Float32Array, y: Float32Array): number {
  assert.equal(x.length, y.length);
  let diff = 0, scale = 1e-30;
  for (let i = 0; i < x.length; i++) {
    assert.ok(Number.isFinite(x[i]!), `non-finite value at ${i}`);
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!)); scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}

/** Output and the gradients of Σ out * w (a fixed random weighting) for q, k, v, under `ops`. */
function attentionWithGrads(ops: FusedOps | undefined, s: AttentionShape, seed: number) {
  useFusedOps(ops);
  try {
    const rows = s.batch * s.seq;
    const q = tf.tensor2d(randomArray(rows * s.heads * s.headDim, seed, 2), [rows, s.heads * s.headDim]);
    const k = tf.tensor2d(randomArray(rows * s.kvHeads * s.headDim, seed + 1, 2), [rows, s.kvHeads * s.headDim]);
    const v = tf.tensor2d(randomArray(rows * s.kvHeads * s.headDim, seed + 2), [rows, s.kvHeads * s.headDim]);
    const w = tf.tensor2d(randomArray(rows * s.heads * s.headDim, seed + 3), [rows, s.heads * s.headDim]);
    const out = attention(q, k, v, s).dataSync() as Float32Array;
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, s), w)))([q, k, v]);
    const result = { out: Float32Array.from(out), grads: grads.map((g) => Float32Array.from(g.dataSync() as Float32Array)) };
    tf.dispose([q, k, v, w, ...grads]);
    return result;
  } finally {
    useFusedOps(undefined);
  }
}

/** Positions of packed rows: examples of the given lengths, each restarting at 0. */
function packedPositions(batch: number, lengths: number[]): Int32Array {
  const row: number[] = [];
  for (const n of lengths) for (let i = 0; i < n; i++) row.push(i);
  return Int32Array.from({ length: batch * row.length }, (_, i) => row[i % row.length]!);
}

for (const backend of ["wasm", "cpu"] as const) {
  const shapes: Array<[string, AttentionShape]> = [
    ["causal, one kv head per head", { batch: 2, seq: 70, heads: 2, kvHeads: 2, headDim: 8 }],
    ["causal, grouped kv heads, seq past one block", { batch: 2, seq: 150, heads: 4, kvHeads: 2, headDim: 16 }],
    ["packed rows (positions restart per example)", { batch: 2, seq: 100, heads: 4, kvHeads: 1, headDim: 8, positions: packedPositions(2, [30, 5, 65]) }],
  ];
  for (const [name, shape] of shapes) {
    test(`fused attention equals the tfjs ops on ${backend}: ${name}`, { skip }, async () => {
      await useBackend(backend, 2);
      const fused = registerFusedKernels(backend);
      assert.ok(fused?.attention, "fused attention registered");
      const stock = attentionWithGrads(undefined, shape, 11);
      const native = attentionWithGrads(fused, shape, 11);
      assert.ok(maxRelativeError(native.out, stock.out) < 1e-5, `output differs: ${maxRelativeError(native.out, stock.out)}`);
      for (const [i, g] of ["dq", "dk", "dv"].entries()) {
        const e = maxRelativeError(native.grads[i]!, stock.grads[i]!);
        assert.ok(e < 1e-4, `${g} differs: ${e}`);
      }
    });
  }
}

test("native attention rejects positions that point before the row's start", { skip }, () => {
  const addon = loadNativeMatMul()!;
  const f = (n: number) => new Float32Array(n);
  // Row 1 of one batch row with seq 2 claims position 2 (> its index): no key range exists.
  assert.throws(() => addon.attentionForward(f(4), f(4), f(4), f(4), f(2), 1, 2, 1, 1, 2, Int32Array.from([0, 2]), 1), /positions/);
  assert.throws(() => addon.attentionForward(f(3), f(4), f(4), f(4), f(2), 1, 2, 1, 1, 2, null, 1), /sizes/);
});

test("wasm Identity and same-dtype Cast share the data instead of copying it", async () => {
  await useBackend("wasm", 2);
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  // The backend's count of distinct buffers (tf.memory() counts bytes per tensor, shared or not).
  const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
  const before = buffers();
  const y = tf.clone(x);
  const z = tf.cast(x, "float32");
  assert.equal(buffers(), before, "no new buffer for a clone or a same-dtype cast");
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3, 4], "the clone outlives the original");
  assert.deepEqual([...z.dataSync()], [1, 2, 3, 4]);
  const i = tf.cast(y, "int32");
  assert.equal(buffers(), before + 1, "a cast to another dtype copies");
  assert.equal(i.dtype, "int32");
  assert.deepEqual([...i.dataSync()], [1, 2, 3, 4]);
  tf.dispose([y, z, i]);
});
