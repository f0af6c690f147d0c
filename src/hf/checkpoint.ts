// A Hugging Face checkpoint folder (config.json, *.safetensors single or sharded, tokenizer.json,
// tokenizer_config.json) read as the GGUF llama.cpp's convert_hf_to_gguf.py would make of it: the same
// architecture metadata (TextModel/LlamaModel set_gguf_parameters; Gemma 2/3 and Phi-3 in checkpoint-arch.ts),
// tensor names (gguf-py tensor_mapping), q/k row order (LlamaModel.permute for llama/mistral, none for the NEOX-rope
// architectures), Llama-3 rope_freqs (generate_extra_tensors) and tokenizer metadata (vocab.ts). planCheckpoint
// reads only headers and JSON, so preflight and `model info` can judge a folder before any weight is read;
// convert.ts writes the plan.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { GgmlTypeName, GgufValue } from "../gguf/types.ts";
import { FILE_TYPE } from "../gguf/types.ts";
import { openSafetensors, type SafetensorsEntry } from "../safetensors/format.ts";
import { archMetadata, dropsTensor, layerMap, normShift, phi3Name, tiedByDefault } from "./checkpoint-arch.ts";
import { hfVocab, readTokenizerFolder, type HfVocab } from "./vocab.ts";

const FIELD = "FINETUNE_MODEL_NAME";

/** transformers' architectures[0] → the GGUF architecture convert_hf_to_gguf.py writes (Mistral converts as llama). */
const ARCH_BY_HF: Record<string, string> = {
  LlamaForCausalLM: "llama", MistralForCausalLM: "llama", Qwen2ForCausalLM: "qwen2", Qwen3ForCausalLM: "qwen3",
  Gemma2ForCausalLM: "gemma2", Gemma3ForCausalLM: "gemma3", Phi3ForCausalLM: "phi3",
};
/** Architectures whose metadata checkpoint-arch.ts writes (their converter classes do not use TextModel's). */
const OWN_METADATA = new Set(["gemma2", "gemma3", "phi3"]);

/** Architectures people name that we refuse before any work, with what to use instead. */
const REFUSED_HF: Record<string, string> = {
  GPT2LMHeadModel:
    "GPT-2-family models (gpt2, DialoGPT, distilgpt2) are not trained here: they use learned positions, LayerNorm with biases, " +
    "GELU and a fused Conv1D c_attn, none of which the llama-family trainer computes. Use a small model of a supported family instead, e.g. " +
    "Qwen/Qwen2.5-0.5B-Instruct or HuggingFaceTB/SmolLM2-360M-Instruct (both smaller or as small as DialoGPT-medium, and instruction-tuned)",
};

const TOP_MAP: Record<string, string> = { "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight" };

/** Where a planned tensor's values come from. */
export type TensorSource =
  | { kind: "safetensors"; file: string; key: string; entry: SafetensorsEntry; permuteHeads?: number; /** Added to every value (Gemma's norms). */ shift?: number }
  | { kind: "values"; data: Float32Array };

export interface PlannedTensor { name: string; dims: number[]; type: GgmlTypeName; source: TensorSource }

export interface CheckpointPlan {
  dir: string;
  hfArch: string;
  arch: string;
  config: Record<string, unknown>;
  metadata: Record<string, GgufValue>;
  tensors: PlannedTensor[];
  vocab: HfVocab;
  /** The stored types of the weights ("BF16", "F32 + F16"…). */
  dtype: string;
  /** Every file the GGUF is made from (for the cache key). */
  files: string[];
}

export function readConfig(dir: string): Record<string, unknown> {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new PipelineError("E_MODEL", "not a Hugging Face checkpoint folder: no config.json", { file: dir, field: FIELD });
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new PipelineError("E_MODEL", `config.json is not JSON: ${(e as Error).message}`, { file: path });
  }
}

/** Whether `dir` looks like a checkpoint folder (config.json beside safetensors weights). */
export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, "config.json")) && statSync(dir).isDirectory();
}

/** The HF architecture name and what the converter makes of it, or the refusal. */
export function archOf(config: Record<string, unknown>, file: string): { hfArch: string; arch: string } {
  const hfArch = String((config.architectures as unknown[] | undefined)?.[0] ?? config.model_type ?? "unknown");
  const refused = REFUSED_HF[hfArch] ?? (config.model_type === "gpt2" ? REFUSED_HF.GPT2LMHeadModel : undefined);
  if (refused) throw new PipelineError("E_MODEL", `${hfArch}: ${refused}`, { file, field: "architectures" });
  const arch = ARCH_BY_HF[hfArch];
  if (!arch) {
    throw new PipelineError("E_MODEL",
      `architecture ${hfArch} is not converted from a checkpoint here (supported: ${Object.keys(ARCH_BY_HF).join(", ")}); ` +
      `for other architectures that llama.cpp's convert_hf_to_gguf.py knows, convert the model with it and set ${FIELD} to the .gguf` +
      (hfArch === "Gemma3ForConditionalGeneration" ? " (Gemma 3 4B and larger are vision models; the text-only google/gemma-3-1b-it converts here)" : ""),
      { file, field: "architectures" });
  }
  return { hfArch, arch };
}

/** The safetensors files of a folder: the index's shards, else model*.safetensors. */
function weightFiles(dir: string): string[] {
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, string> }).weight_map ?? {};
    } catch (e) {
      throw new PipelineError("E_MODEL", `model.safetensors.index.json is not JSON: ${(e as Error).message}`, { file: index });
    }
    const files = [...new Set(Object.values(map))].sort();
    if (!files.length) throw new PipelineError("E_MODEL", "model.safetensors.index.json has no weight_map", { file: index, field: "weight_map" });
    const missing = files.filter((f) => !existsSync(join(dir, f)));
    if (missing.length) throw new PipelineError("E_MODEL", `shard${missing.length > 1 ? "s" : ""} ${missing.join(", ")} named by the index ${missing.length > 1 ? "are" : "is"} missing (incomplete download?)`, { file: index });
    return files;
  }
  // As the converter (get_model_part_names "model*.safetensors"): Mistral's repos also hold consolidated.safetensors,
  // the same weights under other names, and adapters may sit beside.
  const files = readdirSync(dir).filter((f) => f.startsWith("model") && f.endsWith(".safetensors")).sort();
  if (!files.length) {
    const bin = readdirSync(dir).some((f) => f.endsWith(".bin") || f.endsWith(".pt") || f.endsWith(".pth"));
    throw new PipelineError("E_MODEL", bin
      ? "the checkpoint has PyTorch pickle weights (.bin) only; only safetensors are read (pickles can run code). Save it with `save_pretrained(dir, safe_serialization=True)`"
      : "the checkpoint folder has no *.safetensors weights", { file: dir, field: FIELD });
  }
  return files;
}

const num = (config: Record<string, unknown>, key: string, file: string, fallback?: number): number => {
  const v = config[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (fallback !== undefined) return fallback;
  throw new PipelineError("E_MODEL", `config.json lacks ${key}`, { file, field: key });
};

/**
 * rope settings the way transformers keeps them: rope_parameters (v5; per layer type for Gemma 3, whose global
 * layers' are "full_attention"), else rope_theta + rope_scaling.
 */
function ropeParams(config: Record<string, unknown>): Record<string, unknown> {
  const all = (config.rope_parameters ?? {}) as Record<string, unknown>;
  const p = (all.full_attention ?? all) as Record<string, unknown>;
  const scaling = (config.rope_scaling ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...scaling, ...p };
  if (out.rope_theta === undefined && config.rope_theta !== undefined) out.rope_theta = config.rope_theta;
  if (out.rope_type === undefined && out.type !== undefined) out.rope_type = out.type;
  return out;
}

/**
 * Llama-3 rope scaling as frequency divisors per rotated pair (LlamaModel.generate_extra_tensors): 1 for
 * wavelengths under original_context / high_freq_factor, `factor` over original_context / low_freq_factor, smooth between.
 */
export function llama3RopeFreqs(headDim: number, base: number, rope: Record<string, unknown>): Float32Array {
  const factor = Number(rope.factor ?? 8), low = Number(rope.low_freq_factor ?? 1), high = Number(rope.high_freq_factor ?? 4);
  const orig = Number(rope.original_max_position_embeddings ?? 8192);
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const freq = Math.fround(1 / Math.pow(base, Math.fround((2 * i) / headDim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < orig / high) return 1;
    if (wavelen > orig / low) return factor;
    const smooth = (orig / wavelen - low) / (high - low);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

/** The llama / qwen2 / qwen3 metadata (TextModel.set_gguf_parameters, LlamaModel's vocab_size and rope dimensions). */
function textModelMetadata(arch: string, config: Record<string, unknown>, cfgFile: string, rope: Record<string, unknown>, ropeType: string | undefined): Record<string, GgufValue> {
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  const layers = num(config, "num_hidden_layers", cfgFile);
  const dim = num(config, "hidden_size", cfgFile);
  const heads = num(config, "num_attention_heads", cfgFile);
  const kvHeads = num(config, "num_key_value_heads", cfgFile, heads);
  const headDim = typeof config.head_dim === "number" ? config.head_dim : dim / heads;
  const vocabSize = typeof config.vocab_size === "number" ? config.vocab_size : undefined;
  const md: Record<string, GgufValue> = {};
  md[`${arch}.block_count`] = u32(layers);
  const ctx = config.max_position_embeddings ?? config.n_ctx ?? config.n_positions;
  if (typeof ctx === "number") md[`${arch}.context_length`] = u32(ctx);
  md[`${arch}.embedding_length`] = u32(dim);
  md[`${arch}.feed_forward_length`] = u32(num(config, "intermediate_size", cfgFile));
  md[`${arch}.attention.head_count`] = u32(heads);
  if (typeof config.num_key_value_heads === "number") md[`${arch}.attention.head_count_kv`] = u32(kvHeads);
  if (ropeType === "linear" && typeof rope.factor === "number") {
    md[`${arch}.rope.scaling.type`] = { type: "string", value: "linear" };
    md[`${arch}.rope.scaling.factor`] = f32(rope.factor);
  } else if (ropeType === "yarn" && typeof rope.factor === "number") {
    // Written as the converter writes it; preflight then refuses YaRN by name.
    md[`${arch}.rope.scaling.type`] = { type: "string", value: "yarn" };
    md[`${arch}.rope.scaling.factor`] = f32(rope.factor);
    if (typeof rope.original_max_position_embeddings === "number") md[`${arch}.rope.scaling.original_context_length`] = u32(rope.original_max_position_embeddings);
  } else if (ropeType && ropeType !== "default" && ropeType !== "llama3" && !(ropeType === "linear" && rope.factor === undefined)) {
    throw new PipelineError("E_MODEL", `rope scaling "${ropeType}" is not implemented (default, linear and llama3 are)`, { file: cfgFile, field: "rope_scaling" });
  }
  if (typeof rope.rope_theta === "number") md[`${arch}.rope.freq_base`] = f32(rope.rope_theta);
  if (typeof config.rms_norm_eps === "number") md[`${arch}.attention.layer_norm_rms_epsilon`] = f32(config.rms_norm_eps);
  if (typeof config.head_dim === "number") {
    md[`${arch}.attention.key_length`] = u32(config.head_dim);
    md[`${arch}.attention.value_length`] = u32(config.head_dim);
  }
  if (arch === "llama") {
    if (vocabSize !== undefined) md[`${arch}.vocab_size`] = u32(vocabSize);
    md[`${arch}.rope.dimension_count`] = u32(headDim);
  }
  return md;
}

/** The plan of the GGUF for checkpoint folder `dir` (headers and JSON only). `source` names it in general.source.*. */
export async function planCheckpoint(dir: string, o: { repo?: string } = {}): Promise<CheckpointPlan> {
  const config = readConfig(dir);
  const cfgFile = join(dir, "config.json");
  const { hfArch, arch } = archOf(config, cfgFile);
  const files = weightFiles(dir);

  // Every tensor of every shard, by name.
  const entries = new Map<string, { file: string; entry: SafetensorsEntry }>();
  for (const f of files) {
    const st = await openSafetensors(join(dir, f));
    try {
      for (const [name, entry] of st.entries) entries.set(name, { file: join(dir, f), entry });
    } finally {
      await st.close();
    }
  }

  const dim = num(config, "hidden_size", cfgFile);
  const heads = num(config, "num_attention_heads", cfgFile);
  const kvHeads = num(config, "num_key_value_heads", cfgFile, heads);
  const headDim = typeof config.head_dim === "number" ? config.head_dim : dim / heads;
  const vocabSize = typeof config.vocab_size === "number" ? config.vocab_size : undefined;
  const rope = ropeParams(config);
  const permute = arch === "llama"; // rope over adjacent pairs in llama.cpp, over halves in transformers

  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  let name = o.repo?.split("/")[1] ?? basename(dir);
  if (arch === "phi3") name = phi3Name(name, (readTokenizerFolder(dir).tokenizer.added_tokens ?? []) as Array<{ special?: boolean; rstrip?: boolean }>);
  const md: Record<string, GgufValue> = {
    "general.architecture": { type: "string", value: arch },
    "general.type": { type: "string", value: "model" },
    "general.name": { type: "string", value: name },
    "general.quantization_version": u32(2),
  };
  const ropeType = typeof rope.rope_type === "string" ? rope.rope_type.toLowerCase() : undefined;
  const extra: PlannedTensor[] = [];
  if (OWN_METADATA.has(arch)) {
    const local = ((config.rope_parameters ?? {}) as Record<string, unknown>).sliding_attention as Record<string, unknown> | undefined;
    const own = archMetadata({ arch, hfArch, config, file: cfgFile, rope, ...(local ? { ropeLocal: local } : {}) });
    Object.assign(md, own.metadata);
    for (const t of own.extra) extra.push({ name: t.name, dims: [t.data.length], type: "F32", source: { kind: "values", data: t.data } });
  } else {
    Object.assign(md, textModelMetadata(arch, config, cfgFile, rope, ropeType));
  }
  // Where the weights came from, for the PEFT adapter's base_model_name_or_path (a path PEFT can load).
  if (!o.repo) md["docs2model.checkpoint_dir"] = { type: "string", value: dir };
  if (o.repo) {
    md["general.source.url"] = { type: "string", value: `https://huggingface.co/${o.repo}` };
    md["general.source.huggingface.repository"] = { type: "string", value: o.repo };
  }

  // Tensors: HF names → GGUF names, dims reversed (HF [out, in] row-major is GGUF [in, out]).
  const tied = typeof config.tie_word_embeddings === "boolean" ? config.tie_word_embeddings : tiedByDefault(arch);
  const layerNames = layerMap(arch);
  const tensors: PlannedTensor[] = [];
  const unknown: string[] = [];
  const dtypes = new Set<string>();
  for (const [key, { file, entry }] of entries) {
    if (key.endsWith("rotary_emb.inv_freq")) continue; // recomputed by every runtime; the converter drops it too
    let name = TOP_MAP[key];
    const m = /^model\.layers\.(\d+)\.(.+)$/.exec(key);
    if (!name && m && layerNames[m[2]!]) name = `blk.${m[1]}.${layerNames[m[2]!]}`;
    if (!name) { unknown.push(key); continue; }
    if ((name === "output.weight" && tied) || dropsTensor(arch, key)) continue; // llama.cpp reads the embedding for a tied head
    if (!["F32", "F16", "BF16"].includes(entry.dtype)) {
      throw new PipelineError("E_MODEL", `tensor ${key} is ${entry.dtype}; checkpoints of F32, F16 or BF16 weights are converted (a quantized checkpoint — GPTQ, AWQ, FP8 — is not)`, { file, field: key });
    }
    dtypes.add(entry.dtype);
    const dims = [...entry.shape].reverse();
    // 1-D tensors (norms, biases) as F32, matrices in their stored type (lossless; the converter's --outtype auto).
    const type = (dims.length < 2 ? "F32" : entry.dtype) as GgmlTypeName;
    const isQ = /\.attn_q\.(weight|bias)$/.test(name), isK = /\.attn_k\.(weight|bias)$/.test(name);
    const permuteHeads = permute && (isQ || isK) ? (isQ ? heads : kvHeads) : undefined;
    const shift = normShift(arch, key);
    tensors.push({ name, dims, type, source: { kind: "safetensors", file, key, entry, ...(permuteHeads ? { permuteHeads } : {}), ...(shift ? { shift } : {}) } });
  }
  if (unknown.length) {
    throw new PipelineError("E_MODEL",
      `tensor${unknown.length > 1 ? "s" : ""} ${unknown.slice(0, 4).join(", ")}${unknown.length > 4 ? ` and ${unknown.length - 4} more` : ""} ha${unknown.length > 1 ? "ve" : "s"} no llama.cpp name for ${hfArch}; ` +
      "the checkpoint is not a plain causal language model of this architecture (a vision or adapter checkpoint?)", { file: dir });
  }
  if (ropeType === "llama3") {
    if (arch !== "llama") throw new PipelineError("E_MODEL", `rope_type llama3 on ${hfArch}: llama.cpp reads rope_freqs only for llama`, { file: cfgFile, field: "rope_scaling" });
    tensors.push({ name: "rope_freqs.weight", dims: [headDim / 2], type: "F32", source: { kind: "values", data: llama3RopeFreqs(headDim, Number(rope.rope_theta ?? 10000), rope) } });
  }
  tensors.push(...extra);
  const order = (n: string) => (n === "token_embd.weight" ? -2 : n === "rope_freqs.weight" || n.startsWith("rope_factors_") ? -1 : n.startsWith("blk.") ? Number(n.split(".")[1]) : 1e9);
  tensors.sort((a, b) => order(a.name) - order(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const matrixTypes = [...dtypes];
  const fileType = matrixTypes.length === 1 ? FILE_TYPE[matrixTypes[0] as "F32" | "F16" | "BF16"] : FILE_TYPE.F16;
  md["general.file_type"] = u32(fileType);

  const vocab = hfVocab(dir, vocabSize, { arch, config });
  Object.assign(md, vocab.metadata);
  const sources = ["config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json", "model.safetensors.index.json", ...files]
    .map((f) => join(dir, f)).filter((f) => existsSync(f));
  return { dir, hfArch, arch, config, metadata: md, tensors, vocab, dtype: matrixTypes.join(" + "), files: sources };
}
