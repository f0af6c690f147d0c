// `pipeline export`: fine-tuned model → <EXPORT_OUTPUT_DIR>/<name>/ (model.gguf, adapter.gguf, Modelfile, README),
// verified in llama.cpp, evaluated on the held-out split, and created in Ollama when a server answers.
import { readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { flag, parseFlag, type Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { ollamaBaseUrl } from "../ollama/host.ts";
import { openStepClient } from "../transforms/generate-qa-client.ts";
import type { ExportQuant } from "../export/merge.ts";
import { exportModel, type ExportResult } from "../export/export.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { tokensDirFor } from "./qa-train.ts";

export const exportArgs = {
  model: { type: "string", alias: "m", description: "Fine-tuned model directory or .gguf (EXPORT_MODEL_PATH; default <FINETUNE_OUTPUT_DIR>/<base name>)", valueHint: "PATH" },
  name: { type: "string", description: "Model name in Ollama and under the output dir (EXPORT_MODEL_NAME; default docs-<fine-tune name>)", valueHint: "NAME" },
  output: { type: "string", alias: "o", description: "Output directory (EXPORT_OUTPUT_DIR; default merged_models)", valueHint: "DIR" },
  quant: { type: "string", description: "f16 | q8_0 (EXPORT_QUANT; default q8_0)", valueHint: "TYPE" },
  base: { type: "string", description: "Base GGUF of a LoRA adapter when the fine-tune directory does not record it", valueHint: "FILE" },
  "model-type": { type: "string", description: "Chat template family when the model has none (FINETUNE_MODEL_TYPE)", valueHint: "FAMILY" },
  system: { type: "string", description: "SYSTEM prompt for the Modelfile", valueHint: "TEXT" },
  "num-ctx": { type: "string", description: "PARAMETER num_ctx (default: the model's context, at most 4096)", valueHint: "N" },
  data: { type: "string", description: "Training data for provenance, verify probes and eval (default <PIPELINE_QA_DIR>/training_data_final.jsonl; its .valid.jsonl is the eval set)", valueHint: "FILE" },
  verify: { type: "boolean", default: true, description: "Verify the export in llama.cpp (--no-verify to skip)" },
  eval: { type: "boolean", default: true, description: "Evaluate base vs fine-tuned on the validation split (--no-eval to skip)" },
  ollama: { type: "boolean", default: true, description: "Create the model in Ollama when OLLAMA_HOST answers (--no-ollama to only print the command)" },
} as const;

export interface ExportFlags {
  model?: string; name?: string; output?: string; quant?: string; base?: string; "model-type"?: string; system?: string;
  "num-ctx"?: string; data?: string; verify?: boolean; eval?: boolean; ollama?: boolean;
}

/** The fine-tune directory name finetune uses by default for a base model name. */
export const finetuneNameFor = (modelName: string) => basename(modelName).replace(/\.gguf$/i, "").replace(/[^\w.-]+/g, "_");

export async function runExport(settings: Settings, flags: ExportFlags): Promise<ExportResult> {
  // Like finetune: with FINETUNE_MODEL_NAME unset, the base is the one qa-train tokenized for.
  const ftName = finetuneNameFor(settings.origin.finetuneModelName === "default" ? (await tokenizedFor(settings.qaDir)) ?? settings.finetuneModelName : settings.finetuneModelName);
  const modelPath = resolve(settings.exportModelPath ?? join(settings.finetuneOutputDir, ftName));
  const name = (settings.exportModelName ?? `docs-${basename(modelPath).replace(/\.gguf$/i, "")}`).toLowerCase().replace(/[^a-z0-9._:-]+/g, "-");
  const numCtx = parseFlag("num-ctx", flags["num-ctx"]);
  // Eval answers are graded by the configured provider's model when there is one; offline, by token F1.
  const judge = flags.eval !== false && settings.provider && settings.provider !== "extractive" ? await openStepClient(settings, "eval") : null;
  try {
    return await exportModel({
      modelPath, name, outputDir: settings.exportOutputDir, quant: settings.exportQuant as ExportQuant,
      base: flags.base, family: settings.finetuneModelType, system: flags.system, numCtx,
      datasetPath: resolve(flags.data ?? join(settings.qaDir, "training_data_final.jsonl")),
      verify: flags.verify !== false, eval: flags.eval !== false,
      ...(judge ? { judge } : {}),
      install: flags.ollama === false ? "never" : "auto",
      ollamaBaseUrl: ollamaBaseUrl(settings.env.OLLAMA_HOST),
      backend: settings.finetuneBackend,
    });
  } finally {
    await judge?.close();
  }
}

async function tokenizedFor(qaDir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(tokensDirFor(qaDir), "tokens.json"), "utf8")) as { modelName?: string }).modelName;
  } catch {
    return undefined;
  }
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

export default defineCommand({
  meta: {
    name: "export",
    description:
      "Step 7: merge the LoRA adapter into the base (or take the tiny model trained from scratch) and write\n" +
      "  <EXPORT_OUTPUT_DIR>/<name>/model.gguf (--quant f16|q8_0), adapter.gguf (llama.cpp --lora / Ollama ADAPTER),\n" +
      "  a Modelfile whose TEMPLATE and stops come from the model's own chat template, and a model card with the\n" +
      "  training report, eval (base vs fine-tuned on the validation split) and llama.cpp verification.\n" +
      "  When an Ollama server answers at OLLAMA_HOST (default 127.0.0.1:11434) the model is created there;\n" +
      "  otherwise the `ollama create` command is printed. Exit code 1 when verification fails.\n" +
      "  Example: pipeline export --name docs-assistant --quant q8_0",
  },
  args: { ...exportArgs, ...commonArgs },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      exportModelPath: flag("--model", args.model), exportModelName: flag("--name", args.name), exportOutputDir: flag("--output", args.output), exportQuant: flag("--quant", args.quant), finetuneModelType: flag("--model-type", args["model-type"]),
    });
    const r = await runExport(settings, args);
    log.info(exportSummary(r));
    process.stdout.write(r.dir + "\n");
    if (r.verify && !r.verify.ok) {
      throw new PipelineError("E_EXPORT", `verification failed (see ${join(r.dir, "verify.json")}); the files are written, but the model may not behave in Ollama as trained`);
    }
  },
});
