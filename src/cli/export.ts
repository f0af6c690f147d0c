// `pipeline export`: fine-tuned model → <EXPORT_OUTPUT_DIR>/<name>/ (model.gguf, adapter.gguf, Modelfile, README),
// verified in llama.cpp, evaluated on the held-out split, and created in Ollama when a server answers.
import { join } from "node:path";
import { defineCommand } from "citty";
import { flag, parseFlag } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { jsonSummaryOn, log } from "../log.ts";
import { exportSummary, runExport } from "../steps/export.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export const exportArgs = {
  model: { type: "string", alias: "m", description: "Fine-tuned model directory or .gguf (EXPORT_MODEL_PATH; default <FINETUNE_OUTPUT_DIR>/<base name>)", valueHint: "PATH" },
  name: { type: "string", description: "Model name in Ollama and under the output dir (EXPORT_MODEL_NAME; default docs-<fine-tune name>)", valueHint: "NAME" },
  output: { type: "string", alias: "o", description: "Output directory (EXPORT_OUTPUT_DIR; default merged_models)", valueHint: "DIR" },
  quant: { type: "string", description: "q8_0 | f16 | f32 | q4_k_m | q5_k_m | q6_k (EXPORT_QUANT; default q8_0)", valueHint: "TYPE" },
  base: { type: "string", description: "Base GGUF of a LoRA adapter when the fine-tune directory does not record it", valueHint: "FILE" },
  "model-type": { type: "string", description: "Chat template family when the model has none (FINETUNE_MODEL_TYPE)", valueHint: "FAMILY" },
  system: { type: "string", description: "SYSTEM prompt for the Modelfile", valueHint: "TEXT" },
  "num-ctx": { type: "string", description: "PARAMETER num_ctx (default: the model's context, at most 4096)", valueHint: "N" },
  data: { type: "string", description: "Training data for provenance, verify probes and eval (default <PIPELINE_QA_DIR>/training_data_final.jsonl; its .valid.jsonl is the eval set)", valueHint: "FILE" },
  verify: { type: "boolean", default: true, description: "Verify the export in llama.cpp (--no-verify to skip)" },
  eval: { type: "boolean", default: true, description: "Evaluate base vs fine-tuned on the validation split (--no-eval to skip)" },
  ollama: { type: "boolean", default: true, description: "Create the model in Ollama when OLLAMA_HOST answers (--no-ollama to only print the command)" },
} as const;

export default defineCommand({
  meta: {
    name: "export",
    description:
      "Step 7: merge the LoRA adapter into the base (or take the tiny model trained from scratch) and write\n" +
      "  <EXPORT_OUTPUT_DIR>/<name>/model.gguf (--quant q8_0|f16|f32|q4_k_m|q5_k_m|q6_k), adapter.gguf (llama.cpp --lora / Ollama ADAPTER),\n" +
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
    const r = await runExport(settings, {
      base: args.base, system: args.system, numCtx: parseFlag("num-ctx", args["num-ctx"]), data: args.data,
      verify: args.verify !== false, eval: args.eval !== false, ollama: args.ollama !== false,
    });
    log.info(exportSummary(r));
    if (!jsonSummaryOn()) process.stdout.write(r.dir + "\n");
    if (r.verify && !r.verify.ok) {
      throw new PipelineError("E_EXPORT", `verification failed (see ${join(r.dir, "verify.json")}); the files are written, but the model may not behave in Ollama as trained`);
    }
  },
});
