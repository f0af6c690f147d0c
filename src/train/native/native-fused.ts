// Fused training kernels from the native addon, registered as tfjs kernels of the wasm or cpu backend
// and wrapped as differentiable ops (tf.customGrad) that src/train/model/ops.ts uses when active.
// Attention: one kernel per direction instead of ~40 small kernels per layer, no head-layout
// transposes, the causal half skipped and no probabilities kept between forward and backward.
import * as tf from "@tensorflow/tfjs";
import type { AttentionShape, FusedOps } from "../model/ops.ts";
import { loadNativeMatMul, type NativeMatMulAddon } from "./addon.ts";
import { kernelMemory } from "./kernel-memory.ts";

type T2 = tf.Tensor2D;
type Info = tf.TensorInfo;
type KernelConfig = ReturnType<typeof tf.getKernel> & {};
type KernelArgs = Parameters<KernelConfig["kernelFunc"]>[0];
type CustomFn = (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: any, saved: any) => tf.Tensor | tf.Tensor[] };
const custom = (fn: CustomFn) => tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);

export const FUSED_KERNELS = { attention: "Docs2ModelAttention", attentionGrad: "Docs2ModelAttentionGrad" } as const;

interface AttentionAttrs { batch: number; seq: number; heads: number; kvHeads: number; headDim: number; scale: number; positions: Int32Array | null }

function attentionKernel(addon: NativeMatMulAddon, backendName: string) {
  return (args: KernelArgs): Info[] => {
    const { q, k, v } = args.inputs as { q: Info; k: Info; v: Info };
    const a = args.attrs as unknown as AttentionAttrs;
    const memory = kernelMemory(backendName, args.backend);
    const [out, lse] = memory.outputs([q.shape, [a.batch * a.heads * a.seq]]);
    addon.attentionForward(memory.view(q), memory.view(k), memory.view(v), memory.view(out!), memory.view(lse!),
      a.batch, a.seq, a.heads, a.kvHeads, a.headDim, a.positions, a.scale);
    return [out!, lse!];
  };
}

function attentionGradKernel(addon: NativeMatMulAddon, backendName: string) {
  return (args: KernelArgs): Info[] => {
    const { q, k, v, out, lse, dy } = args.inputs as Record<"q" | "k" | "v" | "out" | "lse" | "dy", Info>;
    const a = args.attrs as unknown as AttentionAttrs;
    const memory = kernelMemory(backendName, args.backend);
    const [dq, dk, dv] = memory.outputs([q.shape, k.shape, v.shape]);
    addon.attentionBackward(memory.view(q), memory.view(k), memory.view(v), memory.view(out), memory.view(lse), memory.view(dy),
      memory.view(dq!), memory.view(dk!), memory.view(dv!), a.batch, a.seq, a.heads, a.kvHeads, a.headDim, a.positions, a.scale);
    return [dq!, dk!, dv!];
  };
}

/** Causal grouped-query attention through the native kernels (same contract as ops.ts attention()). */
export function fusedAttention(q: T2, k: T2, v: T2, s: AttentionShape): T2 {
  const attrs: AttentionAttrs = { batch: s.batch, seq: s.seq, heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim, scale: 1 / Math.sqrt(s.headDim), positions: s.positions ?? null };
  const run = (name: string, inputs: Record<string, tf.Tensor>) => tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
  const f = custom((qIn: tf.Tensor, kIn: tf.Tensor, vIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const [out, lse] = run(FUSED_KERNELS.attention, { q: qIn, k: kIn, v: vIn });
    save([qIn, kIn, vIn, out!, lse!]);
    return {
      value: out!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, outs, lses] = saved;
        return run(FUSED_KERNELS.attentionGrad, { q: qs!, k: ks!, v: vs!, out: outs!, lse: lses!, dy });
      },
    };
  });
  return f(q, k, v) as T2;
}

const registered = new Set<string>();

/**
 * Registers the fused kernels on `backendName` (wasm or cpu) when the addon has them; returns the ops
 * for ops.ts's useFusedOps(), or undefined. Idempotent.
 */
export function registerFusedKernels(backendName = tf.getBackend()): FusedOps | undefined {
  if (backendName !== "wasm" && backendName !== "cpu") return undefined;
  const addon = loadNativeMatMul();
  if (!addon || typeof addon.attentionForward !== "function") return undefined;
  if (!registered.has(backendName)) {
    tf.registerKernel({ kernelName: FUSED_KERNELS.attention, backendName, kernelFunc: attentionKernel(addon, backendName) as unknown as KernelConfig["kernelFunc"] });
    tf.registerKernel({ kernelName: FUSED_KERNELS.attentionGrad, backendName, kernelFunc: attentionGradKernel(addon, backendName) as unknown as KernelConfig["kernelFunc"] });
    registered.add(backendName);
  }
  return { attention: fusedAttention };
}
