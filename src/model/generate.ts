// Greedy decoding with the tfjs model (no KV cache: a full forward per token; for tests and checks).
import { tf } from "../kernels/backend.ts";
import type { LlamaModel, ProjectionHook } from "./llama.ts";

export function greedy(model: LlamaModel, prompt: number[], opts: { maxNew: number; stop: number[]; hook?: ProjectionHook }): number[] {
  const out: number[] = [];
  const tokens = prompt.slice();
  for (let i = 0; i < opts.maxNew; i++) {
    const next = tf.tidy(() => {
      const logits = model.forward(Int32Array.from(tokens), 1, tokens.length, { hook: opts.hook });
      return tf.argMax(tf.slice(logits, [tokens.length - 1, 0], [1, -1]), 1).dataSync()[0]!;
    });
    if (opts.stop.includes(next)) break;
    out.push(next);
    tokens.push(next);
  }
  return out;
}
