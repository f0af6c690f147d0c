// `pipeline format`: scored pairs → training file in a chosen template (+ validation split, provenance, dataset card).
import { join } from "node:path";
import { flag, parseFlag } from "../config.ts";
import { defineCommand } from "citty";
import { log } from "../log.ts";
import { stdinIsPiped, stdoutIsPiped } from "../streams/io.ts";
import type { FormatOptions } from "../transforms/format.ts";
import { TEMPLATES, type TemplateName } from "../transforms/format-templates.ts";
import { FINAL_FILE, REPORT_FILE } from "../layout.ts";
import { formatSummary, runFormat } from "../steps/format.ts";
import { parseTarget, runFormatFor } from "../steps/format-for.ts";
import { TRAINER_TARGETS } from "../sinks/trainers/targets.ts";
import { PipelineError } from "../errors.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

/** --decisions FILE, --no-decisions (citty: false), or the default (undefined). */
const decisionsFlag = (v: unknown): string | false | undefined => (v === false ? false : typeof v === "string" && v ? v : undefined);

export default defineCommand({
  meta: {
    name: "format",
    description:
      "Step 4: turn scored pairs into a training file in the template your trainer loads unchanged.\n" +
      "  alpaca: {instruction, input, output}   chatml: {text: \"<|im_start|>user…\"}\n" +
      "  sharegpt: {conversations: [{from, value}]}   openai: {messages: [{role, content}]}\n" +
      "  Conversations keep every turn (alpaca: earlier turns in `history`, as LLaMA-Factory reads it); reasoning\n" +
      "  records put their reasoning before the answer (--reasoning-format think: <think>…</think>; plain: text).\n" +
      "  Keeps overall >= --threshold; drops failed generations, near-duplicate questions and pairs whose evidence\n" +
      "  is not in the chunk (--keep-duplicates keeps the last two). --valid-split F sends a share F of the documents\n" +
      "  (whole documents, so none leaks across) to <output>.valid.jsonl. Writes <output>.provenance.jsonl (doc,\n" +
      "  chunk, offsets per example) and a dataset card README.md beside the data.\n" +
      "  Applies the review decisions (pipeline review) in review_decisions.ndjson beside the input.\n" +
      "  Examples:\n" +
      "    pipeline format --template openai --threshold 8\n" +
      "    pipeline format -i data/document_training_data/validation_report.json --valid-split 0.1\n" +
      "    pipeline validate < qa.ndjson | pipeline format --template chatml > train.jsonl\n" +
      "    pipeline format --for axolotl -o train-axolotl/      # then: cd train-axolotl && axolotl train axolotl.yaml",
  },
  args: {
    input: { type: "string", alias: "i", description: "validation_report.json or scored NDJSON (default: stdin when piped, else <PIPELINE_QA_DIR>/validation_report.json)", valueHint: "FILE" },
    output: { type: "string", alias: "o", description: "Training file (default: stdout when piped, else <PIPELINE_QA_DIR>/training_data_final.jsonl)", valueHint: "FILE" },
    template: { type: "string", description: `One of ${TEMPLATES.join(", ")} (default alpaca, PIPELINE_FORMAT_TEMPLATE)`, valueHint: "NAME" },
    threshold: { type: "string", description: "Keep pairs with overall >= this (default: PIPELINE_FILTER_THRESHOLD, 7.0); 0 keeps all", valueHint: "X" },
    "keep-duplicates": { type: "boolean", description: "Keep near-duplicate questions and pairs whose evidence was not found in the chunk" },
    "valid-split": { type: "string", description: "Share of documents (0-1) for the validation file, split by document (default 0)", valueHint: "F" },
    system: { type: "string", description: "A system prompt to put in every example", valueHint: "TEXT" },
  "reasoning-format": { type: "string", description: "How reasoning records put their reasoning before the answer: think (<think>…</think>) | plain (default think, PIPELINE_REASONING_FORMAT)", valueHint: "FORM" },
    records: { type: "boolean", description: "On stdout, write example records (template data + provenance) instead of bare template lines" },
    for: { type: "string", description: `Write for a trainer: ${TRAINER_TARGETS.join(" | ")} — its data layout and file names plus a ready-to-run config (with a multi-GPU preset for llama-factory and axolotl) in the folder -o names (default <PIPELINE_QA_DIR>/for-<trainer>)`, valueHint: "TRAINER" },
    decisions: { type: "string", description: "Review decisions to apply (pipeline review): accepted kept whatever the threshold, rejected dropped, edits applied (default: review_decisions.ndjson beside the input, when present; --no-decisions: none)", valueHint: "FILE" },
    "base-model": { type: "string", description: "With --for: the base model's Hugging Face id for the config (default: read from FINETUNE_MODEL_NAME's GGUF when it records one)", valueHint: "ORG/NAME" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      formatTemplate: flag("--template", args.template), filterThreshold: flag("--threshold", args.threshold), reasoningFormat: flag("--reasoning-format", args["reasoning-format"]),
    });
    const validFraction = parseFlag("valid-split", args["valid-split"]) ?? 0;
    if (args.for) {
      const target = parseTarget(args.for);
      if (args.template) throw new PipelineError("E_USAGE", `--for ${target} writes the shape that trainer loads; drop --template`, { field: "--template" });
      const fromStdinFor = args.input === "-" || (!args.input && stdinIsPiped());
      await runFormatFor(settings, {
        target, input: fromStdinFor ? undefined : (args.input ?? join(settings.qaDir, REPORT_FILE)), outDir: args.output ?? join(settings.qaDir, `for-${target}`),
        options: { threshold: settings.filterThreshold, keepDuplicates: !!args["keep-duplicates"], validFraction, system: args.system, reasoningFormat: settings.reasoningFormat },
        skipBadLines: settings.skipBadLines, decisions: decisionsFlag(args.decisions), ...(args["base-model"] ? { baseModel: args["base-model"] } : {}),
      });
      return;
    }
    const fromStdin = args.input === "-" || (!args.input && stdinIsPiped());
    const toStdout = !args.output && stdoutIsPiped();
    const options: FormatOptions = {
      template: settings.formatTemplate as TemplateName,
      threshold: settings.filterThreshold,
      keepDuplicates: !!args["keep-duplicates"],
      validFraction,
      system: args.system,
      reasoningFormat: settings.reasoningFormat,
    };
    const result = await runFormat({
      input: fromStdin ? undefined : (args.input ?? join(settings.qaDir, REPORT_FILE)),
      output: toStdout ? undefined : (args.output ?? join(settings.qaDir, FINAL_FILE)),
      toStdout, records: !!args.records, options, skipBadLines: settings.skipBadLines, decisions: decisionsFlag(args.decisions),
    });
    log.info(formatSummary(result, options));
  },
});
