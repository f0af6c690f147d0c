// `pipeline finetune`: train a LoRA adapter (or the whole `tiny` model) on the token files from qa-train.
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { flag, parseFlag } from "../config.ts";
import { tokensDirFor } from "../layout.ts";
import { DEFAULT_TARGETS } from "../train/lora.ts";
import { runFinetune } from "../steps/finetune.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "finetune",
    description:
      "Step 6: train on qa-train's token files with TensorFlow.js. `tiny` (the default base) trains every weight\n" +
      "  from scratch and writes model.gguf; any other base gets a LoRA adapter (default targets q,k,v,o,gate,up,down)\n" +
      "  written as a llama.cpp LoRA GGUF, adapter.gguf. AdamW, warmup + cosine, gradient clipping and accumulation,\n" +
      "  eval loss on the validation rows. Also writes loss_curve.csv/.svg and training_report.json to\n" +
      "  <FINETUNE_OUTPUT_DIR>/<name>/, with a checkpoint every --checkpoint-every steps and on Ctrl-C; --resume continues.\n" +
      "  Backend: tfjs-node-gpu › tfjs-node › wasm › cpu, or --backend. Memory: LoRA needs ≈ 8 bytes per base\n" +
      "  parameter (10 with the check's headroom) — up to ≈ 0.4 B parameters on wasm (4 GiB heap), ≈ 2.6 B with tfjs-node in 24 GiB; bigger bases are\n" +
      "  refused before loading.\n" +
      "  Example: pipeline finetune --epochs 3 --batch 8",
  },
  args: {
    input: { type: "string", alias: "i", description: "qa-train's output directory (default <PIPELINE_QA_DIR>/tokens)", valueHint: "DIR" },
    name: { type: "string", description: "Output name under FINETUNE_OUTPUT_DIR (default: the base model's name)", valueHint: "NAME" },
    epochs: { type: "string", description: "Passes over the training rows (FINETUNE_EPOCHS; default 3)", valueHint: "N" },
    lr: { type: "string", description: "Peak learning rate (FINETUNE_LEARNING_RATE; default 3e-3 tiny, 2e-4 LoRA)", valueHint: "X" },
    rank: { type: "string", description: "LoRA rank (FINETUNE_LORA_RANK; default 8)", valueHint: "R" },
    alpha: { type: "string", description: "LoRA alpha; scale = alpha / rank (default 2 × rank)", valueHint: "A" },
    dropout: { type: "string", description: "LoRA dropout (default 0.05)", valueHint: "P" },
    "lora-targets": { type: "string", description: `Comma-separated projections (default ${DEFAULT_TARGETS.join(",")})`, valueHint: "LIST" },
    batch: { type: "string", description: "Rows per micro-batch (FINETUNE_BATCH_SIZE; default 8)", valueHint: "N" },
    "grad-accum": { type: "string", description: "Micro-batches per optimizer step (default 1)", valueHint: "N" },
    "seq-len": { type: "string", description: "Must equal qa-train's --seq-len (FINETUNE_SEQ_LEN)", valueHint: "N" },
    backend: { type: "string", description: "tfjs-node-gpu | tfjs-node | wasm | cpu (FINETUNE_BACKEND; default: best available)", valueHint: "NAME" },
    threads: { type: "string", description: "Compute threads (default: all cores, or 1 when the machine is already busy)", valueHint: "N" },
    "checkpoint-every": { type: "string", description: "Checkpoint every N steps (default 50)", valueHint: "N" },
    "eval-every": { type: "string", description: "Validation loss every N steps (default 50; always at the end)", valueHint: "N" },
    seed: { type: "string", description: "Seed for data order, adapter init and dropout (default 1)", valueHint: "N" },
    resume: { type: "boolean", description: "Continue from the checkpoint in the output directory" },
    model: { type: "string", description: "Base model (FINETUNE_MODEL_NAME); must match what qa-train used", valueHint: "NAME" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args, {
      finetuneModelName: flag("--model", args.model), finetuneEpochs: flag("--epochs", args.epochs), finetuneLearningRate: flag("--lr", args.lr), finetuneLoraRank: flag("--rank", args.rank),
      finetuneBatchSize: flag("--batch", args.batch), finetuneSeqLen: flag("--seq-len", args["seq-len"]), finetuneBackend: flag("--backend", args.backend),
    });
    await runFinetune(settings, {
      tokensDir: resolve(args.input ?? tokensDirFor(settings.qaDir)),
      name: args.name,
      alpha: parseFlag("alpha", args.alpha),
      dropout: parseFlag("dropout", args.dropout),
      targets: args["lora-targets"] ? args["lora-targets"].split(",") : undefined,
      gradAccum: parseFlag("grad-accum", args["grad-accum"]),
      threads: parseFlag("threads", args.threads),
      checkpointEvery: parseFlag("checkpoint-every", args["checkpoint-every"]),
      evalEvery: parseFlag("eval-every", args["eval-every"]),
      seed: parseFlag("seed", args.seed),
      resume: !!args.resume,
    });
  },
});
