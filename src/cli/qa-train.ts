// `pipeline qa-train`: formatted examples → chat-template tokens (prompt masked) → packed train/valid token files.
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { flag } from "../config.ts";
import { defineCommand } from "citty";
import { FINAL_FILE, tokensDirFor } from "../layout.ts";
import { DEFAULT_SEQ_LEN, runQaTrain } from "../steps/qa-train.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "qa-train",
    description:
      "Step 5: render every kept example with the base model's chat template, tokenize it, mask the prompt\n" +
      "  (loss on answer tokens only) and pack examples into --seq-len rows. Writes <dir>/train.tokens,\n" +
      "  valid.tokens, tokens.json and qa_train_report.json (examples, tokens, truncations, packing efficiency).\n" +
      "  Base model: FINETUNE_MODEL_NAME (`tiny`, a GGUF path, an Ollama model, a Hugging Face name or checkpoint folder); its chat template, or\n" +
      "  FINETUNE_MODEL_TYPE's preset when it has none. `tiny` also writes base.gguf with a vocabulary learned\n" +
      "  from the data.\n" +
      "  Example: pipeline qa-train --seq-len 256",
  },
  args: {
    input: { type: "string", alias: "i", description: "Formatted examples, - for stdin (default <PIPELINE_QA_DIR>/training_data_final.jsonl)", valueHint: "FILE" },
    output: { type: "string", alias: "o", description: "Output directory (default <PIPELINE_QA_DIR>/tokens)", valueHint: "DIR" },
    model: { type: "string", description: "Base model (FINETUNE_MODEL_NAME; default tiny)", valueHint: "NAME|PATH" },
    "model-type": { type: "string", description: "Chat template family when the model has none (FINETUNE_MODEL_TYPE)", valueHint: "FAMILY" },
    "seq-len": { type: "string", description: `Tokens per packed row (FINETUNE_SEQ_LEN; default ${DEFAULT_SEQ_LEN})`, valueHint: "N" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, { finetuneModelName: flag("--model", args.model), finetuneModelType: flag("--model-type", args["model-type"]), finetuneSeqLen: flag("--seq-len", args["seq-len"]) });
    const outDir = resolve(args.output ?? tokensDirFor(settings.qaDir));
    // qa-train reads its input twice (and looks for a .valid.jsonl beside it), so `-i -` first copies stdin
    // into the output folder as stdin.jsonl, which the report then names.
    let input = resolve(args.input ?? join(settings.qaDir, FINAL_FILE));
    if (args.input === "-") {
      input = join(outDir, "stdin.jsonl");
      await mkdir(outDir, { recursive: true });
      await pipeline(process.stdin, createWriteStream(input));
    }
    await runQaTrain(settings, { input, outDir });
  },
});
