// `pipeline model info` for a Hugging Face checkpoint folder or hub name: what the folder holds and what the
// converter makes of it (architecture, parameters, stored dtype, tokenizer, chat template) and whether it can be
// fine-tuned here, and why not — from config.json, tokenizer files and safetensors headers, no weight read.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { PipelineError } from "../errors.ts";
import { plainValue } from "../gguf/reader.ts";
import { checkSupported } from "../model/supported.ts";
import { planCheckpoint, readConfig } from "./checkpoint.ts";
import { parseHubName, resolveHubName } from "./hub.ts";

export interface CheckpointSummary {
  source: string;
  dir: string;
  repo?: string;
  /** transformers' class (config.json architectures[0]). */
  hfArchitecture: string;
  /** The GGUF architecture it converts to. */
  architecture?: string;
  parameters?: number;
  dtype?: string;
  tokenizer?: string;
  chatTemplate?: string;
  hyperparameters: Record<string, unknown>;
  trainable: boolean;
  notTrainableReason?: string;
}

const HYPER = ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "tie_word_embeddings", "torch_dtype"];

/** Whether `spec` names a checkpoint for `model info` (a folder, or org/repo[@rev] that is not a file). */
export function isCheckpointSpec(spec: string): boolean {
  try {
    if (statSync(spec).isDirectory()) return true;
    return false;
  } catch {
    return parseHubName(spec) !== undefined;
  }
}

const why = (e: unknown): string => {
  if (!(e instanceof PipelineError)) throw e;
  const prefix = new PipelineError(e.code, "", e.where).message;
  return prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
};

export async function checkpointSummary(spec: string, o: { env?: NodeJS.ProcessEnv; endpoint?: string } = {}): Promise<CheckpointSummary> {
  let dir: string, repo: string | undefined;
  let isDir = false;
  try { isDir = statSync(spec).isDirectory(); } catch { /* a hub name */ }
  if (isDir) dir = resolve(spec);
  else {
    const name = parseHubName(spec);
    if (!name) throw new PipelineError("E_INPUT", "not a checkpoint folder or a Hugging Face name (org/repo[@revision])", { file: spec });
    const content = await resolveHubName(name, { ...(o.env ? { env: o.env } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
    if (content.kind !== "checkpoint") throw new PipelineError("E_INPUT", `"${spec}" holds GGUF files (${content.files.join(", ")}), not a checkpoint; run \`pipeline model info\` on one of them`, { file: spec });
    dir = content.dir;
    repo = name.repo;
  }
  const config = readConfig(dir);
  const hyperparameters = Object.fromEntries(HYPER.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]));
  const base: CheckpointSummary = {
    source: spec, dir, ...(repo ? { repo } : {}),
    hfArchitecture: String((config.architectures as unknown[] | undefined)?.[0] ?? config.model_type ?? "unknown"),
    hyperparameters, trainable: false,
  };
  let plan;
  try {
    plan = await planCheckpoint(dir, repo ? { repo } : {});
  } catch (e) {
    return { ...base, notTrainableReason: why(e) };
  }
  const meta = Object.fromEntries(Object.entries(plan.metadata).map(([k, v]) => [k, plainValue(v)]));
  const verdict = checkSupported(meta, plan.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims })), { file: dir });
  return {
    ...base,
    architecture: plan.arch,
    parameters: plan.tensors.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0),
    dtype: plan.dtype,
    tokenizer: plan.vocab.summary,
    ...(plan.vocab.chatTemplate !== undefined ? { chatTemplate: plan.vocab.chatTemplate } : {}),
    trainable: verdict.trainable,
    ...(verdict.trainable ? {} : { notTrainableReason: verdict.reason }),
  };
}

const human = (n: number) => {
  const units = ["", "K", "M", "G", "T"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(2) : n}${units[i]}`;
};

export function formatCheckpointSummary(s: CheckpointSummary): string {
  const lines = [
    `checkpoint    ${s.dir}${s.repo ? ` (${s.repo})` : ""}`,
    `architecture  ${s.hfArchitecture}${s.architecture ? ` → GGUF ${s.architecture}` : ""}`,
  ];
  if (s.parameters !== undefined) lines.push(`parameters    ${human(s.parameters)} (${s.parameters})`);
  if (s.dtype) lines.push(`dtype         ${s.dtype}`);
  if (s.tokenizer) lines.push(`tokenizer     ${s.tokenizer}`);
  lines.push(`trainable: ${s.trainable ? "yes (converted once to GGUF on first use, then trained like a GGUF base)" : `no — ${s.notTrainableReason}`}`);
  if (Object.keys(s.hyperparameters).length) {
    lines.push("", "config.json");
    for (const [k, v] of Object.entries(s.hyperparameters)) lines.push(`  ${k.padEnd(28)} ${JSON.stringify(v)}`);
  }
  lines.push("", "chat template");
  lines.push(s.chatTemplate ? s.chatTemplate.split("\n").map((l) => `  ${l}`).join("\n") : "  (none; set FINETUNE_MODEL_TYPE when fine-tuning this model)");
  return lines.join("\n") + "\n";
}
