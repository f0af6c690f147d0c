// The two benchmark models of issue 7 ("tiny", "small"; same as ../shared/anchors/torch_llama.py) and a synthetic batch.
import type { LlamaConfig } from "../../src/train/model/config.ts";

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
