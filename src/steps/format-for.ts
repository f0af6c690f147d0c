// `format --for <trainer>`: the training data in the layout and file names that trainer loads, plus a
// ready-to-run config carrying our LoRA rank/alpha/targets, sequence length, epochs and learning rate, and a
// multi-GPU preset where the trainer has one (LLaMA-Factory: DeepSpeed ZeRO-3, axolotl: ZeRO-2).
import { existsSync, readFileSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { log, summary } from "../log.ts";
import { detectFamily, normalizeFamily } from "../chat/ollama-template.ts";
import { openGguf } from "../gguf/reader.ts";
import { cachedSnapshot, hubCacheDir, parseHubName } from "../hf/hub.ts";
import { hfIdOfGguf } from "../hf/names.ts";
import { resolveBaseModel } from "../model/base-model.ts";
import { DEFAULT_TARGETS } from "../train/lora.ts";
import { checkOutputDir } from "../streams/path-checks.ts";
import { axolotlLayout } from "../sinks/trainers/axolotl.ts";
import { hfLayout } from "../sinks/trainers/hf.ts";
import { LF_TEMPLATE_PLACEHOLDER, llamaFactoryLayout } from "../sinks/trainers/llama-factory.ts";
import { mlxLayout } from "../sinks/trainers/mlx.ts";
import { checkOpenaiExamples, openaiLayout } from "../sinks/trainers/openai.ts";
import { BASE_PLACEHOLDER, hfTargets, TARGET_DATA, TRAINER_TARGETS, type TrainerLayout, type TrainerSettings, type TrainerTarget } from "../sinks/trainers/targets.ts";
import { unslothLayout } from "../sinks/trainers/unsloth.ts";
import type { FormatOptions } from "../transforms/format.ts";
import { runFormat } from "./format.ts";

export function parseTarget(value: string): TrainerTarget {
  if (!(TRAINER_TARGETS as readonly string[]).includes(value)) {
    throw new PipelineError("E_USAGE", `--for ${JSON.stringify(value)} is not a trainer we write for; use one of ${TRAINER_TARGETS.join(", ")}`, { field: "--for" });
  }
  return value as TrainerTarget;
}

export interface FormatForRun {
  target: TrainerTarget;
  input?: string;
  /** The folder the trainer's files go to. */
  outDir: string;
  options: Omit<FormatOptions, "template">;
  skipBadLines?: boolean;
  /** The base's Hugging Face id (--base-model); else found from FINETUNE_MODEL_NAME's GGUF metadata when possible. */
  baseModel?: string;
  /** Review decisions to apply (see FormatRun.decisions). */
  decisions?: string | false;
}

/** The base's Hugging Face id and chat family, from what is on this machine (no network). */
async function baseOf(settings: Settings, explicit?: string): Promise<{ id?: string; family?: string }> {
  const familyOfId = (id: string) => /llama-?3/i.test(id) ? "llama3" : /qwen|smollm/i.test(id) ? "chatml" : /gemma/i.test(id) ? "gemma" : /phi-?3/i.test(id) ? "phi3" : /mistral/i.test(id) ? "mistral" : undefined;
  const configured = settings.finetuneModelType ? normalizeFamily(settings.finetuneModelType) : undefined;
  if (explicit) return { id: explicit, family: configured ?? familyOfId(explicit) };
  const name = settings.finetuneModelName;
  if (name === "tiny") return { family: configured };
  if (/^hf:/.test(name)) {
    // hf:org/Repo-GGUF:Q4_K_M names a GGUF repository; trainers want the weights repository it was made from.
    const id = name.slice(3).split(":")[0]!.replace(/-GGUF$/i, "");
    return { id, family: configured ?? familyOfId(id) };
  }
  // A checkpoint folder, or a hub name already in the HF cache: its id (a path is a valid base_model for every
  // trainer) and chat template, without converting the weights.
  const hub = parseHubName(name);
  const local = existsSync(name) && statSync(name).isDirectory() ? resolve(name) : hub && !name.includes(":") ? cachedSnapshot(hubCacheDir(settings.env), hub) : undefined;
  if (local && existsSync(join(local, "config.json"))) {
    let chat: unknown;
    try { chat = JSON.parse(readFileSync(join(local, "tokenizer_config.json"), "utf8")).chat_template; } catch { /* no template: the family preset */ }
    const id = local === resolve(name) ? local : hub!.repo;
    return { id, family: configured ?? (typeof chat === "string" ? detectFamily(chat) : undefined) ?? familyOfId(id) };
  }
  try {
    const base = await resolveBaseModel(name);
    if (base.kind === "tiny") return { family: configured };
    const g = await openGguf(base.path);
    try {
      const id = hfIdOfGguf((k) => g.meta(k));
      const chat = g.meta("tokenizer.chat_template");
      return { id, family: configured ?? (typeof chat === "string" ? detectFamily(chat) : undefined) ?? (id ? familyOfId(id) : undefined) };
    } finally { await g.close(); }
  } catch {
    return { family: configured };
  }
}

export function trainerSettings(settings: Settings, base: { id?: string; family?: string }, counts: { train: number; valid: number }): TrainerSettings {
  const rank = settings.finetuneLoraRank ?? 8;
  const batch = settings.finetuneBatchSize ?? 8;
  const microBatch = Math.min(batch, 2);
  return {
    baseModel: base.id ?? BASE_PLACEHOLDER, ...(base.family ? { family: base.family } : {}),
    rank, alpha: 2 * rank, dropout: 0.05, targets: hfTargets(DEFAULT_TARGETS),
    // Our CPU default (256) is for tiny runs here; a GPU trainer gets 2048 unless FINETUNE_SEQ_LEN says otherwise.
    seqLen: settings.finetuneSeqLen ?? 2048, epochs: settings.finetuneEpochs ?? 3, lr: settings.finetuneLearningRate ?? 2e-4,
    microBatch, gradAccum: Math.max(1, Math.ceil(batch / microBatch)), trainExamples: counts.train, validExamples: counts.valid,
  };
}

export function trainerLayout(target: TrainerTarget, s: TrainerSettings, files: { train: string; valid?: string }): TrainerLayout {
  switch (target) {
    case "mlx": return mlxLayout(s);
    case "llama-factory": return llamaFactoryLayout(s, files);
    case "axolotl": return axolotlLayout(s, files);
    case "unsloth": return unslothLayout(s, files);
    case "openai": return openaiLayout(files);
    case "hf": return hfLayout();
  }
}

/** Writes a config file unless a foreign file of that name is there (ours say "docs2model" or are unchanged). */
async function writeOwn(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  if (existsSync(path)) {
    const old = readFileSync(path, "utf8");
    if (old !== text && !old.includes("docs2model")) {
      const own = join(dir, `docs2model.${name}`);
      log.warn(`${path} is not a file we wrote, so it is kept; the ${name} we made goes to ${own}`);
      await writeFile(own, text);
      return own;
    }
  }
  await writeFile(path, text);
  return path;
}

export async function runFormatFor(settings: Settings, run: FormatForRun) {
  const data = TARGET_DATA[run.target];
  const outDir = resolve(run.outDir);
  checkOutputDir(outDir);
  // Every trainer here evaluates on a held-out split when it has one: 10% of the documents unless asked otherwise.
  const validFraction = run.options.validFraction && run.options.validFraction > 0 ? run.options.validFraction : 0.1;
  const options: FormatOptions = { ...run.options, template: data.template, validFraction };
  const result = await runFormat({ input: run.input, output: join(outDir, data.train), validOutput: join(outDir, data.valid), toStdout: false, options, skipBadLines: run.skipBadLines, decisions: run.decisions });
  const counts = { train: result.stats.kept.train, valid: result.stats.kept.valid };
  let validPath = result.validPath;
  if (!counts.valid && validPath) {
    await rm(validPath, { force: true });
    validPath = undefined;
    log.warn(`format --for ${run.target}: no validation examples (too few documents for a ${validFraction} split); the config trains without evaluation${run.target === "mlx" ? ", and mlx-lm needs a non-empty valid.jsonl: add documents or raise --valid-split" : ""}`);
  }
  const trainName = result.trainPath!.slice(outDir.length + 1);
  const validName = validPath?.slice(outDir.length + 1);
  if (run.target === "openai") {
    const lines = readFileSync(result.trainPath!, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
    const problems = checkOpenaiExamples(lines, trainName);
    for (const p of problems.filter((x) => x.level === "warn").slice(0, 20)) log.warn(p.message);
    const errors = problems.filter((x) => x.level === "error");
    if (errors.length) {
      throw new PipelineError("E_INPUT", `the data breaks OpenAI's fine-tuning rules: ${errors.slice(0, 5).map((e) => e.message).join("; ")}${errors.length > 5 ? `; and ${errors.length - 5} more` : ""}`, { file: result.trainPath! });
    }
  }
  const base = await baseOf(settings, run.baseModel);
  const ts = trainerSettings(settings, base, counts);
  const layout = trainerLayout(run.target, ts, { train: trainName, ...(validName ? { valid: validName } : {}) });
  const written: string[] = [];
  for (const f of layout.files) written.push(await writeOwn(outDir, f.name, f.text));
  // Placeholders the user must fill: named with the files that hold them.
  for (const [mark, what] of [[BASE_PLACEHOLDER, `the base model's Hugging Face id is unknown (FINETUNE_MODEL_NAME=${settings.finetuneModelName}); pass --base-model ORG/NAME or`], [LF_TEMPLATE_PLACEHOLDER, "the base's chat template family is unknown; set FINETUNE_MODEL_TYPE or"]] as const) {
    const holders = layout.files.filter((f) => f.text.includes(mark)).map((f) => f.name);
    if (holders.length) log.warn(`format --for ${run.target}: ${what} replace ${mark} in ${holders.join(", ")}`);
  }
  log.info(`format --for ${run.target}: ${counts.train} train + ${counts.valid} valid example(s) in ${outDir}${written.length ? `; config: ${written.map((w) => w.slice(outDir.length + 1)).join(", ")}` : ""}`);
  log.info(`  run: cd ${outDir} && ${layout.commands.join(" && ")}`);
  if (layout.multiGpu) log.info(`  several GPUs: cd ${outDir} && ${layout.multiGpu.join(" && ")}`);
  summary("format", { target: run.target, outDir, train: counts.train, valid: counts.valid, files: { train: result.trainPath, valid: validPath ?? null, configs: written }, baseModel: ts.baseModel, commands: layout.commands, multiGpu: layout.multiGpu ?? [] });
  return { ...result, validPath, configs: written, layout, settings: ts };
}
