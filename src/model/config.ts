// The shape of a llama-family model (llama, mistral, qwen2), read from GGUF metadata the way llama.cpp reads it.
import { PipelineError } from "../errors.ts";
import type { RopeStyle } from "../gguf/types.ts";

export type { RopeStyle };

export interface LlamaConfig {
  arch: string;
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  normEps: number;
  ropeBase: number;
  /** llama.cpp: llama/mistral rotate adjacent pairs (NORM); qwen2 rotates halves (NEOX). */
  ropeStyle: RopeStyle;
  /** q/k/v projections carry a bias (qwen2). */
  qkvBias: boolean;
  /** No separate output.weight: logits use the token embedding. */
  tiedOutput: boolean;
  contextLength: number;
}

/** Architectures whose forward pass we implement, with their llama.cpp rope type. */
const ROPE_BY_ARCH: Record<string, RopeStyle> = { llama: "norm", mistral: "norm", qwen2: "neox" };

export const SUPPORTED_ARCHS = Object.keys(ROPE_BY_ARCH);

type Meta = Record<string, unknown>;

/** Build the config from GGUF metadata plus the tensor names present (for bias / tied output). */
export function configFromGguf(meta: Meta, tensorNames: Iterable<string>, file = "model"): LlamaConfig {
  const arch = String(meta["general.architecture"] ?? "");
  if (!(arch in ROPE_BY_ARCH)) {
    throw new PipelineError("E_MODEL", `architecture "${arch || "unknown"}" is not supported for training; use one of ${SUPPORTED_ARCHS.join(", ")}`, { file });
  }
  const names = new Set(tensorNames);
  const need = (key: string): number => {
    const v = meta[`${arch}.${key}`];
    const n = Array.isArray(v) ? Number(v[0]) : Number(v);
    if (!Number.isFinite(n)) throw new PipelineError("E_MODEL", `GGUF metadata lacks ${arch}.${key}; the file is not a complete ${arch} model`, { file, field: `${arch}.${key}` });
    return n;
  };
  const opt = (key: string, fallback: number): number => {
    const v = meta[`${arch}.${key}`];
    return v === undefined ? fallback : Number(v);
  };
  const dim = need("embedding_length");
  const heads = need("attention.head_count");
  const kvHeads = opt("attention.head_count_kv", heads);
  const tokens = meta["tokenizer.ggml.tokens"];
  const vocab = opt("vocab_size", Array.isArray(tokens) ? tokens.length : NaN);
  if (!Number.isFinite(vocab)) throw new PipelineError("E_MODEL", `cannot tell the vocabulary size (no ${arch}.vocab_size, no tokenizer.ggml.tokens)`, { file });
  const headDim = opt("attention.key_length", dim / heads);
  return {
    arch,
    vocab,
    dim,
    layers: need("block_count"),
    heads,
    kvHeads,
    headDim,
    ffn: need("feed_forward_length"),
    normEps: opt("attention.layer_norm_rms_epsilon", 1e-5),
    ropeBase: opt("rope.freq_base", 10000),
    ropeStyle: ROPE_BY_ARCH[arch]!,
    qkvBias: names.has("blk.0.attn_q.bias"),
    tiedOutput: !names.has("output.weight"),
    contextLength: opt("context_length", 2048),
  };
}

/** Parameter count (what sets memory), counting tied weights once. */
export function parameterCount(c: LlamaConfig): number {
  const q = c.dim * c.heads * c.headDim;
  const kv = 2 * c.dim * c.kvHeads * c.headDim;
  const o = c.heads * c.headDim * c.dim;
  const mlp = 3 * c.dim * c.ffn;
  const bias = c.qkvBias ? c.heads * c.headDim + 2 * c.kvHeads * c.headDim : 0;
  const perLayer = q + kv + o + mlp + bias + 2 * c.dim;
  return c.vocab * c.dim * (c.tiedOutput ? 1 : 2) + c.layers * perLayer + c.dim;
}
