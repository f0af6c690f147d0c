// The optional native fused ops (src/train/native/native-fused.ts), installed by backend.ts when the
// addon is active. Each has the same contract as the tfjs version it replaces (model/ops.ts, optimizer.ts),
// and tests hold the two equal.
import type { tf } from "./backend.ts";
import type { AttentionShape, RotarySpec } from "./model/ops.ts";

type T2 = tf.Tensor2D;

/** AdamW hyper-parameters for one update (bias corrections and the gradient scale precomputed). */
export interface AdamWStep { lr: number; beta1: number; beta2: number; eps: number; bc1: number; bc2: number; decay: number; gradScale: number }

export interface FusedOps {
  attention?: (q: T2, k: T2, v: T2, s: AttentionShape) => T2;
  rmsNorm?: (x: T2, weight: tf.Tensor1D, eps: number, weightGrad: boolean) => T2;
  swiglu?: (gate: T2, up: T2) => T2;
  rope?: (x: T2, spec: RotarySpec) => T2;
  crossEntropy?: (logits: T2, targets: Int32Array, weights: Float32Array) => tf.Scalar;
  /** [param', m', v'] after one AdamW update (not differentiable). */
  adamw?: (param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWStep) => [tf.Tensor, tf.Tensor, tf.Tensor];
  /** Σ x² as a scalar tensor (summed in double precision). */
  sumOfSquares?: (x: tf.Tensor) => tf.Scalar;
}

let fused: FusedOps | undefined;

/** Installs (or with undefined removes) the fused ops. */
export function useFusedOps(ops: FusedOps | undefined): void { fused = ops; }
export function fusedOps(): FusedOps | undefined { return fused; }
