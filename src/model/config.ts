// The shape of a llama-family model (llama, mistral, qwen2, qwen3, gemma3, phi3), read from GGUF metadata the way
// llama.cpp reads it (llama-model.cpp load_hparams and src/models/<arch>.cpp). Metadata that changes the
// computation and that we do not implement is refused by name here, so no caller can train on a different
// model from the one llama.cpp runs.
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
  /** llama.cpp: llama/mistral rotate adjacent pairs (NORM); qwen2/qwen3/gemma3 rotate halves (NEOX). */
  ropeStyle: RopeStyle;
  /** q/k/v projections carry a bias (qwen2). */
  qkvBias: boolean;
  /** No separate output.weight: logits use the token embedding. */
  tiedOutput: boolean;
  contextLength: number;
  /** Linear rope scaling: positions times this (llama.cpp freq_scale = 1 / rope.scaling.factor). Default 1. */
  ropeScale?: number;
  /** The file has rope_freqs.weight: per-pair frequency divisors (Llama-3 rope), applied as ggml_rope_ext does. */
  ropeFreqs?: boolean;
  /** Per-head RMSNorm of q and k before rope (qwen3, gemma3: attn_q_norm / attn_k_norm). */
  qkNorm?: boolean;
  /** gemma2/3: the embedding scaled by √dim, GELU(tanh) gate, RMSNorm after attention and after the FFN. */
  gemma?: boolean;
  /** gemma2/3: sliding-window attention width on the local layers (0/absent: every layer global). */
  slidingWindow?: number;
  /** gemma2/3: every `swaPattern`-th layer (il % p == p - 1) is global, the others local (gemma2: 2, gemma3: 6). */
  swaPattern?: number;
  /** gemma2/3: rope base of the local (sliding-window) layers. */
  ropeBaseSwa?: number;
  /** gemma2: the local layers' rope is scaled like the global ones (gemma3's never is). */
  ropeScaleSwa?: number;
  /** gemma2: attention scores capped to cap · tanh(score / cap) before the softmax. */
  attnSoftcap?: number;
  /** logits = cap · tanh(logits / cap) when set (gemma3 final_logit_softcapping). */
  logitSoftcap?: number;
  /** Rotated dims per head when fewer than headDim (phi3 / phi4-mini partial rope: rope.dimension_count). */
  ropeDims?: number;
  /** phi3: one attn_qkv.weight [dim, q + 2 kv] instead of attn_q/k/v. */
  fusedQkv?: boolean;
  /** phi3: ffn_up.weight [dim, 2 ffn] holds gate (first half) and up (second half); no ffn_gate. */
  fusedGateUp?: boolean;
  /**
   * phi3 long-context (LongRoPE) files: rope_factors_short/long.weight. llama.cpp divides the frequencies by the
   * short factors while the context is at most ropeOrigContext and by the long ones past it; training uses the short.
   */
  ropeShortLong?: boolean;
  /** rope.scaling.original_context_length (or context_length): where llama.cpp switches to the long factors. */
  ropeOrigContext?: number;
  /** rope.scaling.attn_factor: llama.cpp multiplies the rotated q and k dims by it (ggml_rope_ext mscale). */
  ropeMscale?: number;
}

/** Architectures whose forward pass we implement, with their llama.cpp rope type (llama_model_rope_type). */
const ROPE_BY_ARCH: Record<string, RopeStyle> = { llama: "norm", mistral: "norm", qwen2: "neox", qwen3: "neox", gemma2: "neox", gemma3: "neox", phi3: "neox" };

export const SUPPORTED_ARCHS = Object.keys(ROPE_BY_ARCH);

/** Architectures people pull that we know and refuse, with why (so the message says more than "unknown"). */
const REFUSED_ARCHS: Record<string, string> = {
  gemma: "gemma (the first Gemma) is not implemented for training; use a gemma3 model",
};

/** Whether layer `l` of a gemma3 model attends through the sliding window (llama_hparams::set_swa_pattern). */
export function isSlidingLayer(c: LlamaConfig, l: number): boolean {
  if (!c.slidingWindow) return false;
  const p = c.swaPattern ?? 6;
  return p === 0 || l % p < p - 1;
}

type Meta = Record<string, unknown>;

/** Build the config from GGUF metadata plus the tensor names present (for bias / tied output / rope factors). */
export function configFromGguf(meta: Meta, tensorNames: Iterable<string>, file = "model"): LlamaConfig {
  const arch = String(meta["general.architecture"] ?? "");
  if (arch in REFUSED_ARCHS) throw new PipelineError("E_MODEL", `architecture "${arch}": ${REFUSED_ARCHS[arch]}; use one of ${SUPPORTED_ARCHS.join(", ")}`, { file, field: "general.architecture" });
  if (!(arch in ROPE_BY_ARCH)) {
    throw new PipelineError("E_MODEL", `architecture "${arch || "unknown"}" is not supported for training; use one of ${SUPPORTED_ARCHS.join(", ")}`, { file, field: "general.architecture" });
  }
  const names = new Set(tensorNames);
  const refuse = (key: string, why: string): never => {
    throw new PipelineError("E_MODEL", `${arch}.${key} = ${JSON.stringify(meta[`${arch}.${key}`])}: ${why}; this model cannot be trained here (llama.cpp would run a different model from the one trained)`, { file, field: `${arch}.${key}` });
  };
  const has = (key: string) => meta[`${arch}.${key}`] !== undefined;
  const need = (key: string): number => {
    const v = meta[`${arch}.${key}`];
    if (Array.isArray(v)) refuse(key, "per-layer values are not supported");
    const n = Number(v);
    if (!Number.isFinite(n)) throw new PipelineError("E_MODEL", `GGUF metadata lacks ${arch}.${key}; the file is not a complete ${arch} model`, { file, field: `${arch}.${key}` });
    return n;
  };
  const opt = (key: string, fallback: number): number => {
    const v = meta[`${arch}.${key}`];
    if (Array.isArray(v)) refuse(key, "per-layer values are not supported");
    return v === undefined ? fallback : Number(v);
  };
  const dim = need("embedding_length");
  const heads = need("attention.head_count");
  const kvHeads = opt("attention.head_count_kv", heads);
  const tokens = meta["tokenizer.ggml.tokens"];
  const vocab = opt("vocab_size", Array.isArray(tokens) ? tokens.length : NaN);
  if (!Number.isFinite(vocab)) throw new PipelineError("E_MODEL", `cannot tell the vocabulary size (no ${arch}.vocab_size, no tokenizer.ggml.tokens)`, { file });
  const headDim = opt("attention.key_length", dim / heads);
  if (opt("attention.value_length", headDim) !== headDim) refuse("attention.value_length", `differs from ${arch}.attention.key_length (${headDim})`);
  const ropeDims = opt("rope.dimension_count", headDim);
  // Partial rope only where llama.cpp's graph allows it (phi3; llama/qwen3/gemma3 assert n_rot == head size).
  if (ropeDims !== headDim && (arch !== "phi3" || ropeDims > headDim || ropeDims % 2 || ropeDims <= 0)) refuse("rope.dimension_count", `partial rope (${headDim} dims per head) is not implemented for ${arch}`);
  if (opt("expert_count", 0) > 0) refuse("expert_count", "mixture-of-experts models are not implemented");
  if (opt("attention.scale", 0) !== 0) refuse("attention.scale", "a custom attention scale is not implemented");
  if (has("attention.causal") && meta[`${arch}.attention.causal`] === false) refuse("attention.causal", "non-causal attention is not implemented");
  const layers = need("block_count");
  /**
   * The sliding-window period. Ollama's converter may write it as one bool per layer (true = local); llama.cpp
   * ignores an array (get_key_or_arr into a scalar) and keeps its default period: accepted when the two agree.
   */
  const swaPattern = (period: number): number => {
    const pattern = meta[`${arch}.attention.sliding_window_pattern`];
    if (!Array.isArray(pattern)) return opt("attention.sliding_window_pattern", period);
    const llamaCpp = Array.from({ length: layers }, (_, l) => l % period < period - 1);
    if (pattern.length !== layers || pattern.some((v, l) => Boolean(v) !== llamaCpp[l])) refuse("attention.sliding_window_pattern", `a per-layer pattern other than every ${period === 2 ? "other" : `${period}th`} layer global, which llama.cpp ignores`);
    return period;
  };
  const config: LlamaConfig = {
    arch,
    vocab,
    dim,
    layers,
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
    ...ropeScaling(meta, arch, refuse),
  };
  if (names.has("rope_freqs.weight")) {
    // llama.cpp reads rope_freqs only for the llama family (get_rope_factors in src/models/llama.cpp).
    if (arch !== "llama" && arch !== "mistral") throw new PipelineError("E_MODEL", `tensor rope_freqs.weight is not read by llama.cpp for ${arch}; refusing a file whose rope is ambiguous`, { file });
    config.ropeFreqs = true;
  }
  if (arch === "qwen3") config.qkNorm = true;
  if (arch === "phi3") {
    // src/models/phi3.cpp: fused or separate q/k/v (create_tensor_qkv), gate and up fused in ffn_up (LLM_FFN_SWIGLU,
    // gate = first half), NEOX rope over rope.dimension_count dims; its sliding window is ignored by llama.cpp.
    config.fusedGateUp = true;
    if (names.has("blk.0.attn_qkv.weight")) config.fusedQkv = true;
    if (ropeDims !== headDim) config.ropeDims = ropeDims;
    // llama_model::get_rope_factors: long factors when the context passes original_context_length, else short.
    if (names.has("rope_factors_short.weight") || names.has("rope_factors_long.weight")) {
      if (!names.has("rope_factors_short.weight") || !names.has("rope_factors_long.weight")) throw new PipelineError("E_MODEL", "phi3 file has only one of rope_factors_short.weight / rope_factors_long.weight; llama.cpp needs both", { file });
      config.ropeShortLong = true;
      config.ropeOrigContext = opt("rope.scaling.original_context_length", config.contextLength);
    }
  }
  if (arch === "gemma2") {
    // src/models/gemma2.cpp: always tied, always a sliding window (default 4096) on every other layer, local rope
    // base rope.freq_base_swa (default: the global base) scaled like the global one, attention soft-capping
    // (default 50) and final soft-capping (default 30) always on.
    config.gemma = true;
    config.tiedOutput = true;
    config.slidingWindow = opt("attention.sliding_window", 4096);
    if (config.slidingWindow <= 0) refuse("attention.sliding_window", "must be positive (llama.cpp always uses the window for gemma2)");
    config.swaPattern = swaPattern(2);
    config.ropeBaseSwa = opt("rope.freq_base_swa", config.ropeBase);
    if (config.ropeScale !== undefined) config.ropeScaleSwa = config.ropeScale;
    config.attnSoftcap = opt("attn_logit_softcapping", 50);
    config.logitSoftcap = opt("final_logit_softcapping", 30);
    if (!(config.attnSoftcap > 0) || !(config.logitSoftcap > 0)) refuse("attn_logit_softcapping", "gemma2's soft-capping values must be positive");
    // gemma2.cpp scales queries by 1/√(dim/heads) instead of 1/√headDim for the 46-layer (27B) model only.
    if (layers === 46 && dim / heads !== headDim) refuse("block_count", "the 27B model's attention scale is not implemented");
  }
  if (arch === "gemma3") {
    config.qkNorm = true;
    config.gemma = true;
    // src/models/gemma3.cpp: sliding window only when attention.sliding_window > 0, pattern default 6,
    // local layers' rope base rope.freq_base_swa (default 10000) and never scaled.
    const window = opt("attention.sliding_window", 0);
    if (window > 0) {
      config.slidingWindow = window;
      config.swaPattern = swaPattern(6);
      config.ropeBaseSwa = opt("rope.freq_base_swa", 10000);
      // Ollama writes the local layers' base as rope.local.freq_base, which llama.cpp does not read.
      if (has("rope.local.freq_base") && opt("rope.local.freq_base", 0) !== config.ropeBaseSwa) refuse("rope.local.freq_base", `differs from the local rope base llama.cpp uses (${arch}.rope.freq_base_swa, default 10000)`);
    }
    const cap = opt("final_logit_softcapping", 0);
    if (cap) config.logitSoftcap = cap;
    if (has("attn_logit_softcapping") && opt("attn_logit_softcapping", 0) !== 0) refuse("attn_logit_softcapping", "attention soft-capping is not implemented");
    // gemma3.cpp scales queries by 1/√(dim/heads) instead of 1/√headDim for the 62-layer (27B) model only.
    if (layers === 62 && dim / heads !== headDim) refuse("block_count", "the 27B model's attention scale is not implemented");
  }
  return config;
}

/**
 * llama.cpp's rope scaling (llama-model.cpp load_hparams, llama-context.cpp): rope.scaling.type defaults to
 * "linear", rope.scaling.factor (or the old rope.scale_linear) f gives freq_scale 1/f (0 or absent: 1);
 * "none" never scales. YaRN, LongRoPE and anything else change the rotation in ways we do not compute.
 */
function ropeScaling(meta: Meta, arch: string, refuse: (key: string, why: string) => never): Pick<LlamaConfig, "ropeScale" | "ropeMscale"> {
  const type = String(meta[`${arch}.rope.scaling.type`] ?? "linear");
  // LongRoPE is a choice of frequency factors (rope_factors_short/long), handled with the tensors for phi3.
  const longrope = type === "longrope" && arch === "phi3";
  if (type !== "linear" && type !== "none" && !longrope) refuse("rope.scaling.type", `rope scaling "${type}" is not implemented (only linear and none${arch === "phi3" ? ", and longrope" : ""})`);
  // llama-context.cpp: yarn_attn_factor *= rope_attn_factor for every scaling type, passed to ggml_rope_ext as mscale.
  const attnFactor = Number(meta[`${arch}.rope.scaling.attn_factor`] ?? 1);
  if (!(attnFactor > 0)) refuse("rope.scaling.attn_factor", "not a positive number");
  const mscale = attnFactor === 1 ? {} : { ropeMscale: attnFactor };
  if (meta[`${arch}.rope.scaling.alpha`] !== undefined && Number(meta[`${arch}.rope.scaling.alpha`]) !== 0) refuse("rope.scaling.alpha", "NTK-alpha rope scaling is not implemented");
  const factor = Number(meta[`${arch}.rope.scaling.factor`] ?? meta[`${arch}.rope.scale_linear`] ?? 0);
  if (!Number.isFinite(factor) || factor < 0) refuse("rope.scaling.factor", "not a positive number");
  if (type === "none" || factor === 0 || factor === 1) return mscale;
  return { ...mscale, ropeScale: 1 / factor };
}

/** Parameter count (what sets memory), counting tied weights once. */
export function parameterCount(c: LlamaConfig): number {
  const q = c.dim * c.heads * c.headDim;
  const kv = 2 * c.dim * c.kvHeads * c.headDim;
  const o = c.heads * c.headDim * c.dim;
  const mlp = 3 * c.dim * c.ffn;
  const bias = c.qkvBias ? c.heads * c.headDim + 2 * c.kvHeads * c.headDim : 0;
  const norms = (c.gemma ? 4 : 2) * c.dim + (c.qkNorm ? 2 * c.headDim : 0);
  const perLayer = q + kv + o + mlp + bias + norms;
  return c.vocab * c.dim * (c.tiedOutput ? 1 : 2) + c.layers * perLayer + c.dim + (c.ropeFreqs ? c.headDim / 2 : 0);
}
