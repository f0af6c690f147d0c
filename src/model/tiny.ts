// The built-in `tiny` base model: a small llama with our byte-fallback BPE vocabulary and seeded random
// weights, as GGUF metadata + tensors that llama.cpp loads and runs.
//
// CONTRACT (training and export build the same files from trained weights):
//   llamaTensorShapes(cfg)          → [{ name, dims }] in llama.cpp's names and GGUF dims order
//   llamaMetadata(cfg, vocab, opts) → every llama.* / tokenizer.* / general.* key, correctly typed
//   tinyModelSpec(cfg, vocab, opts) → { metadata, tensors } with seeded random weights (N(0, 0.02),
//                                      norms = 1); swap `data` for trained values and writeGguf it
//   buildTinyModel(path, cfg, vocab, opts) writes it.
// Layout per layer N (PyTorch shape [out, in] ⇒ GGUF dims [in, out]):
//   token_embd.weight [dim, vocab]   blk.N.attn_norm.weight [dim]   blk.N.attn_q.weight [dim, heads*hd]
//   blk.N.attn_k.weight / attn_v.weight [dim, kvHeads*hd]          blk.N.attn_output.weight [heads*hd, dim]
//   blk.N.ffn_norm.weight [dim]   blk.N.ffn_gate.weight / ffn_up.weight [dim, ffn]   blk.N.ffn_down.weight [ffn, dim]
//   output_norm.weight [dim]   output.weight [dim, vocab]            (hd = dim / heads)
// Forward (llama.cpp's llama graph): x = embd[tok]; per layer: h = x + Wo·attn(rope(Wq·rms(x)), rope(Wk·rms(x)), Wv·rms(x));
//   x = h + Wdown·(silu(Wgate·rms(h)) * Wup·rms(h)); logits = Wout·rms(x). rms(x) = x / sqrt(mean(x²) + normEps) * w.
//   Attention scale 1/sqrt(hd), causal; kv head j serves q heads j*heads/kvHeads … (grouped, consecutive).
//   Rope is NORM (arch "llama"): within each head, the ADJACENT pair (x[2i], x[2i+1]) rotates by angle
//   pos * ropeTheta^(-2i/hd):  x'[2i] = x[2i]cos − x[2i+1]sin,  x'[2i+1] = x[2i]sin + x[2i+1]cos.
//   (No q/k permutation: our files define the layout; HF checkpoints need permuting, ours do not.)
import { mulberry32 } from "../random.ts";
import { writeGguf, type GgufTensorInput } from "../gguf/writer.ts";
import { targetTypeFor } from "../gguf/convert.ts";
import { FILE_TYPE, type GgufValue, type WritableTensorType } from "../gguf/types.ts";
import type { SpmVocab } from "../tokenizer/spm.ts";
import { spmVocabMetadata } from "../tokenizer/load.ts";
import { CHATML_TEMPLATE } from "../chat/presets.ts";
import type { LlamaConfig } from "./config.ts";
import { architectureMetadata, tensorLayout } from "./gguf-meta.ts";

/**
 * The few numbers that size a `tiny` model; tinyLlamaConfig() makes the full LlamaConfig (model/config.ts) from
 * them, and the tensor layout and metadata come from the one writer every llama-family file uses.
 */
export interface TinyConfig {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  ctx: number;
  ropeTheta: number;
  normEps: number;
}

/** Small enough to train on 2 CPU cores, every size a multiple of 32 so Q8_0/Q4_0 apply. */
export const TINY_CONFIG: TinyConfig = { vocab: 1024, dim: 128, layers: 4, heads: 4, kvHeads: 4, ffn: 384, ctx: 512, ropeTheta: 10000, normEps: 1e-5 };

export interface TensorShape { name: string; dims: number[] }

/** A plain llama (NORM rope, no biases, its own output matrix) of the tiny size. */
export function tinyLlamaConfig(c: TinyConfig): LlamaConfig {
  checkConfig(c);
  return {
    arch: "llama", vocab: c.vocab, dim: c.dim, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, headDim: c.dim / c.heads, ffn: c.ffn,
    normEps: c.normEps, ropeBase: c.ropeTheta, ropeStyle: "norm", qkvBias: false, tiedOutput: false, contextLength: c.ctx,
  };
}

export function llamaTensorShapes(c: TinyConfig): TensorShape[] {
  return tensorLayout(tinyLlamaConfig(c));
}

function checkConfig(c: TinyConfig): void {
  const bad = (m: string) => { throw new Error(`tiny model config: ${m}`); };
  for (const k of ["vocab", "dim", "layers", "heads", "kvHeads", "ffn", "ctx"] as const) if (!Number.isInteger(c[k]) || c[k] <= 0) bad(`${k} must be a positive integer`);
  if (c.dim % c.heads) bad(`dim ${c.dim} must be divisible by heads ${c.heads}`);
  if (c.heads % c.kvHeads) bad(`heads ${c.heads} must be divisible by kvHeads ${c.kvHeads}`);
  if ((c.dim / c.heads) % 2) bad(`head size ${c.dim / c.heads} must be even for rope`);
}

/** llama.cpp's LLAMA_FTYPE for a file whose matrices are mostly `type`. */
export { FILE_TYPE };

export interface LlamaMetadataOptions {
  name?: string;
  type?: WritableTensorType;
  chatTemplate?: string;
}

export function llamaMetadata(c: TinyConfig, vocab: SpmVocab, opts: LlamaMetadataOptions = {}): Record<string, GgufValue> {
  const config = tinyLlamaConfig(c);
  if (vocab.tokens.length !== c.vocab) throw new Error(`tiny model config: vocab ${c.vocab} ≠ tokenizer's ${vocab.tokens.length} tokens`);
  return {
    ...architectureMetadata(config, opts.name ?? "docs2model-tiny"),
    "general.file_type": { type: "u32", value: FILE_TYPE[opts.type ?? "F32"] },
    ...spmVocabMetadata(vocab),
    "tokenizer.chat_template": { type: "string", value: opts.chatTemplate ?? CHATML_TEMPLATE },
  };
}

/**
 * Matrices take `type` when their rows fit its block size, else llama.cpp's fallback (Q4_K → Q5_0 …, then
 * F16); 1-D norms stay F32 (as llama.cpp does).
 */
export function tensorTypeFor(dims: number[], type: WritableTensorType): WritableTensorType {
  return targetTypeFor(dims, type);
}

/** mulberry32 + Box–Muller: reproducible weights from a seed. */
export function seededNormal(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface TinyModelOptions extends LlamaMetadataOptions {
  seed?: number;
  /** Standard deviation of the random matrices (default 0.02). */
  std?: number;
}

export function tinyModelSpec(c: TinyConfig, vocab: SpmVocab, opts: TinyModelOptions = {}): { metadata: Record<string, GgufValue>; tensors: GgufTensorInput[] } {
  const type = opts.type ?? "F32";
  const metadata = llamaMetadata(c, vocab, opts);
  const std = opts.std ?? 0.02;
  const tensors = llamaTensorShapes(c).map(({ name, dims }, i): GgufTensorInput => ({
    name,
    dims,
    type: tensorTypeFor(dims, type),
    data: async () => {
      const n = dims.reduce((a, b) => a * b, 1);
      if (dims.length === 1) return new Float32Array(n).fill(1);
      const rnd = seededNormal((opts.seed ?? 1) * 7919 + i);
      const a = new Float32Array(n);
      for (let j = 0; j < n; j++) a[j] = rnd() * std;
      return a;
    },
  }));
  return { metadata, tensors };
}

export async function buildTinyModel(path: string, c: TinyConfig, vocab: SpmVocab, opts: TinyModelOptions = {}): Promise<{ bytes: number }> {
  return writeGguf(path, tinyModelSpec(c, vocab, opts));
}

export interface CreateTinyBaseOptions extends TinyModelOptions {
  /** Overrides of TINY_CONFIG; `vocab` is the tokenizer's requested size (fewer when the text is small). */
  config?: Partial<TinyConfig>;
}

/**
 * `tiny` end to end: learn the vocabulary from the training text, write the random-initialised model.
 * Returns what training needs: the config (vocab = actual token count) and the vocabulary.
 */
export async function createTinyBase(path: string, text: string, opts: CreateTinyBaseOptions = {}): Promise<{ path: string; config: TinyConfig; vocab: SpmVocab }> {
  const { trainSpmVocab } = await import("../tokenizer/spm.ts");
  const wanted = { ...TINY_CONFIG, ...opts.config };
  const vocab = trainSpmVocab(text, { vocabSize: wanted.vocab });
  const config = { ...wanted, vocab: vocab.tokens.length };
  await buildTinyModel(path, config, vocab, opts);
  return { path, config, vocab };
}
