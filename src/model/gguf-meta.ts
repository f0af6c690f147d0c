// The GGUF form of a LlamaConfig, the one writer for every llama-family file (tiny, test models, trained models):
// tensor names and dims (llama.cpp's names, src/llama-arch.cpp), and the metadata llama.cpp reads back.
import type { GgufValue } from "../gguf/types.ts";
import type { LlamaConfig } from "./config.ts";

export function architectureMetadata(c: LlamaConfig, name: string): Record<string, GgufValue> {
  const a = c.arch;
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  const out: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: a },
    "general.name": { type: "string", value: name },
    "general.file_type": u32(0),
    [`${a}.vocab_size`]: u32(c.vocab),
    [`${a}.context_length`]: u32(c.contextLength),
    [`${a}.embedding_length`]: u32(c.dim),
    [`${a}.block_count`]: u32(c.layers),
    [`${a}.feed_forward_length`]: u32(c.ffn),
    [`${a}.attention.head_count`]: u32(c.heads),
    [`${a}.attention.head_count_kv`]: u32(c.kvHeads),
    [`${a}.attention.key_length`]: u32(c.headDim),
    [`${a}.attention.value_length`]: u32(c.headDim),
    [`${a}.attention.layer_norm_rms_epsilon`]: f32(c.normEps),
    [`${a}.rope.freq_base`]: f32(c.ropeBase),
    [`${a}.rope.dimension_count`]: u32(c.ropeDims ?? c.headDim),
  };
  if (c.ropeMscale !== undefined && c.ropeMscale !== 1) out[`${a}.rope.scaling.attn_factor`] = f32(c.ropeMscale);
  if (c.ropeOrigContext !== undefined) out[`${a}.rope.scaling.original_context_length`] = u32(c.ropeOrigContext);
  if (c.ropeScale !== undefined && c.ropeScale !== 1) {
    out[`${a}.rope.scaling.type`] = { type: "string", value: "linear" };
    out[`${a}.rope.scaling.factor`] = f32(1 / c.ropeScale);
  }
  if (c.slidingWindow) {
    out[`${a}.attention.sliding_window`] = u32(c.slidingWindow);
    // Only what differs from llama.cpp's defaults, as the converter leaves them out (gemma2: period 2 and the
    // global base; gemma3: period 6 and base 10000).
    const [period, swaBase] = a === "gemma2" ? [2, c.ropeBase] : [6, 10000];
    if (c.swaPattern !== undefined && c.swaPattern !== period) out[`${a}.attention.sliding_window_pattern`] = u32(c.swaPattern);
    if (c.ropeBaseSwa !== undefined && c.ropeBaseSwa !== swaBase) out[`${a}.rope.freq_base_swa`] = f32(c.ropeBaseSwa);
  }
  if (c.attnSoftcap) out[`${a}.attn_logit_softcapping`] = f32(c.attnSoftcap);
  if (c.logitSoftcap) out[`${a}.final_logit_softcapping`] = f32(c.logitSoftcap);
  return out;
}

/** Every tensor name of a model with this config, with its GGUF dims. */
export function tensorLayout(c: LlamaConfig): Array<{ name: string; dims: number[] }> {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const out: Array<{ name: string; dims: number[] }> = [{ name: "token_embd.weight", dims: [c.dim, c.vocab] }];
  if (c.ropeFreqs) out.push({ name: "rope_freqs.weight", dims: [(c.ropeDims ?? c.headDim) / 2] });
  if (c.ropeShortLong) out.push({ name: "rope_factors_long.weight", dims: [(c.ropeDims ?? c.headDim) / 2] }, { name: "rope_factors_short.weight", dims: [(c.ropeDims ?? c.headDim) / 2] });
  for (let l = 0; l < c.layers; l++) {
    const p = `blk.${l}.`;
    out.push(
      { name: `${p}attn_norm.weight`, dims: [c.dim] },
      ...(c.fusedQkv
        ? [{ name: `${p}attn_qkv.weight`, dims: [c.dim, q + 2 * kv] }]
        : [{ name: `${p}attn_q.weight`, dims: [c.dim, q] }, { name: `${p}attn_k.weight`, dims: [c.dim, kv] }, { name: `${p}attn_v.weight`, dims: [c.dim, kv] }]),
    );
    if (c.qkvBias) out.push({ name: `${p}attn_q.bias`, dims: [q] }, { name: `${p}attn_k.bias`, dims: [kv] }, { name: `${p}attn_v.bias`, dims: [kv] });
    if (c.qkNorm) out.push({ name: `${p}attn_q_norm.weight`, dims: [c.headDim] }, { name: `${p}attn_k_norm.weight`, dims: [c.headDim] });
    out.push({ name: `${p}attn_output.weight`, dims: [q, c.dim] });
    if (c.gemma) out.push({ name: `${p}post_attention_norm.weight`, dims: [c.dim] });
    out.push(
      { name: `${p}ffn_norm.weight`, dims: [c.dim] },
      ...(c.fusedGateUp
        ? [{ name: `${p}ffn_up.weight`, dims: [c.dim, 2 * c.ffn] }]
        : [{ name: `${p}ffn_gate.weight`, dims: [c.dim, c.ffn] }, { name: `${p}ffn_up.weight`, dims: [c.dim, c.ffn] }]),
      { name: `${p}ffn_down.weight`, dims: [c.ffn, c.dim] },
    );
    if (c.gemma) out.push({ name: `${p}post_ffw_norm.weight`, dims: [c.dim] });
  }
  out.push({ name: "output_norm.weight", dims: [c.dim] });
  if (!c.tiedOutput) out.push({ name: "output.weight", dims: [c.dim, c.vocab] });
  return out;
}
