// `format --for <trainer>`: what each trainer loads (data shape, file names) and the settings its generated config
// carries. One file per trainer writes the config; this one holds the shared plan and the settings.
import { stringify } from "yaml";
import type { TemplateName } from "../../transforms/format-templates.ts";

export const TRAINER_TARGETS = ["mlx", "llama-factory", "axolotl", "unsloth", "openai", "hf"] as const;
export type TrainerTarget = (typeof TRAINER_TARGETS)[number];

/** The data each trainer reads: the template and the file names, inside the --for output folder. */
export const TARGET_DATA: Record<TrainerTarget, { template: TemplateName; train: string; valid: string }> = {
  // mlx-lm: {train,valid,test}.jsonl in the --data folder; chat data as {"messages": [...]}.
  mlx: { template: "openai", train: "train.jsonl", valid: "valid.jsonl" },
  // LLaMA-Factory: alpaca columns (system and history mapped in dataset_info.json).
  "llama-factory": { template: "alpaca", train: "train.jsonl", valid: "valid.jsonl" },
  // axolotl: `type: chat_template` over a `messages` list of {role, content}.
  axolotl: { template: "openai", train: "train.jsonl", valid: "valid.jsonl" },
  // unsloth: a JSON dataset of `messages`, rendered with the tokenizer's chat template.
  unsloth: { template: "openai", train: "train.jsonl", valid: "valid.jsonl" },
  // OpenAI fine-tuning: chat-format JSONL, a training and an optional validation file.
  openai: { template: "openai", train: "train.jsonl", valid: "valid.jsonl" },
  // Hugging Face datasets: the card's `configs:` names train and validation files.
  hf: { template: "openai", train: "train.jsonl", valid: "validation.jsonl" },
};

/** The placeholder written when the base's Hugging Face id is unknown (the user is told to fill it in). */
export const BASE_PLACEHOLDER = "REPLACE_WITH_HF_MODEL_ID";

export interface TrainerSettings {
  /** Hugging Face id of the base model, or BASE_PLACEHOLDER. */
  baseModel: string;
  /** Chat template family of the base (llama3, chatml, …), when known. */
  family?: string;
  rank: number;
  alpha: number;
  dropout: number;
  /** Hugging Face module names (q_proj, …). */
  targets: string[];
  seqLen: number;
  epochs: number;
  lr: number;
  /** Examples per optimizer step, as micro batch × gradient accumulation. */
  microBatch: number;
  gradAccum: number;
  trainExamples: number;
  validExamples: number;
}

export interface TrainerFile { name: string; text: string }
export interface TrainerLayout { files: TrainerFile[]; commands: string[]; multiGpu?: string[] }

/** One YAML document from key groups, each under a comment citing the doc page that defines its keys. */
export function yamlGroups(header: string[], groups: Array<{ doc: string; keys: Record<string, unknown> }>): string {
  const out = header.map((h) => `# ${h}`);
  for (const g of groups) out.push("", `# ${g.doc}`, stringify(g.keys, { lineWidth: 0 }).trimEnd());
  return out.join("\n") + "\n";
}

/** Our module letters → Hugging Face module names. */
const HF_MODULES: Record<string, string> = { q: "q_proj", k: "k_proj", v: "v_proj", o: "o_proj", gate: "gate_proj", up: "up_proj", down: "down_proj" };
export const hfTargets = (targets: string[]): string[] => targets.map((t) => HF_MODULES[t] ?? t);
