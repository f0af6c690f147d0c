// The optional native fused ops (src/kernels/native/native-fused.ts), installed by backend.ts when the
// addon is active. Each has the same contract as the tfjs version it replaces (model/ops.ts, optimizer.ts),
// and tests hold the two equal.
import type * as tf from "@tensorflow/tfjs";
import type { RopeStyle } from "../gguf/types.ts";

type T2 = tf.Tensor2D;

/** cos and sin tables for rows laid out [batch*seq, heads*headDim], matching llama.cpp's rope. */
export interface RopeTables { cos: T2; sin: T2 }
/**
 * What rope needs: positions per row ([B*T]), and the tables for the tfjs path (built only if used).
 * invFreq (headDim/2 values): each pair's angle per position when not base^(-2i/headDim) — linear scaling
 * and Llama-3 frequency factors (model/ops.ts ropeInvFreq). ropeDims < headDim: partial rope (the tfjs path only).
 * mscale: cos and sin multiplied by it (rope.scaling.attn_factor).
 */
export interface RotarySpec { heads: number; headDim: number; base: number; style: RopeStyle; positions: Int32Array; tables: () => RopeTables; invFreq?: Float64Array; ropeDims?: number; mscale?: number }
/**
 * window: sliding-window attention (a query sees the keys less than `window` positions back); softcap: scores
 * capped to cap · tanh(score / cap) before the softmax (gemma2). The native kernel does neither.
 */
export interface AttentionShape { batch: number; seq: number; heads: number; kvHeads: number; headDim: number; positions?: Int32Array; window?: number; softcap?: number }

/** AdamW hyper-parameters for one update (bias corrections and the gradient scale precomputed). */
export interface AdamWStep { lr: number; beta1: number; beta2: number; eps: number; bc1: number; bc2: number; decay: number; gradScale: number }

export interface FusedOps {
  attention?: (q: T2, k: T2, v: T2, s: AttentionShape) => T2;
  rmsNorm?: (x: T2, weight: tf.Tensor1D, eps: number, weightGrad: boolean) => T2;
  swiglu?: (gate: T2, up: T2) => T2;
  rope?: (x: T2, spec: RotarySpec) => T2;
  crossEntropy?: (logits: T2, targets: Int32Array, weights: Float32Array) => tf.Scalar;
  /** crossEntropy's gradient with respect to the logits for an upstream gradient dy, outside any tape. */
  crossEntropyGrad?: (logits: T2, targets: Int32Array, weights: Float32Array, dy: number) => T2;
  /** [param', m', v'] after one AdamW update (not differentiable). */
  adamw?: (param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWStep) => [tf.Tensor, tf.Tensor, tf.Tensor];
  /** Σ x² as a scalar tensor (summed in double precision). */
  sumOfSquares?: (x: tf.Tensor) => tf.Scalar;
}

let fused: FusedOps | undefined;

/** Installs (or with undefined removes) the fused ops. */
export function useFusedOps(ops: FusedOps | undefined): void { fused = ops; }
export function fusedOps(): FusedOps | undefined { return fused; }

let batchedMatMul = false;
/**
 * Batched (3-D, transposed) matmuls are slow on stock tfjs-wasm, so attention defaults to per-head
 * 2-D matmuls. With the native BLAS kernel (src/kernels/native) or libtensorflow they are fast, and one
 * batched matmul per product saves a thousand small kernels per step: backend.ts turns this on then.
 * The same kernels make transposeA/transposeB free, so the linear layers then use the flags instead of
 * explicit transposes (and the model keeps no transposed weight copies).
 */
export function useFastBatchedMatMul(on: boolean): void { batchedMatMul = on; }
export function fastBatchedMatMul(): boolean { return batchedMatMul; }
