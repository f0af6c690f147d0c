// `pipeline all`: steps 1–7 in one command on the seed's folders — offline by default (extractive Q&A, heuristic
// judge, the `tiny` base trained from scratch), resumable after any step, ending with where everything is.
import { parseTarget } from "../steps/format-for.ts";
import { defineCommand } from "citty";
import { flag, parseFlag } from "../config.ts";
import { runAll } from "../steps/all.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "all",
    description:
      "Steps 1–7 in one go on the configured folders: chunk → generate-qa → validate → format (--valid-split 0.2)\n" +
      "  → qa-train → finetune → export. Offline by default: the extractive provider, the heuristic judge and the\n" +
      "  `tiny` base model trained from scratch (10–80 epochs, sized to ~250k training tokens, unless FINETUNE_EPOCHS\n" +
      "  is set) — no key, server or network needed. Set --provider/--model (PIPELINE_LLM_PROVIDER/_MODEL) and\n" +
      "  --base (FINETUNE_MODEL_NAME) for the real thing. --resume skips the steps an earlier run finished and\n" +
      "  continues the interrupted one. Ends with where every file is and how to run the model.\n" +
      "  Examples: pipeline all -i data/documents\n" +
      "            pipeline all --provider openai --model gpt-4o-mini --base qwen2.5:0.5b",
  },
  args: {
    "input-dir": { type: "string", alias: "i", description: "Documents folder (PIPELINE_INPUT_DIR; default data/documents)", valueHint: "DIR" },
    "follow-symlinks": { type: "boolean", description: "Also read symlinks that point outside the input folder (PIPELINE_FOLLOW_SYMLINKS)" },
    "clean": { type: "string", description: "Text cleanups: ligatures,hyphens,headers (default all) or none (PIPELINE_CLEAN)", valueHint: "LIST" },
    "pdf-engine": { type: "string", description: "PDF text extractor: pdfium (default) or pdf-parse (PIPELINE_PDF_ENGINE)", valueHint: "NAME" },
    provider: { type: "string", description: "LLM provider for generate-qa and validate (default: PIPELINE_LLM_PROVIDER when set, else extractive)", valueHint: "NAME" },
    model: { type: "string", description: "LLM model for generate-qa and validate (PIPELINE_LLM_MODEL; default: the provider's)", valueHint: "NAME" },
    base: { type: "string", description: "Base model to fine-tune: tiny | a .gguf path | an Ollama name | hf:user/repo:QUANT | a Hugging Face name (org/repo) | a checkpoint folder (FINETUNE_MODEL_NAME; default tiny)", valueHint: "NAME" },
    style: { type: "string", description: "qa | multi-turn | reasoning, or a mix like qa=0.6,multi-turn=0.3,reasoning=0.1 (default qa, PIPELINE_QA_STYLE); each chunk gets one style, fixed by its id", valueHint: "STYLE" },
    "reasoning-format": { type: "string", description: "How reasoning records put their reasoning before the answer: think (<think>…</think>) | plain (default think, PIPELINE_REASONING_FORMAT)", valueHint: "FORM" },
    "valid-split": { type: "string", description: "Share of documents held out for evaluation (default 0.2)", valueHint: "F" },
    name: { type: "string", description: "Model name in Ollama (EXPORT_MODEL_NAME; default docs-<base name>)", valueHint: "NAME" },
    quant: { type: "string", description: "q8_0 | f16 | f32 | q4_k_m | q5_k_m | q6_k (EXPORT_QUANT; default q8_0)", valueHint: "TYPE" },
    ollama: { type: "boolean", default: true, description: "Create the model in Ollama when OLLAMA_HOST answers (--no-ollama to skip)" },
    for: { type: "string", description: "Also write the data and a ready-to-run config for a trainer (mlx | llama-factory | axolotl | unsloth | openai | hf) in <PIPELINE_QA_DIR>/for-<trainer>", valueHint: "TRAINER" },
    system: { type: "string", description: "A system prompt for every training example; the exported Modelfile's SYSTEM is the same", valueHint: "TEXT" },
    batch: { type: "boolean", description: "generate-qa and validate through the vendor's batch service (openai, claude, gemini): about half the price, within 24 h (PIPELINE_BATCH)" },
    resume: { type: "boolean", description: "Continue an interrupted run: finished steps are skipped, the interrupted one resumes" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      inputDir: flag("--input-dir", args["input-dir"]), followSymlinks: flag("--follow-symlinks", args["follow-symlinks"]), clean: flag("--clean", args.clean), pdfEngine: flag("--pdf-engine", args["pdf-engine"]), model: flag("--model", args.model), finetuneModelName: flag("--base", args.base),
      exportModelName: flag("--name", args.name), exportQuant: flag("--quant", args.quant),
      qaStyle: flag("--style", args.style), reasoningFormat: flag("--reasoning-format", args["reasoning-format"]),
      batch: flag("--batch", args.batch || undefined),
    });
    await runAll(settings, {
      provider: args.provider, system: args.system, ...(args.for ? { for: parseTarget(args.for) } : {}), validFraction: parseFlag("valid-split", args["valid-split"]) ?? 0.2, ollama: args.ollama !== false, resume: !!args.resume,
    });
  },
});
