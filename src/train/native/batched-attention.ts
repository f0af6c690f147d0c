// Causal grouped-query attention as a few batched matMuls (one per product over all batches and heads),
// for when the native BLAS kernel is active: OpenBLAS runs batched and transposed products at full
// speed, so the per-(batch, head) 2-D split that tfjs-wasm's stock kernel needs is pure overhead.
// Same contract as attention() in ../model/ops.ts: rows [B*T, H*hd] / [B*T, KV*hd] in, [B*T, H*hd] out.
import * as tf from "@tensorflow/tfjs";
import type { AttentionShape } from "../model/ops.ts";

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;
type CustomFn = (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: any, saved: any) => tf.Tensor | tf.Tensor[] };
const custom = (fn: CustomFn) => tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * Query heads are grouped by the kv head they read (head h reads kv head floor(h / G)), so the G
 * query heads of a group stack into one [G*T, hd] matrix against that group's [T, hd] keys: no kv
 * repeat. Layout: [B*KV, G*T, hd] for queries, [B*KV, T, hd] for keys and values.
 */
export function batchedAttention(q: T2, k: T2, v: T2, s: AttentionShape): T2 {
  const { batch: B, seq: T, heads: H, kvHeads: KV, headDim: hd } = s;
  const G = H / KV;
  const scale = 1 / Math.sqrt(hd);
  const toGroups = (x: tf.Tensor, heads: number): T3 =>
    tf.reshape(tf.transpose(tf.reshape(x, [B, T, heads, hd]), [0, 2, 1, 3]), [B * KV, (heads / KV) * T, hd]);
  const fromGroups = (x: tf.Tensor, heads: number): T2 =>
    tf.reshape(tf.transpose(tf.reshape(x, [B, heads, T, hd]), [0, 2, 1, 3]), [B * T, heads * hd]);
  // Additive mask [B*KV or 1, G*T, T], rebuilt in forward and backward (captured tensors get tidied).
  const mask = (): tf.Tensor => {
    const rows = s.positions ? B : 1;
    const data = new Float32Array(rows * T * T).fill(-1e9);
    for (let b = 0; b < rows; b++) {
      for (let i = 0; i < T; i++) {
        const start = s.positions ? i - s.positions[b * T + i]! : 0;
        for (let j = Math.max(0, start); j <= i; j++) data[(b * T + i) * T + j] = 0;
      }
    }
    // Packed rows need a mask per batch row (so per kv group); otherwise one mask broadcasts over all.
    const perGroup = s.positions ? KV : 1;
    return tf.reshape(tf.tile(tf.tensor4d(data, [rows, 1, T, T]), [1, perGroup, G, 1]), [rows * perGroup, G * T, T]);
  };
  const probs = (qg: T3, kg: T3): T3 => tf.softmax(tf.add(tf.mul(tf.matMul(qg, kg, false, true), scale), mask())) as T3;

  const f = custom((qIn: tf.Tensor, kIn: tf.Tensor, vIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([qIn, kIn, vIn]);
    const value = tf.tidy(() => fromGroups(tf.matMul(probs(toGroups(qIn, H), toGroups(kIn, KV)), toGroups(vIn, KV)), H));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [qg, kg, vg] = [toGroups(saved[0]!, H), toGroups(saved[1]!, KV), toGroups(saved[2]!, KV)];
        const dO = toGroups(dy, H);
        const p = probs(qg, kg);
        const dV = tf.matMul(p, dO, true, false);
        const dP = tf.matMul(dO, vg, false, true);
        const dS = tf.mul(tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))), scale) as T3;
        return [fromGroups(tf.matMul(dS, kg), H), fromGroups(tf.matMul(dS, qg, true, false), KV), fromGroups(dV, KV)];
      }),
    };
  });
  return f(q, k, v) as T2;
}
