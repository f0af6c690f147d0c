// The per-tensor types of llama.cpp's K-quant file types Q4_K_M, Q5_K_M and Q6_K, as llama-quantize picks them
// without an imatrix (llama-quant.cpp of the llama.cpp node-llama-cpp 3.21.1 bundles: tensor_allows_quantization,
// llama_tensor_get_type_impl, tensor_type_fallback), for dense (non-MoE) models:
//   - only 2-D+ tensors named *weight, not *_norm.weight, are quantized; the rest keep their type;
//   - output.weight — or token_embd.weight when the model has no output.weight (tied) — takes Q6_K, or Q8_0
//     when its rows are not a multiple of 256;
//   - attn_v (and fused attn_qkv), ffn_down: Q6_K in the layers use_more_bits picks (the first and last
//     eighth, and every third between) for Q4_K_M and Q5_K_M;
//   - everything else the file type's base type (Q4_K, Q5_K, Q6_K);
//   - then rows that do not fit a 256-value block fall back (target-type.ts: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0).
// So qwen2.5:0.5b (896-wide, 24 layers, tied) gets 132 Q5_0, 13 Q8_0, 12 Q6_K and 12 Q4_K matrices, as its blob has.
// (This llama.cpp gives fused attn_qkv the attn_v rule; older ones wrote Q5_K there, as phi3's blobs show.)
import { targetTypeFor } from "./target-type.ts";
import type { WritableTensorType } from "./types.ts";

export const QUANT_MIXES = ["Q4_K_M", "Q5_K_M", "Q6_K"] as const;
export type QuantMix = (typeof QUANT_MIXES)[number];

/** general.file_type (llama_ftype) of each mix. */
export const MIX_FILE_TYPE: Record<QuantMix, number> = { Q4_K_M: 15, Q5_K_M: 17, Q6_K: 18 };
const BASE_TYPE: Record<QuantMix, WritableTensorType> = { Q4_K_M: "Q4_K", Q5_K_M: "Q5_K", Q6_K: "Q6_K" };

export interface TensorShapeInfo { name: string; dims: readonly number[] }

/** Whether llama-quantize quantizes a tensor at all (the dense-model part of tensor_allows_quantization). */
export function quantizable(t: TensorShapeInfo): boolean {
  if (t.dims.length < 2 || !t.name.endsWith("weight") || t.name.includes("_norm.weight")) return false;
  return !["ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d", "attn_rel_b.weight", "position_embd", "token_types"].some((s) => t.name.includes(s));
}

/** llama.cpp's layers that get more bits: the first and last eighth, and every third layer between. */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.trunc(n / 8);
  return i < e || i >= Math.trunc((7 * n) / 8) || (i - e) % 3 === 2;
}

/** llama.cpp orders tensors by layer number (non-layer tensors first), then by name; its counters follow that order. */
const layerOf = (name: string): number => {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
};

/**
 * The type of each tensor under `mix`; undefined for tensors llama-quantize does not quantize (they keep their
 * type). `layers` is the model's block_count.
 */
export function mixTensorTypes(tensors: readonly TensorShapeInfo[], mix: QuantMix, layers: number): Map<string, WritableTensorType | undefined> {
  const base = BASE_TYPE[mix];
  const sorted = [...tensors].sort((a, b) => layerOf(a.name) - layerOf(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const isAttnV = (n: string) => n.includes("attn_v.weight") || n.includes("attn_kv_b.weight");
  // llama-quant counts fused qkv among the attention-v tensors (n_attention_wv) but types it on its own.
  const nAttnV = tensors.filter((t) => isAttnV(t.name) || t.name.includes("attn_qkv.weight")).length;
  const tied = !tensors.some((t) => t.name === "output.weight");
  let iAttnV = 0, iFfnDown = 0;
  const out = new Map<string, WritableTensorType | undefined>();
  for (const t of sorted) {
    if (!quantizable(t)) { out.set(t.name, undefined); continue; }
    const name = t.name;
    let type: WritableTensorType = base;
    if (name === "output.weight" || (tied && name === "token_embd.weight")) {
      type = t.dims[0]! % 256 !== 0 ? "Q8_0" : "Q6_K";
    } else if (name === "token_embd.weight") {
      // untied embeddings keep the base type
    } else if (name.includes("attn_qkv.weight")) {
      // Phi-3's fused q/k/v: one step above the mix's base type.
      if (mix === "Q4_K_M") type = "Q5_K";
      else if (mix === "Q5_K_M") type = "Q6_K";
    } else if (isAttnV(name)) {
      if (mix !== "Q6_K" && useMoreBits(iAttnV, nAttnV)) type = "Q6_K";
      iAttnV++;
    } else if (name.includes("ffn_down")) {
      if (mix !== "Q6_K" && useMoreBits(iFfnDown, layers)) type = "Q6_K";
      iFfnDown++;
    }
    out.set(name, targetTypeFor(t.dims, type));
  }
  return out;
}

export function parseQuantMix(s: string): QuantMix | undefined {
  const up = s.toUpperCase();
  return (QUANT_MIXES as readonly string[]).includes(up) ? (up as QuantMix) : undefined;
}
