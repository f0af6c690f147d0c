// Fused training kernels from the native addon, registered as tfjs kernels of the wasm or cpu backend
// and wrapped as differentiable ops (tf.customGrad) that src/model/ops.ts uses when active.
// Attention: one kernel per direction instead of ~40 small kernels per layer, no head-layout
// transposes, the causal half skipped and no probabilities kept between forward and backward.
// RMSNorm, SwiGLU, rope, the masked cross-entropy and AdamW: one pass over memory each way instead of
// 4-14 kernels (most of them single-threaded on wasm), and no copies of saved tensors.
import * as tf from "@tensorflow/tfjs";
import type { AdamWStep, FusedOps } from "../fused-ops.ts";
import type { AttentionShape, RotarySpec } from "../fused-ops.ts";
import { loadKernelAddon, type KernelAddon } from "./addon.ts";
import { kernelMemory } from "./kernel-memory.ts";
import { registerNativeBinary } from "./native-binary.ts";
import { custom } from "../custom-grad.ts";

type T2 = tf.Tensor2D;
type Info = tf.TensorInfo;
type KernelConfig = ReturnType<typeof tf.getKernel> & {};
type KernelArgs = Parameters<KernelConfig["kernelFunc"]>[0];

export const FUSED_KERNELS = {
  attention: "Docs2ModelAttention", attentionGrad: "Docs2ModelAttentionGrad",
  rmsNorm: "Docs2ModelRmsNorm", rmsNormGrad: "Docs2ModelRmsNormGrad",
  swiglu: "Docs2ModelSwiglu", swigluGrad: "Docs2ModelSwigluGrad",
  rope: "Docs2ModelRope",
  crossEntropy: "Docs2ModelCrossEntropy", crossEntropyGrad: "Docs2ModelCrossEntropyGrad",
  adamw: "Docs2ModelAdamW", sumOfSquares: "Docs2ModelSumOfSquares",
} as const;

type KernelFunc = (args: KernelArgs) => Info | Info[];
/** The kernels by name, built for one backend. */
function kernels(addon: KernelAddon, backendName: string): Record<string, KernelFunc> {
  const mem = (args: KernelArgs) => kernelMemory(backendName, args.backend);
  return {
    [FUSED_KERNELS.attention]: (args) => {
      const { q, k, v } = args.inputs as Record<"q" | "k" | "v", Info>;
      const a = args.attrs as unknown as AttentionAttrs;
      const m = mem(args);
      const [out, lse] = m.outputs([q.shape, [a.batch * a.heads * a.seq]]);
      addon.attentionForward(m.view(q), m.view(k), m.view(v), m.view(out!), m.view(lse!), a.batch, a.seq, a.heads, a.kvHeads, a.headDim, a.positions, a.scale);
      return [out!, lse!];
    },
    [FUSED_KERNELS.attentionGrad]: (args) => {
      const { q, k, v, out, lse, dy } = args.inputs as Record<"q" | "k" | "v" | "out" | "lse" | "dy", Info>;
      const a = args.attrs as unknown as AttentionAttrs;
      const m = mem(args);
      const [dq, dk, dv] = m.outputs([q.shape, k.shape, v.shape]);
      addon.attentionBackward(m.view(q), m.view(k), m.view(v), m.view(out), m.view(lse), m.view(dy), m.view(dq!), m.view(dk!), m.view(dv!),
        a.batch, a.seq, a.heads, a.kvHeads, a.headDim, a.positions, a.scale);
      return [dq!, dk!, dv!];
    },
    [FUSED_KERNELS.rmsNorm]: (args) => {
      const { x, w } = args.inputs as Record<"x" | "w", Info>;
      const { eps } = args.attrs as { eps: number };
      const m = mem(args);
      const [rows, dim] = x.shape as [number, number];
      const [y, rinv] = m.outputs([x.shape, [rows]]);
      addon.rmsNormForward(m.view(x), m.view(w), m.view(y!), m.view(rinv!), rows, dim, eps);
      return [y!, rinv!];
    },
    [FUSED_KERNELS.rmsNormGrad]: (args) => {
      const { x, w, rinv, dy } = args.inputs as Record<"x" | "w" | "rinv" | "dy", Info>;
      const { weightGrad } = args.attrs as { weightGrad: boolean };
      const m = mem(args);
      const [rows, dim] = x.shape as [number, number];
      const outs = m.outputs(weightGrad ? [x.shape, w.shape] : [x.shape]);
      addon.rmsNormBackward(m.view(x), m.view(w), m.view(rinv), m.view(dy), m.view(outs[0]!), weightGrad ? m.view(outs[1]!) : null, rows, dim);
      return outs;
    },
    [FUSED_KERNELS.swiglu]: (args) => {
      const { gate, up } = args.inputs as Record<"gate" | "up", Info>;
      const m = mem(args);
      const [y] = m.outputs([gate.shape]);
      addon.swigluForward(m.view(gate), m.view(up), m.view(y!));
      return y!;
    },
    [FUSED_KERNELS.swigluGrad]: (args) => {
      const { gate, up, dy } = args.inputs as Record<"gate" | "up" | "dy", Info>;
      const m = mem(args);
      const [dg, du] = m.outputs([gate.shape, up.shape]);
      addon.swigluBackward(m.view(gate), m.view(up), m.view(dy), m.view(dg!), m.view(du!));
      return [dg!, du!];
    },
    [FUSED_KERNELS.rope]: (args) => {
      const { x } = args.inputs as { x: Info };
      const a = args.attrs as unknown as RopeAttrs;
      const m = mem(args);
      const [y] = m.outputs([x.shape]);
      addon.rope(m.view(x), m.view(y!), a.positions, a.cos, a.sin, a.heads, a.headDim, a.neox, a.inverse);
      return y!;
    },
    [FUSED_KERNELS.crossEntropy]: (args) => {
      const { logits } = args.inputs as { logits: Info };
      const a = args.attrs as unknown as CrossEntropyAttrs;
      const m = mem(args);
      const [lse, loss] = m.outputs([[logits.shape[0]!], []]);
      const sum = addon.crossEntropyForward(m.view(logits), a.targets, a.weights, m.view(lse!), logits.shape[1]!);
      m.view(loss!)[0] = sum / a.total;
      return [lse!, loss!];
    },
    [FUSED_KERNELS.crossEntropyGrad]: (args) => {
      const { logits, lse, dy } = args.inputs as Record<"logits" | "lse" | "dy", Info>;
      const a = args.attrs as unknown as CrossEntropyAttrs;
      const m = mem(args);
      const [dl] = m.outputs([logits.shape]);
      addon.crossEntropyBackward(m.view(logits), m.view(lse), a.targets, a.weights, m.view(dy)[0]! / a.total, m.view(dl!), logits.shape[1]!);
      return dl!;
    },
    [FUSED_KERNELS.adamw]: (args) => {
      const { param, grad, m, v } = args.inputs as Record<"param" | "grad" | "m" | "v", Info>;
      const h = args.attrs as unknown as AdamWStep;
      const mm = mem(args);
      const [p2, m2, v2] = mm.outputs([param.shape, param.shape, param.shape]);
      addon.adamw(mm.view(param), mm.view(grad), mm.view(m), mm.view(v), mm.view(p2!), mm.view(m2!), mm.view(v2!), h.lr, h.beta1, h.beta2, h.eps, h.bc1, h.bc2, h.decay, h.gradScale);
      return [p2!, m2!, v2!];
    },
    [FUSED_KERNELS.sumOfSquares]: (args) => {
      const { x } = args.inputs as { x: Info };
      const m = mem(args);
      const [out] = m.outputs([[]]);
      m.view(out!)[0] = addon.sumOfSquares(m.view(x));
      return out!;
    },
  };
}

interface RopeAttrs { positions: Int32Array; cos: Float32Array; sin: Float32Array; heads: number; headDim: number; neox: boolean; inverse: boolean }
interface CrossEntropyAttrs { targets: Int32Array; weights: Float32Array; total: number }

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor | tf.Tensor[];

interface AttentionAttrs { batch: number; seq: number; heads: number; kvHeads: number; headDim: number; scale: number; positions: Int32Array | null }

/** Causal grouped-query attention through the native kernels (same contract as ops.ts attention()). */
export function fusedAttention(q: T2, k: T2, v: T2, s: AttentionShape): T2 {
  const attrs: AttentionAttrs = { batch: s.batch, seq: s.seq, heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim, scale: 1 / Math.sqrt(s.headDim), positions: s.positions ?? null };
  const f = custom((qIn: tf.Tensor, kIn: tf.Tensor, vIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, lse] = run(FUSED_KERNELS.attention, { q: qIn, k: kIn, v: vIn }, attrs) as tf.Tensor[];
    save([qIn, kIn, vIn, out!, lse!]);
    return {
      value: out!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, outs, lses] = saved;
        return run(FUSED_KERNELS.attentionGrad, { q: qs!, k: ks!, v: vs!, out: outs!, lse: lses!, dy }, attrs) as tf.Tensor[];
      },
    };
  });
  return f(q, k, v) as T2;
}

/** RMSNorm (ops.ts rmsNorm() contract); weightGrad false: the weight is a constant (frozen models). */
export function fusedRmsNorm(x: T2, weight: tf.Tensor1D, eps: number, weightGrad = true): T2 {
  if (!weightGrad) {
    const f = custom((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
      const [y, rinv] = run(FUSED_KERNELS.rmsNorm, { x: xIn, w: weight }, { eps }) as tf.Tensor[];
      save([xIn, rinv!]);
      return { value: y!, gradFunc: (dy: tf.Tensor, [xs, r]: tf.Tensor[]) => run(FUSED_KERNELS.rmsNormGrad, { x: xs!, w: weight, rinv: r!, dy }, { weightGrad: false }) as tf.Tensor[] };
    });
    return f(x) as T2;
  }
  const f = custom((xIn: tf.Tensor, wIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, rinv] = run(FUSED_KERNELS.rmsNorm, { x: xIn, w: wIn }, { eps }) as tf.Tensor[];
    save([xIn, wIn, rinv!]);
    return { value: y!, gradFunc: (dy: tf.Tensor, [xs, ws, r]: tf.Tensor[]) => run(FUSED_KERNELS.rmsNormGrad, { x: xs!, w: ws!, rinv: r!, dy }, { weightGrad: true }) as tf.Tensor[] };
  });
  return f(x, weight) as T2;
}

/** silu(gate) * up. */
export function fusedSwiglu(gate: T2, up: T2): T2 {
  const f = custom((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u]);
    return { value: run(FUSED_KERNELS.swiglu, { gate: g, up: u }, {}) as tf.Tensor, gradFunc: (dy: tf.Tensor, [gs, us]: tf.Tensor[]) => run(FUSED_KERNELS.swigluGrad, { gate: gs!, up: us!, dy }, {}) as tf.Tensor[] };
  });
  return f(gate, up) as T2;
}

const angleCache = new Map<string, { cos: Float32Array; sin: Float32Array }>();
const freqIds = new WeakMap<Float64Array, number>();
let nextFreqId = 0;
/**
 * cos and sin of pos * base^(-2i / headDim) for pos < count, i < headDim / 2 (as ropeTables() computes them),
 * or of pos * invFreq[i] when given (scaled rope, Llama-3 factors), times mscale (rope.scaling.attn_factor).
 */
function angles(count: number, headDim: number, base: number, invFreq?: Float64Array, mscale = 1) {
  let freqId = 0;
  if (invFreq) {
    freqId = freqIds.get(invFreq) ?? ++nextFreqId;
    freqIds.set(invFreq, freqId);
  }
  const key = `${count}:${headDim}:${base}:${freqId}:${mscale}`;
  let t = angleCache.get(key);
  if (!t) {
    const half = headDim / 2;
    t = { cos: new Float32Array(count * half), sin: new Float32Array(count * half) };
    for (let p = 0; p < count; p++) {
      for (let i = 0; i < half; i++) {
        const theta = p * (invFreq ? invFreq[i]! : Math.pow(base, (-2 * i) / headDim));
        t.cos[p * half + i] = Math.cos(theta) * mscale;
        t.sin[p * half + i] = Math.sin(theta) * mscale;
      }
    }
    if (angleCache.size > 8) angleCache.clear();
    angleCache.set(key, t);
  }
  return t;
}

/** Rotary embedding of rows [N, heads*headDim] at the given positions (ops.ts rotary() contract). */
export function fusedRope(x: T2, spec: RotarySpec): T2 {
  let maxPos = 0;
  for (const p of spec.positions) if (p > maxPos) maxPos = p;
  const attrs = { positions: spec.positions, ...angles(maxPos + 1, spec.headDim, spec.base, spec.invFreq, spec.mscale), heads: spec.heads, headDim: spec.headDim, neox: spec.style === "neox" };
  const f = custom((xIn: tf.Tensor) => ({
    value: run(FUSED_KERNELS.rope, { x: xIn }, { ...attrs, inverse: false }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor) => run(FUSED_KERNELS.rope, { x: dy }, { ...attrs, inverse: true }) as tf.Tensor,
  }));
  return f(x) as T2;
}

/** Mean cross-entropy over positions with weight > 0 (ops.ts maskedCrossEntropy() contract). */
export function fusedCrossEntropy(logits: T2, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const attrs: CrossEntropyAttrs = { targets, weights, total: Math.max(weights.reduce((a, b) => a + b, 0), 1e-9) };
  const f = custom((lIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [lse, loss] = run(FUSED_KERNELS.crossEntropy, { logits: lIn }, attrs) as tf.Tensor[];
    save([lIn, lse!]);
    return { value: loss!, gradFunc: (dy: tf.Tensor, [l, z]: tf.Tensor[]) => run(FUSED_KERNELS.crossEntropyGrad, { logits: l!, lse: z!, dy }, attrs) as tf.Tensor };
  });
  return f(logits) as tf.Scalar;
}

/** dLoss/dlogits of fusedCrossEntropy for an upstream gradient dy (ops.ts maskedCrossEntropyGrad() contract). */
export function fusedCrossEntropyGrad(logits: T2, targets: Int32Array, weights: Float32Array, dy: number): T2 {
  const attrs: CrossEntropyAttrs = { targets, weights, total: Math.max(weights.reduce((a, b) => a + b, 0), 1e-9) };
  return tf.tidy(() => {
    const [lse] = run(FUSED_KERNELS.crossEntropy, { logits }, attrs) as tf.Tensor[];
    return run(FUSED_KERNELS.crossEntropyGrad, { logits, lse: lse!, dy: tf.scalar(dy) }, attrs) as T2;
  });
}

/** One AdamW update: [param', m', v'] (optimizer.ts AdamW contract). */
export function fusedAdamW(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWStep): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return run(FUSED_KERNELS.adamw, { param, grad, m, v }, h) as [tf.Tensor, tf.Tensor, tf.Tensor];
}

export function fusedSumOfSquares(x: tf.Tensor): tf.Scalar {
  return run(FUSED_KERNELS.sumOfSquares, { x }, {}) as tf.Scalar;
}

const registered = new Set<string>();

/**
 * Registers the fused kernels on `backendName` (wasm or cpu) when the addon has them; returns the ops
 * for fused-ops.ts's useFusedOps(), or undefined. Idempotent.
 */
export function registerFusedKernels(backendName = tf.getBackend()): FusedOps | undefined {
  if (backendName !== "wasm" && backendName !== "cpu") return undefined;
  const addon = loadKernelAddon();
  // An addon built from older sources lacks the newer kernels: then none are used.
  if (!addon || typeof addon.sumOfSquares !== "function") return undefined;
  if (!registered.has(backendName)) {
    for (const [kernelName, kernelFunc] of Object.entries(kernels(addon, backendName))) {
      tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"] });
    }
    if (backendName === "cpu") registerNativeBinary();
    registered.add(backendName);
  }
  return { attention: fusedAttention, rmsNorm: fusedRmsNorm, swiglu: fusedSwiglu, rope: fusedRope, crossEntropy: fusedCrossEntropy, crossEntropyGrad: fusedCrossEntropyGrad, adamw: fusedAdamW, sumOfSquares: fusedSumOfSquares };
}
