// The names and layouts Hugging Face transformers uses for the llama family, against llama.cpp's GGUF ones
// (llama.cpp's convert_hf_to_gguf.py and gguf-py tensor_mapping.py define the pairs): what a PEFT adapter, a
// checkpoint folder and an export must agree on.

/** Per-layer GGUF weight → transformers module inside `model.layers.{i}`. */
export const HF_LAYER_MODULES: Record<string, string> = {
  attn_q: "self_attn.q_proj", attn_k: "self_attn.k_proj", attn_v: "self_attn.v_proj", attn_output: "self_attn.o_proj",
  attn_qkv: "self_attn.qkv_proj",
  ffn_gate: "mlp.gate_proj", ffn_up: "mlp.up_proj", ffn_down: "mlp.down_proj",
  attn_norm: "input_layernorm", ffn_norm: "post_attention_layernorm",
  attn_q_norm: "self_attn.q_norm", attn_k_norm: "self_attn.k_norm",
  post_attention_norm: "post_attention_layernorm", post_ffw_norm: "post_feedforward_layernorm",
};

/**
 * The transformers module of a GGUF tensor name ("blk.3.attn_q.weight" → "model.layers.3.self_attn.q_proj"), or
 * undefined. `fusedGateUp`: Phi-3's ffn_up holds gate_up_proj (convert_hf_to_gguf maps mlp.gate_up_proj → ffn_up).
 */
export function hfModuleOf(ggufName: string, o: { fusedGateUp?: boolean } = {}): string | undefined {
  const m = /^blk\.(\d+)\.([a-z_]+)\.(?:weight|bias)$/.exec(ggufName);
  if (m) {
    const mod = o.fusedGateUp && m[2] === "ffn_up" ? "mlp.gate_up_proj" : HF_LAYER_MODULES[m[2]!];
    return mod ? `model.layers.${m[1]}.${mod}` : undefined;
  }
  return { "token_embd.weight": "model.embed_tokens", "output_norm.weight": "model.norm", "output.weight": "lm_head" }[ggufName];
}

/** The short module name PEFT's `target_modules` lists ("q_proj"), from ours ("q"). */
export const PEFT_TARGET: Record<string, string> = { q: "q_proj", k: "k_proj", v: "v_proj", o: "o_proj", gate: "gate_proj", up: "up_proj", down: "down_proj" };

/**
 * llama.cpp's converter reorders the rows of q_proj and k_proj for architectures whose rope rotates adjacent
 * pairs ("norm" rope: llama, mistral): within each head, HF's [half, j] row order (rotate_half) becomes [j, half].
 * `unpermuteRows` undoes it (GGUF rows → HF rows) and `permuteRows` does it, for a row-major [rows, cols] matrix.
 */
export const unpermuteRows = (data: Float32Array, rows: number, cols: number, heads: number): Float32Array => moveRows(data, rows, cols, heads, true);
export const permuteRows = (data: Float32Array, rows: number, cols: number, heads: number): Float32Array => moveRows(data, rows, cols, heads, false);

function moveRows(data: Float32Array, rows: number, cols: number, heads: number, toHf: boolean): Float32Array {
  const out = new Float32Array(data.length);
  const half = rows / heads / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let s = 0; s < 2; s++) {
        const gguf = h * 2 * half + j * 2 + s; // [h][j][s]
        const hf = h * 2 * half + s * half + j; // [h][s][j]
        const [from, to] = toHf ? [gguf, hf] : [hf, gguf];
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/**
 * The Hugging Face id a GGUF says it was converted from, as llama.cpp's converter records it
 * (`general.base_model.0.repo_url`, `general.source.url`/`.huggingface.repository`), or undefined.
 */
export function hfIdOfGguf(meta: (key: string) => unknown): string | undefined {
  for (const key of ["general.source.huggingface.repository", "general.base_model.0.repo_url", "general.source.url", "general.base_model.0.url"]) {
    const v = meta(key);
    if (typeof v !== "string") continue;
    const m = /^(?:https?:\/\/huggingface\.co\/)?([\w.-]+\/[\w.-]+)\/?$/.exec(v.trim());
    if (m) return m[1];
  }
  return undefined;
}
