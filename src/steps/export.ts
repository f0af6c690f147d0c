// The export step: the fine-tuned model named by the settings → merged GGUF, adapter, Modelfiles, card, verify
// and eval, and the model in Ollama when a server answers; with its summary.
import { summary } from "../log.ts";
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Settings } from "../config.ts";
import { checkModelType } from "../chat/template.ts";
import { exportModel, type ExportResult } from "../export/export.ts";
import type { ExportQuant } from "../export/merge.ts";
import { exportNameFor, FINAL_FILE, finetuneNameFor, TOKENS_META_FILE, tokensDirFor } from "../layout.ts";
import { ollamaBaseUrl } from "../ollama/host.ts";
import { readTokensMeta } from "../train/qa-train.ts";
import { openStepClient } from "../transforms/generate-qa-client.ts";

/** Export settings that have no environment key; the rest come from Settings (EXPORT_*, FINETUNE_*). */
export interface ExportRun {
  /** Base GGUF of a LoRA adapter when the fine-tune directory does not record it. */
  base?: string;
  /** SYSTEM prompt for the Modelfile. */
  system?: string;
  numCtx?: number;
  /** Training data for provenance, verify probes and eval (default <qaDir>/training_data_final.jsonl). */
  data?: string;
  verify: boolean;
  eval: boolean;
  /** Create the model in Ollama when a server answers. */
  ollama: boolean;
}

export async function runExport(settings: Settings, o: ExportRun): Promise<ExportResult> {
  checkModelType(settings.finetuneModelType);
  // Like finetune: with FINETUNE_MODEL_NAME unset, the base is the one qa-train tokenized for.
  const ftName = finetuneNameFor(settings.origin.finetuneModelName === "default" ? (await tokenizedFor(settings.qaDir)) ?? settings.finetuneModelName : settings.finetuneModelName);
  const modelPath = resolve(settings.exportModelPath ?? join(settings.finetuneOutputDir, ftName));
  const name = exportNameFor(settings.exportModelName, modelPath);
  // Eval answers are graded by the configured provider's model when there is one; offline, by token F1.
  const judge = o.eval && settings.provider && settings.provider !== "extractive" ? await openStepClient(settings, "eval") : null;
  try {
    const r = await exportModel({
      modelPath, name, outputDir: settings.exportOutputDir, quant: settings.exportQuant as ExportQuant,
      base: o.base, family: settings.finetuneModelType, system: o.system, trainedSystem: await trainedSystemFor(settings.qaDir), numCtx: o.numCtx,
      datasetPath: resolve(o.data ?? join(settings.qaDir, FINAL_FILE)),
      verify: o.verify, eval: o.eval,
      ...(judge ? { judge } : {}),
      install: o.ollama ? "auto" : "never",
      ollamaBaseUrl: ollamaBaseUrl(settings.env.OLLAMA_HOST),
      backend: settings.finetuneBackend,
    });
    summary("export", { ...r } as unknown as Record<string, unknown>);
    return r;
  } finally {
    await judge?.close();
  }
}

/** The base qa-train tokenized for, when its tokens.json is there. */
async function tokenizedFor(qaDir: string): Promise<string | undefined> {
  const dir = tokensDirFor(qaDir);
  return existsSync(join(dir, TOKENS_META_FILE)) ? (await readTokensMeta(dir)).modelName : undefined;
}

export function exportSummary(r: ExportResult): string {
  const lines = [
    `EXPORT SUMMARY → ${r.dir}`,
    `  model.gguf     ${r.modelGguf}`,
    ...(r.adapterGguf ? [`  adapter.gguf   ${r.adapterGguf}`] : []),
    `  Modelfile      ${r.modelfile}${r.modelfileAdapter ? ` (and ${basename(r.modelfileAdapter)})` : ""}`,
    `  model card     ${r.card}`,
    ...(r.verify ? [`  verify         ${r.verify.ok ? "passed" : "FAILED"} (${r.verify.checks.filter((c) => c.ok).length}/${r.verify.checks.length} checks)`] : []),
    ...(r.eval && r.eval.rows.length ? [`  eval           ${r.eval.models.map((m) => `${m} ${r.eval!.mean[m]!.toFixed(3)}`).join(" · ")} (${r.eval.scorer}, ${r.eval.rows.length} questions)`] : []),
    r.ollama.installed ? `  in Ollama:     ${r.ollama.commands.join(" && ")}` : `  run it:        ${r.ollama.commands.join(" && ")}`,
  ];
  return lines.join("\n");
}

/** The system prompt qa-train trained with (tokens.json), when it recorded one. */
async function trainedSystemFor(qaDir: string): Promise<string | undefined> {
  const dir = tokensDirFor(qaDir);
  return existsSync(join(dir, TOKENS_META_FILE)) ? (await readTokensMeta(dir)).system : undefined;
}
