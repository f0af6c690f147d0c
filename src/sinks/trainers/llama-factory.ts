// LLaMA-Factory: dataset_info.json (alpaca columns, system and history mapped) + `llamafactory-cli train` YAMLs,
// one for a single GPU and one with DeepSpeed ZeRO-3 for several (FORCE_TORCHRUN=1).
import type { TrainerLayout, TrainerSettings } from "./targets.ts";
import { yamlGroups } from "./targets.ts";

const DATA_DOC = "https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md";
const TRAIN_DOC = "https://github.com/hiyouga/LLaMA-Factory/blob/main/examples/train_lora/llama3_lora_sft.yaml";
const DS_DOC = "https://github.com/hiyouga/LLaMA-Factory/blob/main/examples/README.md (DeepSpeed ZeRO-3: examples/deepspeed/ds_z3_config.json)";

/** Our chat template family → LLaMA-Factory's `template` name (src/llamafactory/data/template.py). */
const LF_TEMPLATES: Record<string, string> = { llama3: "llama3", chatml: "qwen", gemma: "gemma", phi3: "phi", mistral: "mistral", llama2: "llama2", alpaca: "alpaca" };
export const LF_TEMPLATE_PLACEHOLDER = "REPLACE_WITH_LLAMAFACTORY_TEMPLATE";

/** DeepSpeed ZeRO-3 with every size left to the HF Trainer ("auto"), as DeepSpeed's HF integration reads it. */
export const ZERO3 = {
  train_batch_size: "auto", train_micro_batch_size_per_gpu: "auto", gradient_accumulation_steps: "auto", gradient_clipping: "auto",
  zero_allow_untested_optimizer: true, bf16: { enabled: "auto" }, fp16: { enabled: "auto" },
  zero_optimization: {
    stage: 3, overlap_comm: false, contiguous_gradients: true, reduce_bucket_size: "auto", stage3_prefetch_bucket_size: "auto",
    stage3_param_persistence_threshold: "auto", stage3_gather_16bit_weights_on_model_save: true,
  },
};

export function llamaFactoryLayout(s: TrainerSettings, files: { train: string; valid?: string }): TrainerLayout {
  const columns = { prompt: "instruction", query: "input", response: "output", system: "system", history: "history" };
  const datasetInfo: Record<string, unknown> = { docs2model_train: { file_name: files.train, formatting: "alpaca", columns } };
  if (files.valid) datasetInfo.docs2model_valid = { file_name: files.valid, formatting: "alpaca", columns };
  const template = (s.family && LF_TEMPLATES[s.family]) ?? LF_TEMPLATE_PLACEHOLDER;
  const config = (multi: boolean) => yamlGroups([`LLaMA-Factory LoRA SFT written by docs2model: ${multi ? "FORCE_TORCHRUN=1 " : ""}llamafactory-cli train ${multi ? "llamafactory_multigpu.yaml" : "llamafactory.yaml"}`], [
    { doc: `${TRAIN_DOC}: ### model`, keys: { model_name_or_path: s.baseModel, trust_remote_code: true } },
    { doc: `${TRAIN_DOC}: ### method (LoRA rank/alpha/dropout/targets)`, keys: { stage: "sft", do_train: true, finetuning_type: "lora", lora_rank: s.rank, lora_alpha: s.alpha, lora_dropout: s.dropout, lora_target: s.targets.join(",") } },
    { doc: `${TRAIN_DOC}: ### dataset (dataset_dir holds dataset_info.json; ${DATA_DOC})`, keys: { dataset: "docs2model_train", ...(files.valid ? { eval_dataset: "docs2model_valid" } : {}), dataset_dir: ".", template, cutoff_len: s.seqLen, overwrite_cache: true } },
    { doc: `${TRAIN_DOC}: ### output`, keys: { output_dir: "saves/docs2model-lora", logging_steps: 10, save_steps: 500, plot_loss: true, overwrite_output_dir: true } },
    { doc: `${TRAIN_DOC}: ### train`, keys: {
      per_device_train_batch_size: s.microBatch, gradient_accumulation_steps: s.gradAccum, learning_rate: s.lr, num_train_epochs: s.epochs,
      lr_scheduler_type: "cosine", warmup_ratio: 0.1, bf16: true, ...(multi ? { deepspeed: "ds_z3_config.json" } : {}),
    } },
    ...(multi ? [{ doc: `${DS_DOC}: multi-GPU through torchrun`, keys: { ddp_timeout: 180000000 } }] : []),
    ...(files.valid ? [{ doc: `${TRAIN_DOC}: ### eval`, keys: { per_device_eval_batch_size: s.microBatch, eval_strategy: "steps", eval_steps: 500 } }] : []),
  ]);
  return {
    files: [
      { name: "dataset_info.json", text: JSON.stringify(datasetInfo, null, 2) + "\n" },
      { name: "llamafactory.yaml", text: config(false) },
      { name: "llamafactory_multigpu.yaml", text: config(true) },
      { name: "ds_z3_config.json", text: JSON.stringify(ZERO3, null, 2) + "\n" },
    ],
    commands: ["llamafactory-cli train llamafactory.yaml"],
    multiGpu: ["FORCE_TORCHRUN=1 llamafactory-cli train llamafactory_multigpu.yaml"],
  };
}
