// axolotl: one YAML with `type: chat_template` over `messages` (sharegpt is no longer accepted), and a multi-GPU
// copy that adds DeepSpeed ZeRO-2 (axolotl launches accelerate itself).
import type { TrainerLayout, TrainerSettings } from "./targets.ts";
import { yamlGroups } from "./targets.ts";

const CONV_DOC = "https://docs.axolotl.ai/docs/dataset-formats/conversation.html";
const CONFIG_DOC = "https://docs.axolotl.ai/docs/config-reference.html";
const MULTI_DOC = "https://docs.axolotl.ai/docs/multi-gpu.html";

/** DeepSpeed ZeRO-2 with sizes left to the trainer ("auto"). */
export const ZERO2 = {
  train_batch_size: "auto", train_micro_batch_size_per_gpu: "auto", gradient_accumulation_steps: "auto", gradient_clipping: "auto",
  bf16: { enabled: "auto" }, fp16: { enabled: "auto" },
  zero_optimization: { stage: 2, overlap_comm: true, contiguous_gradients: true, reduce_bucket_size: "auto", allgather_bucket_size: 5e8 },
};

export function axolotlLayout(s: TrainerSettings, files: { train: string; valid?: string }): TrainerLayout {
  const dataset = (path: string) => ({
    path, ds_type: "json", type: "chat_template", field_messages: "messages",
    message_property_mappings: { role: "role", content: "content" }, roles_to_train: ["assistant"],
  });
  const config = (multi: boolean) => yamlGroups([`axolotl LoRA config written by docs2model: axolotl train ${multi ? "axolotl_multigpu.yaml" : "axolotl.yaml"}`], [
    { doc: `${CONFIG_DOC}: base model`, keys: { base_model: s.baseModel } },
    { doc: `${CONV_DOC}: chat_template datasets (field_messages, message_property_mappings, roles_to_train)`, keys: {
      chat_template: "tokenizer_default", datasets: [dataset(`./${files.train}`)],
      ...(files.valid ? { test_datasets: [{ ...dataset(`./${files.valid}`), split: "train" }] } : { val_set_size: 0 }),
      dataset_prepared_path: "last_run_prepared",
    } },
    { doc: `${CONFIG_DOC}: adapter and LoRA`, keys: { adapter: "lora", lora_r: s.rank, lora_alpha: s.alpha, lora_dropout: s.dropout, lora_target_modules: s.targets } },
    { doc: `${CONFIG_DOC}: sequence length and training`, keys: {
      sequence_len: s.seqLen, sample_packing: false, micro_batch_size: s.microBatch, gradient_accumulation_steps: s.gradAccum, num_epochs: s.epochs,
      learning_rate: s.lr, optimizer: "adamw_torch", lr_scheduler: "cosine", warmup_ratio: 0.1, bf16: "auto", gradient_checkpointing: true, output_dir: "./outputs/docs2model-lora",
    } },
    ...(multi ? [{ doc: `${MULTI_DOC}: DeepSpeed`, keys: { deepspeed: "ds_zero2.json" } }] : []),
  ]);
  return {
    files: [
      { name: "axolotl.yaml", text: config(false) },
      { name: "axolotl_multigpu.yaml", text: config(true) },
      { name: "ds_zero2.json", text: JSON.stringify(ZERO2, null, 2) + "\n" },
    ],
    commands: ["axolotl train axolotl.yaml"],
    multiGpu: ["axolotl train axolotl_multigpu.yaml"],
  };
}
