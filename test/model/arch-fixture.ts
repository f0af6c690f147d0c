// Small random models laid out like the real bases people pull (llama3.2 with rope_freqs, a linear-scaled llama,
// qwen3, gemma3): the real metadata keys and llama.cpp tensor names, small dimensions, f16 matrices.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGguf } from "../../src/gguf/writer.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { architectureMetadata } from "../../src/model/gguf-meta.ts";
import { randomTensors, type RawTensor } from "../../src/model/llama.ts";
import { spmVocabMetadata } from "../../src/tokenizer/load.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { SAMPLE_TEXT } from "./fixture.ts";

export const VOCAB = trainSpmVocab(SAMPLE_TEXT.repeat(3), { vocabSize: 320 });
const V = VOCAB.tokens.length;

/**
 * Llama-3's rope_freqs (convert_hf_to_gguf.py LlamaModel.generate_extra_tensors, rope_type "llama3"): factor 1
 * for wavelengths under ctx/high_freq_factor, `factor` over ctx/low_freq_factor, smooth in between. With a
 * short original context the slow half of the pairs is divided by 8, as in the real file.
 */
export function llama3RopeFactors(headDim: number, base: number, origCtx = 64, factor = 8, low = 1, high = 4): Float32Array {
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / Math.pow(base, (-2 * i) / headDim);
    if (wavelen < origCtx / high) return 1;
    if (wavelen > origCtx / low) return factor;
    const smooth = (origCtx / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

export type ArchCase = "llama3" | "llama-linear" | "qwen3" | "gemma3" | "gemma2" | "phi3" | "phi4-mini";

/** The config of each case: the real model's architecture at test size (head dims unlike dim/heads where the real one's are). */
export function archConfig(kind: ArchCase): LlamaConfig {
  const common = { vocab: V, dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, contextLength: 1024, qkvBias: false };
  switch (kind) {
    // llama3.2:1b: llama.rope.freq_base 500000, rope_freqs.weight, tied output.
    case "llama3": return { ...common, arch: "llama", normEps: 1e-5, ropeBase: 500_000, ropeStyle: "norm", tiedOutput: true, ropeFreqs: true };
    // A linear-scaled llama (rope.scaling.type "linear", rope.scaling.factor 4).
    case "llama-linear": return { ...common, arch: "llama", normEps: 1e-5, ropeBase: 10_000, ropeStyle: "norm", tiedOutput: false, ropeScale: 0.25 };
    // qwen3:0.6b: head_dim 128 with dim 1024 / 16 heads; here 32 with 64 / 4.
    case "qwen3": return { ...common, arch: "qwen3", headDim: 32, normEps: 1e-6, ropeBase: 1_000_000, ropeStyle: "neox", tiedOutput: true, qkNorm: true };
    // gemma3:1b: 26 layers (every 6th global), window 512, head_dim 256 with dim 1152 / 4 heads, 1 kv head.
    // Here 6 layers (layer 5 global), window 48 so it masks within the test's 450 positions.
    case "gemma3": return {
      ...common, arch: "gemma3", layers: 6, heads: 4, kvHeads: 1, headDim: 32, normEps: 1e-6, ropeBase: 1_000_000, ropeStyle: "neox",
      tiedOutput: true, qkNorm: true, gemma: true, slidingWindow: 48, logitSoftcap: 30,
    };
    // gemma2:2b: 26 layers (every other one local, window 4096), head 256 with dim 2304 / 8 heads, 4 kv heads,
    // attention soft-capping 50, final 30 (as its converter writes them). Here 4 layers, window 48.
    case "gemma2": return {
      ...common, arch: "gemma2", layers: 4, heads: 4, kvHeads: 2, headDim: 32, normEps: 1e-6, ropeBase: 10_000, ropeStyle: "neox",
      tiedOutput: true, gemma: true, slidingWindow: 48, swaPattern: 2, ropeBaseSwa: 10_000, attnSoftcap: 50, logitSoftcap: 30,
    };
    // phi3-mini / phi4-mini: fused attn_qkv and gate-up ffn_up; phi4-mini's partial rope (96 of 128 dims) as 12 of 16.
    case "phi3": return { ...common, arch: "phi3", normEps: 1e-5, ropeBase: 10_000, ropeStyle: "neox", tiedOutput: false, fusedQkv: true, fusedGateUp: true, ropeDims: 12 };
    // phi4-mini as its converter writes it: LongRoPE factors (rope_factors_short/long), rope.scaling.attn_factor
    // √(1 + ln(32)/ln(4096)) = 1.19, original context 4096 (so llama.cpp's 512-token context uses the short ones),
    // partial rope, tied output, no rope.scaling.type.
    case "phi4-mini": return {
      ...common, arch: "phi3", contextLength: 131_072, normEps: 1e-5, ropeBase: 10_000, ropeStyle: "neox", tiedOutput: true, fusedQkv: true, fusedGateUp: true,
      ropeDims: 12, ropeShortLong: true, ropeOrigContext: 4096, ropeMscale: Math.sqrt(1 + Math.log(32) / Math.log(4096)),
    };
  }
}

/** Seeded numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Random weights: normal matrices of std `std`, norm weights spread over [0.5, 1.5] (so each one matters), Llama-3 rope factors. */
export function archTensors(c: LlamaConfig, seed = 11, std = 0.3): RawTensor[] {
  const rand = lcg(seed);
  return randomTensors(c, seed, std).map((t) => {
    if (t.name === "rope_freqs.weight") return { ...t, data: llama3RopeFactors(c.headDim, c.ropeBase) };
    // Short factors near 1 rising along the pairs (as phi4-mini's do), long ones much larger.
    if (t.name === "rope_factors_short.weight") return { ...t, data: Float32Array.from(t.data, (_, i) => 1 + (3 * i) / t.data.length) };
    if (t.name === "rope_factors_long.weight") return { ...t, data: Float32Array.from(t.data, (_, i) => 4 + (40 * i) / t.data.length) };
    if (t.dims.length === 1 && t.name.endsWith("norm.weight")) return { ...t, data: Float32Array.from(t.data, () => 0.5 + rand()) };
    return t;
  });
}

/** Writes the case as llama.cpp's converter would lay it out: f16 matrices, f32 vectors. */
export async function writeArchModel(kind: ArchCase, opts: { seed?: number; std?: number; config?: LlamaConfig } = {}): Promise<{ path: string; config: LlamaConfig; tensors: RawTensor[] }> {
  const config = opts.config ?? archConfig(kind);
  const tensors = archTensors(config, opts.seed, opts.std);
  const path = join(mkdtempSync(join(tmpdir(), "d2m-arch-")), `${kind}.gguf`);
  await writeGguf(path, {
    // Not named after the architecture: llama.cpp's vocab loader looks for Phi-3's special tokens in any model named "phi3".
    metadata: { ...architectureMetadata(config, "arch-test"), ...spmVocabMetadata(VOCAB) },
    tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length >= 2 ? "F16" as const : "F32" as const, data: t.data })),
  });
  return { path, config, tensors };
}

/** `n` seeded token ids after BOS, avoiding the special ids (0-2). */
export function randomTokens(n: number, seed = 5): number[] {
  const rand = lcg(seed);
  return [VOCAB.bos, ...Array.from({ length: n - 1 }, () => 3 + Math.floor(rand() * (V - 3)))];
}
