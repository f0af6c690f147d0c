// The one lazily created llama.cpp instance (CPU, prebuilt binary only) that tokenizing, verifying, eval
// and the in-process provider share.
import { availableParallelism } from "node:os";
import type { Llama } from "node-llama-cpp";

let shared: Promise<Llama> | undefined;

/** The process-wide llama.cpp instance: `getLlama({ gpu: false, build: "never" })`, imported lazily. */
export function getLlamaCpp(): Promise<Llama> {
  shared ??= import("node-llama-cpp").then(({ getLlama, LlamaLogLevel }) =>
    getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: llamaThreads() }),
  );
  return shared;
}

export const llamaThreads = (): number => Math.max(1, Math.min(4, availableParallelism()));
