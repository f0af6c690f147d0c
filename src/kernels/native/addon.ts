// Finds and loads the optional OpenBLAS addon (built by build.ts); undefined when it isn't built or is broken.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** The addon's JS surface (see matmul.c). */
export interface KernelAddon {
  /** For each i: c[i*m*n ..] = op(a[aOffsets[i] ..]) @ op(b[bOffsets[i] ..]), row-major; offsets in elements. */
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    transposeA: boolean, transposeB: boolean, aOffsets: Uint32Array, bOffsets: Uint32Array): void;
  /**
   * Fused causal attention on rows q [B*T, H*hd], k/v [B*T, KV*hd] → out [B*T, H*hd] and each row's
   * log-sum-exp lse [B*H*T]. positions (optional, [B*T]): row i sees keys i - positions[i] .. i.
   */
  attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    batch: number, seq: number, heads: number, kvHeads: number, headDim: number, positions: Int32Array | null, scale: number): void;
  /** Gradients dq, dk, dv of attentionForward from dOut (recomputes the probabilities from lse). */
  attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, dOut: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array,
    batch: number, seq: number, heads: number, kvHeads: number, headDim: number, positions: Int32Array | null, scale: number): void;
  /** y = x * rinv * w per row, rinv = 1 / sqrt(mean(x²) + eps) (saved for the backward pass). */
  rmsNormForward(x: Float32Array, w: Float32Array, y: Float32Array, rinv: Float32Array, rows: number, dim: number, eps: number): void;
  /** dx (and dw unless null) of rmsNormForward. */
  rmsNormBackward(x: Float32Array, w: Float32Array, rinv: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array | null, rows: number, dim: number): void;
  /** y = silu(gate) * up. */
  swigluForward(gate: Float32Array, up: Float32Array, y: Float32Array): void;
  swigluBackward(gate: Float32Array, up: Float32Array, dy: Float32Array, dgate: Float32Array, dup: Float32Array): void;
  /** Rotates every head of row r by the angles of positions[r] (tables [positions, headDim / 2]); inverse: back. */
  rope(x: Float32Array, y: Float32Array, positions: Int32Array, cos: Float32Array, sin: Float32Array, heads: number, headDim: number, neox: boolean, inverse: boolean): void;
  /** lse[i] = log Σ exp(logits[i]); returns Σ weights[i] * (lse[i] - logits[i, targets[i]]). */
  crossEntropyForward(logits: Float32Array, targets: Int32Array, weights: Float32Array, lse: Float32Array, vocab: number): number;
  /** dlogits = (softmax(logits) - onehot(targets)) * weights[i] * scale. */
  crossEntropyBackward(logits: Float32Array, lse: Float32Array, targets: Int32Array, weights: Float32Array, scale: number, dlogits: Float32Array, vocab: number): void;
  /** One AdamW update of every value into paramOut, mOut, vOut (the same float operations as optimizer.ts). */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, paramOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, bc1: number, bc2: number, decay: number, gradScale: number): void;
  /** Σ x². */
  sumOfSquares(x: Float32Array): number;
  /** out = big op small (op 0 add, 1 sub, 2 mul; small repeats along big; swap: small op big). */
  binary(op: 0 | 1 | 2, big: Float32Array, small: Float32Array, out: Float32Array, swap: boolean): void;
  /** IEEE half bits of every value, round to nearest even (F16C where the CPU has it). */
  f32ToF16(src: Float32Array, dst: Uint16Array): void;
  /** Sets the thread count of OpenBLAS and of the fused kernels; returns OpenBLAS's count in force. */
  setThreads(threads: number): number;
  /** OpenBLAS configuration and thread count, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell MAX_THREADS=64, 2 thread(s)". */
  info(): string;
}

export const ADDON_PATH = join(import.meta.dirname, "build", "docs2model_kernels.node");

const cache = new Map<string, { addon?: KernelAddon; reason: string }>();

/** The addon at `path`, or undefined (see nativeMatMulUnavailableReason()). Checked with a tiny product. */
export function loadKernelAddon(path = ADDON_PATH): KernelAddon | undefined {
  let entry = cache.get(path);
  // A failure is not cached: the build script loads again right after compiling.
  if (!entry?.addon) cache.set(path, (entry = tryLoad(path)));
  return entry.addon;
}

/** Why loadKernelAddon(path) returned undefined ("" when it did not). */
export function nativeMatMulUnavailableReason(path = ADDON_PATH): string {
  loadKernelAddon(path);
  return cache.get(path)!.reason;
}

function tryLoad(path: string): { addon?: KernelAddon; reason: string } {
  if (!existsSync(path)) return { reason: "addon not built (npm run build:native; needs cc and libopenblas-dev)" };
  // The fused kernels' OpenMP threads sleep between parallel loops instead of spinning: spinning
  // threads would take the cores from OpenBLAS and the wasm threads. libgomp reads this when loaded.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  // Likewise OpenBLAS's workers, which by default spin for 2^28 cycles (~0.1 s) after every product
  // and so took a core from the fused kernels that follow: attention backward 180 → 93 ms and SwiGLU
  // backward 51 → 27 ms per "small" step with 2^4. Read by OpenBLAS when it is loaded.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= "4";
  let addon: KernelAddon;
  try {
    addon = createRequire(import.meta.url)(path) as KernelAddon;
  } catch (error) {
    return { reason: `addon does not load: ${(error as Error).message.split("\n")[0]}` };
  }
  // [1 2; 3 4] @ [5 6; 7 8] = [19 22; 43 50]: a wrong build must never replace a working kernel.
  const c = new Float32Array(4);
  addon.sgemm(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c, 2, 2, 2, false, false, new Uint32Array([0]), new Uint32Array([0]));
  if (c.join() !== "19,22,43,50") return { reason: `addon computes a wrong product (${c.join()})` };
  return { addon, reason: "" };
}
