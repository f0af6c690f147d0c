// Registers OpenBLAS (through the optional addon) as the BatchMatMul kernel of the wasm or cpu tfjs
// backend. Gradients need nothing more: the gradient of BatchMatMul is itself BatchMatMuls.
// Without the addon nothing changes and the stock kernels stay in place.
import * as tf from "@tensorflow/tfjs";
import { loadKernelAddon, nativeMatMulUnavailableReason, type KernelAddon } from "./addon.ts";
import { kernelMemory } from "./kernel-memory.ts";
import { computeThreads } from "../cpu-load.ts";

type KernelConfig = ReturnType<typeof tf.getKernel> & {};
type KernelArgs = Parameters<KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;
type Attrs = { transposeA: boolean; transposeB: boolean };

export const SUPPORTED_BACKENDS = ["wasm", "cpu"] as const;
const stock = new Map<string, KernelConfig>();

export interface NativeMatMulStatus { active: boolean; detail: string }

/**
 * Makes OpenBLAS the BatchMatMul kernel of `backendName` (default: the current backend) with up to
 * `threads` OpenBLAS workers (see blasThreads). Returns whether it is active and why not; idempotent.
 */
export function registerNativeMatMul(backendName = tf.getBackend(), threads = 2): NativeMatMulStatus {
  if (!(SUPPORTED_BACKENDS as readonly string[]).includes(backendName)) return { active: false, detail: `no native matMul for the ${backendName} backend` };
  const addon = loadKernelAddon();
  if (!addon) return { active: false, detail: nativeMatMulUnavailableReason() };
  addon.setThreads(blasThreads(threads));
  if (!stock.has(backendName)) {
    const original = tf.getKernel("BatchMatMul", backendName);
    if (!original) return { active: false, detail: `the ${backendName} backend has no BatchMatMul kernel to replace` };
    stock.set(backendName, original);
    tf.unregisterKernel("BatchMatMul", backendName);
    tf.registerKernel({ kernelName: "BatchMatMul", backendName, kernelFunc: nativeKernel(addon, backendName, original) });
  }
  return { active: true, detail: addon.info() };
}

/**
 * OPENBLAS_NUM_THREADS when set; else `threads`, fewer when other processes keep cores busy
 * (cpu-load.ts): a second BLAS thread then mostly waits for a core — measured here at load 12-20 on
 * 2 cores, one thread gave 1.4-1.7x the tokens per CPU-second (bench/RESULTS.md).
 */
export function blasThreads(threads: number): number {
  const fromEnv = Number.parseInt(process.env.OPENBLAS_NUM_THREADS ?? "", 10);
  if (fromEnv > 0) return fromEnv;
  return computeThreads(threads);
}

/** Puts the stock BatchMatMul kernel back (for comparisons and tests). */
export function unregisterNativeMatMul(backendName = tf.getBackend()): void {
  const original = stock.get(backendName);
  if (!original) return;
  tf.unregisterKernel("BatchMatMul", backendName);
  tf.registerKernel(original);
  stock.delete(backendName);
}

export function nativeMatMulActive(backendName = tf.getBackend()): boolean {
  return stock.has(backendName);
}

function nativeKernel(addon: KernelAddon, backendName: string, original: KernelConfig): KernelConfig["kernelFunc"] {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== "float32" || b.dtype !== "float32") return original.kernelFunc(args);
    const { transposeA, transposeB } = args.attrs as unknown as Attrs;
    const plan = planBatchMatMul(a.shape, b.shape, transposeA, transposeB);
    const memory = kernelMemory(backendName, args.backend);
    const [out] = memory.outputs([plan.outShape]);
    if (tf.util.sizeFromShape(plan.outShape) > 0) {
      addon.sgemm(memory.view(a), memory.view(b), memory.view(out!), plan.m, plan.n, plan.k, transposeA, transposeB, plan.aOffsets, plan.bOffsets);
    }
    return out!;
  };
}

export interface BatchMatMulPlan { outShape: number[]; m: number; n: number; k: number; aOffsets: Uint32Array; bOffsets: Uint32Array }

/**
 * tfjs's BatchMatMul shapes: a [...A, m, k] (or [..., k, m] transposed), b [...B, k, n] (or [..., n, k]);
 * the batch dims A and B broadcast numpy-style to the output's. Offsets (in elements) of each output
 * matrix's a and b operands.
 */
export function planBatchMatMul(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean): BatchMatMulPlan {
  const ra = aShape.length, rb = bShape.length;
  if (ra < 2 || rb < 2) throw new Error(`Error in matMul: inputs must have rank >= 2, got ${aShape} and ${bShape}`);
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const kA = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const kB = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  if (kA !== kB) {
    throw new Error(`Error in matMul: inner shapes (${kA}) and (${kB}) of Tensors with shapes ${aShape} and ${bShape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const count = tf.util.sizeFromShape(outBatch);
  const aOffsets = new Uint32Array(count), bOffsets = new Uint32Array(count);
  const aStrides = broadcastStrides(aBatch, outBatch, m * kA), bStrides = broadcastStrides(bBatch, outBatch, kA * n);
  const index = new Array<number>(outBatch.length).fill(0);
  for (let i = 0; i < count; i++) {
    let ao = 0, bo = 0;
    for (let d = 0; d < outBatch.length; d++) { ao += index[d]! * aStrides[d]!; bo += index[d]! * bStrides[d]!; }
    aOffsets[i] = ao; bOffsets[i] = bo;
    for (let d = outBatch.length - 1; d >= 0; d--) { if (++index[d]! < outBatch[d]!) break; index[d] = 0; }
  }
  return { outShape: [...outBatch, m, n], m, n, k: kA, aOffsets, bOffsets };
}

/** Element strides of an operand's batch dims aligned right against the output's; 0 where broadcast. */
function broadcastStrides(batch: number[], out: number[], matrixSize: number): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let stride = matrixSize;
  for (let d = batch.length - 1; d >= 0; d--) {
    const o = out.length - batch.length + d;
    strides[o] = batch[d] === 1 ? 0 : stride;
    stride *= batch[d]!;
  }
  return strides;
}
