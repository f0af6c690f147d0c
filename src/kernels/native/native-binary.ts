// Native Add, Sub and Multiply for the cpu backend (float32; same shapes, a scalar, or a trailing row
// such as a bias). Its JavaScript kernels walk every element through generic broadcasting code — ≈ 12 ms
// for 2048×256 here, most of a LoRA step on cpu — while the wasm backend's are already native.
// Other dtypes and broadcasts keep the stock kernel.
import * as tf from "@tensorflow/tfjs";
import { loadKernelAddon, type KernelAddon } from "./addon.ts";
import { kernelMemory } from "./kernel-memory.ts";

type KernelConfig = ReturnType<typeof tf.getKernel> & {};
type KernelArgs = Parameters<KernelConfig["kernelFunc"]>[0];
type Info = tf.TensorInfo;

const OPS = { Add: 0, Sub: 1, Multiply: 2 } as const;
const stock = new Map<string, KernelConfig>();

/** Whether `small` repeats along `big` as the addon's binary() expects (a scalar, or big's trailing dims). */
export function tiles(big: number[], small: number[]): boolean {
  const s = [...small];
  while (s.length > 0 && s[0] === 1) s.shift();
  if (s.length > big.length) return false;
  return s.every((d, i) => d === big[big.length - s.length + i]);
}

function kernel(addon: KernelAddon, name: keyof typeof OPS, original: KernelConfig): KernelConfig["kernelFunc"] {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== "float32" || b.dtype !== "float32") return original.kernelFunc(args);
    const sa = tf.util.sizeFromShape(a.shape), sb = tf.util.sizeFromShape(b.shape);
    const swap = sa < sb || (sa === sb && a.shape.length < b.shape.length);
    const [big, small] = swap ? [b, a] : [a, b];
    // The output has big's shape only when small has no more dims than big (a [1, 1, n] small would add one).
    if (sa === 0 || sb === 0 || small.shape.length > big.shape.length || !tiles(big.shape, small.shape)) return original.kernelFunc(args);
    const memory = kernelMemory("cpu", args.backend);
    const [out] = memory.outputs([big.shape]);
    addon.binary(OPS[name], memory.view(big), memory.view(small), memory.view(out!), swap);
    return out!;
  };
}

/** Replaces the cpu backend's Add, Sub and Multiply with the native ones; returns whether active. */
export function registerNativeBinary(): boolean {
  const addon = loadKernelAddon();
  if (!addon || typeof addon.binary !== "function") return false;
  for (const name of Object.keys(OPS) as Array<keyof typeof OPS>) {
    if (stock.has(name)) continue;
    const original = tf.getKernel(name, "cpu");
    if (!original) continue;
    stock.set(name, original);
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel({ ...original, kernelFunc: kernel(addon, name, original) });
  }
  return true;
}

/** Puts the stock kernels back (for comparisons and tests). */
export function unregisterNativeBinary(): void {
  for (const [name, original] of stock) {
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel(original);
  }
  stock.clear();
}
