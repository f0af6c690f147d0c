// A LoRA adapter as PEFT saves one (`adapter_model.safetensors` + `adapter_config.json`), so transformers + PEFT,
// vLLM, unsloth and TGI load what we trained: `PeftModel.from_pretrained(base, dir)`.
//
// Keys: `base_model.model.<module>.lora_A.weight` [r, in] and `….lora_B.weight` [out, r] (torch Linear layout,
// fan_in_fan_out false); scale alpha / r as in our GGUF adapter. Our GGUF lora_a (dims [in, r]) is row-major
// [r][in] and lora_b (dims [r, out]) is [out][r]: the same bytes. For "norm"-rope architectures the GGUF rows of
// q/k are in llama.cpp's permuted order, so lora_B of q_proj / k_proj is put back in HF row order.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import { PEFT_ADAPTER_CONFIG_FILE, PEFT_ADAPTER_FILE } from "../layout.ts";
import { writeSafetensors, type SafetensorsTensor } from "../safetensors/format.ts";
import { hfModuleOf, PEFT_TARGET, unpermuteRows } from "./names.ts";

export interface PeftAdapterInput {
  /** Our targets ("q", "v", …). */
  targets: string[];
  rank: number;
  alpha: number;
  dropout: number;
  /** GGUF-named lora tensors: `<weight>.lora_a` dims [in, r], `<weight>.lora_b` dims [r, out]. */
  tensors: Array<{ name: string; dims: number[]; data: Float32Array }>;
  /** Rows of q and k are in llama.cpp's permuted order (llama, mistral). */
  permutedQK: boolean;
  heads: number;
  kvHeads: number;
  /** The base as PEFT should look it up: a Hugging Face id when known, else what the user named. */
  baseModel: string;
  /** Phi-3: ffn_up is HF's gate_up_proj (and attn_qkv its qkv_proj). */
  fusedGateUp?: boolean;
}

/** The adapter's tensors under PEFT's names, in HF row order. */
export function peftTensors(a: PeftAdapterInput): SafetensorsTensor[] {
  const out: SafetensorsTensor[] = [];
  for (const t of a.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name);
    const module = m && hfModuleOf(m[1]!, { fusedGateUp: a.fusedGateUp });
    if (!m || !module) throw new PipelineError("E_EXPORT", `LoRA tensor ${t.name} has no Hugging Face module name; the PEFT adapter is written for the llama family`);
    const [inner, outer] = t.dims as [number, number];
    let data = t.data;
    if (m[2] === "b" && a.permutedQK && /\.self_attn\.[qk]_proj$/.test(module)) {
      data = unpermuteRows(data, outer, inner, module.endsWith("q_proj") ? a.heads : a.kvHeads);
    }
    out.push({ name: `base_model.model.${module}.lora_${m[2] === "a" ? "A" : "B"}.weight`, shape: [outer, inner], data });
  }
  return out;
}

/** PEFT's target_modules: the short names of the adapted modules (Phi-3's fused qkv_proj / gate_up_proj included). */
function targetModules(a: PeftAdapterInput): string[] {
  const present = new Set<string>();
  for (const t of a.tensors) {
    const m = /^(.*)\.lora_[ab]$/.exec(t.name);
    const module = m && hfModuleOf(m[1]!, { fusedGateUp: a.fusedGateUp });
    if (module) present.add(module.split(".").at(-1)!);
  }
  return present.size ? [...present].sort() : a.targets.map((t) => PEFT_TARGET[t] ?? t).sort();
}

/** adapter_config.json as PEFT (LoraConfig.save_pretrained) writes it, with the fields its loader reads. */
export function peftConfig(a: PeftAdapterInput): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: a.baseModel,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: a.alpha,
    lora_dropout: a.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: a.rank,
    rank_pattern: {},
    revision: null,
    target_modules: targetModules(a),
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
}

export async function writePeftAdapter(dir: string, a: PeftAdapterInput): Promise<{ adapter: string; config: string }> {
  const adapter = join(dir, PEFT_ADAPTER_FILE);
  const config = join(dir, PEFT_ADAPTER_CONFIG_FILE);
  await writeSafetensors(adapter, peftTensors(a), { format: "pt" });
  await writeFile(config, JSON.stringify(peftConfig(a), null, 2) + "\n");
  return { adapter, config };
}
