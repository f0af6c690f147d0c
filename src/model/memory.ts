// How much memory training a model takes, and how much each backend may use (no tfjs: preflight and
// `model info` use it before anything is loaded).
import { totalmem } from "node:os";
import { PipelineError } from "../errors.ts";
import { parameterCount, type LlamaConfig } from "./config.ts";

/** The machine budget we state and plan for (the project's reference machine: 24 GiB, no GPU). */
export const MEMORY_BUDGET_BYTES = 24 * 2 ** 30;
/** wasm32 addresses at most 4 GiB; tfjs-wasm keeps every tensor in that one heap. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * Bytes a LoRA run may need: 8 per parameter (f32 weights and the copies and activations a step keeps — measured
 * 7.8 on a Qwen2.5-0.5B-shaped model, bench/RESULTS.md) plus 25% headroom. Full training (tiny) adds gradients
 * and two Adam moments (16 instead of 8).
 */
export function estimateTrainingBytes(c: LlamaConfig, full: boolean): number {
  return parameterCount(c) * 4 * (full ? 4 : 2) * 1.25;
}

/**
 * Largest base model we accept: on wasm, the 4 GiB heap (≈ 0.4 B parameters for LoRA); on the
 * native tfjs-node backends and on cpu (with the native kernels it is picked for models past the wasm
 * heap), the 24 GiB budget (≈ 2.6 B parameters: 24 GiB ÷ 10 bytes) or this machine's RAM if smaller.
 */
export function memoryLimitBytes(backend: string): number {
  if (backend === "wasm") return WASM_HEAP_BYTES;
  return Math.min(MEMORY_BUDGET_BYTES, totalmem());
}

export function checkFits(c: LlamaConfig, backend: string, full: boolean, file: string): void {
  const need = estimateTrainingBytes(c, full);
  const limit = memoryLimitBytes(backend);
  if (need > limit) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    const maxParams = limit / (4 * (full ? 4 : 2) * 1.25);
    throw new PipelineError(
      "E_MODEL",
      `model has ${(parameterCount(c) / 1e9).toFixed(2)} B parameters and needs about ${gib(need)} GiB to train on the ${backend} backend, ` +
        `over its ${gib(limit)} GiB limit (largest that fits: about ${(maxParams / 1e9).toFixed(2)} B parameters). ` +
        `Pick a smaller base model${backend === "wasm" ? " or build the native kernels (apt-get install -y build-essential libopenblas-dev && npm run build:native) or install @tensorflow/tfjs-node for the 24 GiB budget" : ""}.`,
      { file },
    );
  }
}

