// What llama.cpp's convert_hf_to_gguf.py does differently for Gemma 2, Gemma 3 (text) and Phi-3 checkpoints
// (its Gemma2Model, Gemma3Model and Phi3MiniModel classes): the tensor names (gguf-py tensor_mapping.py), Gemma's
// norm weights stored as w and used as (1 + w) (written as w + 1), and the architecture metadata each writes — with
// the settings llama.cpp would silently read differently from transformers refused here by name.
import { PipelineError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";

/** Per-layer HF module → GGUF tensor (tensor_mapping.py), llama family. */
const LLAMA_LAYERS: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
};

/**
 * Gemma 2/3 norm around both blocks: post_attention_layernorm is the attention's output norm (ATTN_POST_NORM), the
 * FFN's input norm is pre_feedforward_layernorm (FFN_PRE_NORM, written as ffn_norm) and its output norm post_ffw_norm.
 */
const GEMMA_LAYERS: Record<string, string> = {
  ...LLAMA_LAYERS,
  "post_attention_layernorm.weight": "post_attention_norm.weight",
  "pre_feedforward_layernorm.weight": "ffn_norm.weight",
  "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
};

/** Phi-3: q, k, v in one qkv_proj (attn_qkv) and gate, up in one gate_up_proj (written as ffn_up, gate first). */
const PHI3_LAYERS: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
  "self_attn.qkv_proj.weight": "attn_qkv.weight", "self_attn.o_proj.weight": "attn_output.weight",
  "mlp.gate_up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
};

export function layerMap(arch: string): Record<string, string> {
  return arch === "gemma2" || arch === "gemma3" ? GEMMA_LAYERS : arch === "phi3" ? PHI3_LAYERS : LLAMA_LAYERS;
}

/** What the converter adds to a tensor (Gemma{2,3}Model.modify_tensors: every "*norm.weight" + 1, since transformers multiplies by 1 + w). */
export function normShift(arch: string, hfKey: string): number {
  return (arch === "gemma2" || arch === "gemma3") && hfKey.endsWith("norm.weight") ? 1 : 0;
}

/** Gemma 2's converter skips lm_head.weight (llama.cpp always ties gemma2's output to the embedding). */
export function dropsTensor(arch: string, hfKey: string): boolean {
  return arch === "gemma2" && hfKey === "lm_head.weight";
}

/** Whether the head is the embedding when config.json does not say (Gemma's configs default to tied). */
export function tiedByDefault(arch: string): boolean {
  return arch === "gemma2" || arch === "gemma3";
}

export interface ArchInput {
  arch: string;
  hfArch: string;
  config: Record<string, unknown>;
  /** config.json, for errors. */
  file: string;
  /** transformers' rope settings (rope_parameters, else rope_theta + rope_scaling), flattened for global layers. */
  rope: Record<string, unknown>;
  /** rope_parameters.sliding_attention (transformers v5), when given. */
  ropeLocal?: Record<string, unknown>;
}

export interface ArchPlan {
  metadata: Record<string, GgufValue>;
  /** Tensors the converter generates (Phi-3 LongRoPE factors), as F32 values. */
  extra: Array<{ name: string; data: Float32Array }>;
}

const u32 = (value: number): GgufValue => ({ type: "u32", value });
const f32 = (value: number): GgufValue => ({ type: "f32", value });

/** The architecture metadata of a gemma2 / gemma3 / phi3 checkpoint as its converter class writes it. */
export function archMetadata(a: ArchInput): ArchPlan {
  if (a.arch === "gemma2") return { metadata: gemma2(a), extra: [] };
  if (a.arch === "gemma3") return { metadata: gemma3(a), extra: [] };
  if (a.arch === "phi3") return phi3(a);
  throw new Error(`archMetadata: ${a.arch}`);
}

function reader(a: ArchInput) {
  const c = a.config;
  const refuse = (field: string, why: string): never => {
    throw new PipelineError("E_MODEL", `${a.hfArch} with ${field} = ${JSON.stringify(field in c ? c[field] : a.rope[field])}: ${why}`, { file: a.file, field });
  };
  const num = (key: string, fallback?: number): number => {
    const v = c[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (fallback !== undefined) return fallback;
    throw new PipelineError("E_MODEL", `config.json lacks ${key}, which the ${a.hfArch} converter needs`, { file: a.file, field: key });
  };
  return { c, refuse, num };
}

/** Gemma 2/3 checks the converter does not make but llama.cpp's graph implies (src/models/gemma2.cpp, gemma3.cpp). */
function gemmaChecks(a: ArchInput, headDim: number): void {
  const { c, refuse } = reader(a);
  // llama.cpp scales queries by 1/√head_dim (by 1/√(hidden/heads) for the 27B models only, refused by block_count later).
  const qpas = c.query_pre_attn_scalar;
  if (typeof qpas === "number" && qpas !== headDim) {
    const big = (a.arch === "gemma2" && c.num_hidden_layers === 46) || (a.arch === "gemma3" && c.num_hidden_layers === 62);
    if (!big) refuse("query_pre_attn_scalar", `llama.cpp scales attention by 1/√head_dim (${headDim}), so it would run a different model`);
  }
  const act = c.hidden_activation ?? c.hidden_act;
  if (act !== undefined && act !== "gelu_pytorch_tanh" && act !== "gelu_tanh") refuse(c.hidden_activation !== undefined ? "hidden_activation" : "hidden_act", "llama.cpp computes Gemma's gate with GELU (tanh approximation)");
}

function gemma2(a: ArchInput): Record<string, GgufValue> {
  const { c, refuse, num } = reader(a);
  const heads = num("num_attention_heads");
  const headDim = num("head_dim");
  gemmaChecks(a, headDim);
  // The converter writes no rope keys for gemma2: llama.cpp then uses base 10000, unscaled, on every layer.
  const theta = a.rope.rope_theta;
  if (theta !== undefined && theta !== 10000) refuse("rope_theta", "the gemma2 converter writes no rope base and llama.cpp then uses 10000");
  const ropeType = String(a.rope.rope_type ?? "default");
  if (ropeType !== "default") refuse("rope_scaling", "the gemma2 converter writes no rope scaling, so llama.cpp would not scale");
  for (const key of ["attn_logit_softcapping", "final_logit_softcapping"]) {
    if (typeof c[key] !== "number") refuse(key, "llama.cpp always soft-caps gemma2 (defaults 50 and 30), so a checkpoint without it would run differently");
  }
  return {
    "gemma2.context_length": u32(num("max_position_embeddings")),
    "gemma2.embedding_length": u32(num("hidden_size")),
    "gemma2.block_count": u32(num("num_hidden_layers")),
    "gemma2.feed_forward_length": u32(num("intermediate_size")),
    "gemma2.attention.head_count": u32(heads),
    "gemma2.attention.head_count_kv": u32(num("num_key_value_heads", heads)),
    "gemma2.attention.layer_norm_rms_epsilon": f32(num("rms_norm_eps")),
    "gemma2.attention.key_length": u32(headDim),
    "gemma2.attention.value_length": u32(headDim),
    "gemma2.attn_logit_softcapping": f32(num("attn_logit_softcapping")),
    "gemma2.final_logit_softcapping": f32(num("final_logit_softcapping")),
    "gemma2.attention.sliding_window": u32(num("sliding_window")),
  };
}

function gemma3(a: ArchInput): Record<string, GgufValue> {
  const { c, refuse, num } = reader(a);
  // Gemma3Model.set_gguf_parameters: TextModel's keys, then its own with transformers' Gemma3TextConfig defaults.
  const headDim = num("head_dim", 256);
  const layers = num("num_hidden_layers");
  gemmaChecks(a, headDim);
  if (c.attn_logit_softcapping != null) refuse("attn_logit_softcapping", "Gemma 3 has no attention soft-capping (the converter asserts it is unset)");
  const md: Record<string, GgufValue> = {
    "gemma3.block_count": u32(layers),
    "gemma3.context_length": u32(num("max_position_embeddings", 131072)),
    "gemma3.embedding_length": u32(num("hidden_size")),
    "gemma3.feed_forward_length": u32(num("intermediate_size")),
    "gemma3.attention.head_count": u32(num("num_attention_heads", 8)),
    "gemma3.attention.head_count_kv": u32(num("num_key_value_heads", 4)),
  };
  // Linear rope scaling (the 4B-27B models, factor 8) applies to the global layers only, in transformers and llama.cpp.
  const ropeType = String(a.rope.rope_type ?? "default").toLowerCase();
  if (ropeType === "linear" && typeof a.rope.factor === "number") {
    md["gemma3.rope.scaling.type"] = { type: "string", value: "linear" };
    md["gemma3.rope.scaling.factor"] = f32(a.rope.factor);
  } else if (ropeType !== "default" && ropeType !== "linear") {
    refuse("rope_scaling", `rope scaling "${ropeType}" is not implemented for gemma3 (default and linear are)`);
  }
  md["gemma3.rope.freq_base"] = f32(typeof a.rope.rope_theta === "number" ? a.rope.rope_theta : 1_000_000);
  const local = a.ropeLocal?.rope_theta ?? c.rope_local_base_freq;
  if (typeof local === "number") md["gemma3.rope.freq_base_swa"] = f32(local);
  md["gemma3.attention.layer_norm_rms_epsilon"] = f32(num("rms_norm_eps", 1e-6));
  md["gemma3.attention.key_length"] = u32(headDim);
  md["gemma3.attention.value_length"] = u32(headDim);
  if (typeof c.final_logit_softcapping === "number" && c.final_logit_softcapping) md["gemma3.final_logit_softcapping"] = f32(c.final_logit_softcapping);
  // Every 6th layer global (llama.cpp's fixed period, which the converter does not write): another pattern is refused.
  const pattern = typeof c.sliding_window_pattern === "number" ? c.sliding_window_pattern : undefined;
  const types = Array.isArray(c.layer_types) ? (c.layer_types as unknown[]) : undefined;
  const allGlobal = pattern === 1 || (types !== undefined && types.every((t) => t === "full_attention"));
  if (!allGlobal) {
    const expected = Array.from({ length: layers }, (_, l) => (l % 6 === 5 ? "full_attention" : "sliding_attention"));
    if ((pattern !== undefined && pattern !== 6) || (types && (types.length !== layers || types.some((t, l) => t !== expected[l])))) {
      refuse(types ? "layer_types" : "sliding_window_pattern", "llama.cpp makes every 6th layer global and the others sliding-window; another pattern would run a different model");
    }
    md["gemma3.attention.sliding_window"] = u32(num("sliding_window"));
  }
  return md;
}

/** Phi3MiniModel: its own keys (not TextModel's), the rope over a fraction of each head, LongRoPE factors as tensors. */
function phi3(a: ArchInput): ArchPlan {
  const { c, refuse, num } = reader(a);
  const dim = num("hidden_size"), heads = num("num_attention_heads");
  const ctx = num("max_position_embeddings");
  const orig = typeof a.rope.original_max_position_embeddings === "number" ? a.rope.original_max_position_embeddings : num("original_max_position_embeddings", ctx);
  const rotPct = typeof a.rope.partial_rotary_factor === "number" ? a.rope.partial_rotary_factor : num("partial_rotary_factor", 1);
  const ropeDims = Math.floor(Math.floor(rotPct * dim) / heads);
  const md: Record<string, GgufValue> = {
    "phi3.context_length": u32(ctx),
    "phi3.rope.scaling.original_context_length": u32(orig),
    "phi3.embedding_length": u32(dim),
    "phi3.feed_forward_length": u32(num("intermediate_size")),
    "phi3.block_count": u32(num("num_hidden_layers")),
    "phi3.attention.head_count": u32(heads),
    "phi3.attention.head_count_kv": u32(num("num_key_value_heads", heads)),
    "phi3.attention.layer_norm_rms_epsilon": f32(num("rms_norm_eps")),
    "phi3.rope.dimension_count": u32(ropeDims),
    "phi3.rope.freq_base": f32(typeof a.rope.rope_theta === "number" ? a.rope.rope_theta : 10000),
    // 0 when unset (the converter's marker for Phi-4); llama.cpp ignores a phi3 sliding window either way.
    "phi3.attention.sliding_window": u32(typeof c.sliding_window === "number" ? c.sliding_window : 0),
  };
  const long = a.rope.long_factor, short = a.rope.short_factor;
  if (!Array.isArray(long) || !long.length) {
    const ropeType = String(a.rope.rope_type ?? "default").toLowerCase();
    if (ropeType !== "default") refuse("rope_scaling", `rope scaling "${ropeType}" without LongRoPE factors is not converted for phi3 (microsoft/Phi-3-mini-4k-instruct has none)`);
    return { metadata: md, extra: [] };
  }
  // 128k models (Phi-3-mini-128k, Phi-3.5-mini): LongRoPE frequency factors; llama.cpp uses the short ones up to the
  // original context and the long ones past it, and scales q·k by the attention factor (generate_extra_tensors).
  const ropeType = String(a.rope.rope_type ?? "").toLowerCase();
  if (ropeType !== "longrope" && ropeType !== "su") refuse("rope_scaling", `rope scaling "${ropeType}" with long/short factors is not implemented (LongRoPE "longrope"/"su" is)`);
  if (!Array.isArray(short) || short.length !== long.length || long.length !== ropeDims / 2) {
    refuse("rope_scaling", `LongRoPE long_factor and short_factor must each hold ${ropeDims / 2} values (half the rotated dimensions)`);
  }
  const scale = ctx / orig;
  const attnFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(orig)) : 1;
  md["phi3.rope.scaling.attn_factor"] = f32(attnFactor);
  const values = (xs: unknown[], field: string) => Float32Array.from(xs, (x) => (typeof x === "number" ? x : refuse("rope_scaling", `${field} holds a non-number`)));
  return {
    metadata: md,
    extra: [{ name: "rope_factors_long.weight", data: values(long, "long_factor") }, { name: "rope_factors_short.weight", data: values(short as unknown[], "short_factor") }],
  };
}

/**
 * llama.cpp right-strips the whitespace after special tokens of a model whose general.name contains "phi3" or
 * "phi-3" (llama-vocab.cpp), which is what Phi-3's tokenizer.json asks for (rstrip on its chat tokens): the name
 * keeps that word when the tokenizer asks for it, so llama.cpp tokenizes a chat as tokenizer.json does.
 */
export function phi3Name(name: string, addedTokens: Array<{ special?: boolean; rstrip?: boolean }>): string {
  if (/phi-?3/i.test(name)) return name;
  return addedTokens.some((t) => t.special && t.rstrip) ? `Phi-3 ${name}` : name;
}
