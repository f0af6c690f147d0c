// The output head and its cross-entropy a block of rows at a time. At a real vocabulary the logits are the
// biggest tensor of a step: 512 rows × 151,936 (Qwen) × 4 bytes = 311 MB, and tfjs keeps the logits, their
// softmax and the gradient alive together — about 1 GB for one row of 512 tokens. Here each block's logits
// are made, reduced to its loss terms and dropped; the backward pass makes them again (cheaper than holding
// them: one more [rows, dim] × [dim, vocab] product per block) and turns them into the rows' hidden-state
// gradient, so memory stays at one block's logits whatever the rows or the vocabulary.
import { tf } from "../kernels/backend.ts";
import { embedding, maskedCrossEntropy, maskedCrossEntropyGrad } from "./ops.ts";
import { custom } from "../kernels/custom-grad.ts";

type T2 = tf.Tensor2D;

/**
 * Logits of at most this many bytes are made at once by the model's loss (a block of rows). Blocks cost some speed
 * (the backward pass makes each block's logits again: a 2-layer Qwen-vocabulary step over all 512 rows took 9.76 s
 * blocked at 64 MB against 8.99 s whole, and saved 379 MB, bench/train/real-size.ts), so they start only where
 * whole logits would cost real memory.
 */
export const HEAD_BUDGET_BYTES = 512 * 1024 * 1024;

/** Rows `rows` of x, with the gradient scattered back to those rows (no UnsortedSegmentSum on wasm). */
export const selectRows = (x: T2, rows: Int32Array): T2 => embedding(x, rows);

/** The head's weight: the tied embedding table [vocab, dim] (frozen), or output.weight as stored [dim, vocab]. */
export type HeadWeight = { table: T2 } | { matrix: T2; trainable: boolean };

export interface HeadLossOptions { rowsPerBlock: number; softcap?: number }

/**
 * Σ weights · (logsumexp(z) − z[target]) / Σ weights over the rows of h, z = capped(h · W), computed per block of
 * rows. Gradients: h always; W when it is a trainable output matrix (full training of an untied model).
 */
export function headCrossEntropy(h: T2, w: HeadWeight, targets: Int32Array, weights: Float32Array, o: HeadLossOptions): tf.Scalar {
  const total = Math.max(weights.reduce((a, b) => a + b, 0), 1e-9);
  const n = h.shape[0];
  const tied = "table" in w;
  const W = tied ? w.table : w.matrix;
  const vocab = tied ? W.shape[0] : W.shape[1];
  const logitsOf = (hb: T2, wIn: T2): T2 => (tied ? tf.matMul(hb, wIn, false, true) : tf.matMul(hb, wIn));
  const capped = (z: T2): T2 => (o.softcap ? (tf.mul(tf.tanh(tf.div(z, o.softcap)), o.softcap) as T2) : z);
  const blocks: Array<[number, number]> = [];
  for (let s = 0; s < n; s += o.rowsPerBlock) blocks.push([s, Math.min(n, s + o.rowsPerBlock)]);

  // Each block's loss and its logits' gradient come from maskedCrossEntropy and its gradient (the native fused
  // kernel where it is loaded), weighted by the block's share of the total weight so the blocks add up to the
  // whole-logits mean.
  const shareOf = (s: number, e: number) => weights.subarray(s, e).reduce((a, b) => a + b, 0) / total;

  const forward = (hIn: T2, wIn: T2): tf.Scalar => {
    let sum = 0;
    for (const [s, e] of blocks) {
      const share = shareOf(s, e);
      if (share === 0) continue;
      sum += tf.tidy(() => {
        const z = capped(logitsOf(hIn.slice([s, 0], [e - s, -1]) as T2, wIn));
        return maskedCrossEntropy(z, targets.subarray(s, e), weights.subarray(s, e)).dataSync()[0]! * share;
      });
    }
    return tf.scalar(sum);
  };

  /** dLoss/dz for one block (z before the soft-cap). */
  const blockGrad = (hIn: T2, wIn: T2, s: number, e: number, dy: number): T2 => tf.tidy(() => {
    const z = logitsOf(hIn.slice([s, 0], [e - s, -1]) as T2, wIn);
    const share = shareOf(s, e);
    if (share === 0) return tf.zerosLike(z);
    let g = maskedCrossEntropyGrad(capped(z), targets.subarray(s, e), weights.subarray(s, e), dy * share);
    if (o.softcap) g = tf.mul(g, tf.sub(1, tf.square(tf.tanh(tf.div(z, o.softcap))))) as T2;
    return g;
  });

  if (!tied && w.trainable) {
    const f = custom((hIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
      save([hIn, wIn]);
      return {
        value: forward(hIn as T2, wIn as T2),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [hs, ws] = saved as [T2, T2];
          const d = dy.dataSync()[0]!;
          const dh: T2[] = [];
          let dw = tf.zerosLike(ws) as T2;
          for (const [s, e] of blocks) {
            const g = blockGrad(hs, ws, s, e, d);
            dh.push(tf.matMul(g, ws, false, true));
            const next = tf.add(dw, tf.matMul(hs.slice([s, 0], [e - s, -1]) as T2, g, true, false)) as T2;
            dw.dispose(); g.dispose();
            dw = next;
          }
          const dhAll = tf.concat(dh, 0);
          for (const t of dh) t.dispose();
          return [dhAll, dw];
        },
      };
    });
    return f(h, W) as tf.Scalar;
  }

  const f = custom((hIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([hIn]);
    return {
      value: forward(hIn as T2, W),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const hs = saved[0] as T2;
        const d = dy.dataSync()[0]!;
        const dh: T2[] = [];
        for (const [s, e] of blocks) {
          const g = blockGrad(hs, W, s, e, d);
          // dz · Wᵀ: tied W is [vocab, dim] (z = h·Wᵀ, so dh = dz·W); untied W is [dim, vocab].
          dh.push(tied ? tf.matMul(g, W) : tf.matMul(g, W, false, true));
          g.dispose();
        }
        const dhAll = tf.concat(dh, 0);
        for (const t of dh) t.dispose();
        return dhAll;
      },
    };
  });
  return f(h) as tf.Scalar;
}
