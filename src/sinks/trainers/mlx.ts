// mlx-lm (Apple silicon): `mlx_lm.lora --config lora_config.yaml` with train.jsonl/valid.jsonl in the same folder.
import type { TrainerLayout, TrainerSettings } from "./targets.ts";
import { yamlGroups } from "./targets.ts";

const LORA_DOC = "https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/LORA.md (and mlx_lm/examples/lora_config.yaml)";

/** mlx-lm names modules by their path in the layer: self_attn.q_proj, mlp.gate_proj … */
const MLX_KEYS: Record<string, string> = { q_proj: "self_attn.q_proj", k_proj: "self_attn.k_proj", v_proj: "self_attn.v_proj", o_proj: "self_attn.o_proj", gate_proj: "mlp.gate_proj", up_proj: "mlp.up_proj", down_proj: "mlp.down_proj" };

export function mlxLayout(s: TrainerSettings): TrainerLayout {
  const batch = s.microBatch * s.gradAccum;
  const iters = Math.max(1, Math.ceil((s.epochs * s.trainExamples) / batch));
  const text = yamlGroups(["mlx-lm LoRA config written by docs2model: mlx_lm.lora --config lora_config.yaml"], [
    { doc: `${LORA_DOC}: model, data folder ({train,valid}.jsonl), method`, keys: { model: s.baseModel, train: true, fine_tune_type: "lora", data: ".", seed: 0 } },
    { doc: `${LORA_DOC}: batch, iterations (= ${s.epochs} epoch(s) of ${s.trainExamples} examples), learning rate, sequence length, loss on answers only`, keys: {
      num_layers: -1, batch_size: batch, iters, val_batches: -1, learning_rate: s.lr, steps_per_report: 10, steps_per_eval: Math.max(10, Math.ceil(iters / 10)),
      adapter_path: "adapters", save_every: Math.max(10, Math.ceil(iters / 4)), max_seq_length: s.seqLen, grad_checkpoint: true, mask_prompt: true,
    } },
    { doc: `${LORA_DOC}: lora_parameters (config file only); scale = alpha / rank as PEFT uses it`, keys: {
      lora_parameters: { keys: s.targets.map((t) => MLX_KEYS[t] ?? t), rank: s.rank, scale: s.alpha / s.rank, dropout: s.dropout },
    } },
  ]);
  return { files: [{ name: "lora_config.yaml", text }], commands: ["mlx_lm.lora --config lora_config.yaml", "mlx_lm.fuse --model <base> --adapter-path adapters"] };
}
