// The two benchmark models of issue 7 ("tiny", "small"; same as ../shared/anchors/torch_llama.py) and a synthetic batch.
import { Lora } from "../../src/train/lora.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { LlamaModel } from "../../src/model/llama.ts";

export type BenchShape = { vocab: number; dim: number; layers: number; heads: number; kvHeads: number; ffn: number };

export const BENCH_CONFIGS: Record<"tiny" | "small", BenchShape> = {
  tiny: { vocab: 512, dim: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688 },
  small: { vocab: 2048, dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1376 },
};

export function benchConfigName(arg: string | undefined): "tiny" | "small" {
  return arg === "small" ? "small" : "tiny";
}

export function benchLlamaConfig(c: BenchShape, seq: number): LlamaConfig {
  return { arch: "llama", ...c, headDim: c.dim / c.heads, normEps: 1e-5, ropeBase: 10000, ropeStyle: "norm", qkvBias: false, tiedOutput: false, contextLength: seq };
}

/** A fixed batch of token ids (every position carries loss), for timing one step. */
export function syntheticBatch(c: BenchShape, batch: number, seq: number) {
  const n = batch * seq;
  return {
    batch, seq,
    inputs: new Int32Array(n).map((_, i) => i % c.vocab),
    targets: new Int32Array(n).map((_, i) => (i * 7) % c.vocab),
    weights: new Float32Array(n).fill(1),
  };
}

/**
 * One benchmark model (random weights; all trainable for full, else a LoRA r=8 on q,k,v,o), its
 * synthetic batch [8, 256], the trainable variables and the training loss.
 */
export function benchSetup(name: string | undefined, full: boolean) {
  const c = BENCH_CONFIGS[benchConfigName(name)];
  const cfg = benchLlamaConfig(c, 256);
  const model = LlamaModel.random(cfg, 1, { trainable: full });
  const lora = full ? undefined : new Lora(cfg, { rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"], seed: 1 });
  const batch = syntheticBatch(c, 8, 256);
  const vars = full ? model.variables() : lora!.variables();
  return { model, lora, batch, vars, loss: () => model.loss(batch, { hook: lora, training: true }) };
}
