// `pipeline finetune`: train a LoRA adapter (or the whole `tiny` model) on the token files from qa-train.
import { readFile } from "node:fs/promises";
import { join, resolve, basename } from "node:path";
import { flag, parseFlag } from "../config.ts";
import { defineCommand } from "citty";
import { SingleBar } from "cli-progress";
import { PipelineError } from "../errors.ts";
import { log, logLevel } from "../log.ts";
import { DEFAULT_TARGETS } from "../train/lora.ts";
import { finetune } from "../train/trainer-run.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";
import { tokensDirFor } from "./qa-train.ts";

const fmtTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`);

export default defineCommand({
  meta: {
    name: "finetune",
    description:
      "Step 6: train on qa-train's token files with TensorFlow.js. `tiny` (the default base) trains every weight\n" +
      "  from scratch and writes model.gguf; any other base gets a LoRA adapter (default targets q,k,v,o,gate,up,down)\n" +
      "  written as a llama.cpp LoRA GGUF, adapter.gguf. AdamW, warmup + cosine, gradient clipping and accumulation,\n" +
      "  eval loss on the validation rows. Also writes loss_curve.csv/.svg and training_report.json to\n" +
      "  <FINETUNE_OUTPUT_DIR>/<name>/, with a checkpoint every --checkpoint-every steps and on Ctrl-C; --resume continues.\n" +
      "  Backend: tfjs-node-gpu › tfjs-node › wasm › cpu, or --backend. Memory: LoRA needs ≈ 10 bytes per base\n" +
      "  parameter — up to ≈ 0.4 B parameters on wasm (4 GiB heap), ≈ 2.5 B with tfjs-node in 24 GiB; bigger bases are\n" +
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
    const tokensDir = resolve(args.input ?? tokensDirFor(settings.qaDir));
    const tokensMeta = await readFile(join(tokensDir, "tokens.json"), "utf8").then((t) => JSON.parse(t) as { modelName: string }).catch(() => undefined);
    const modelName = settings.origin.finetuneModelName === "default" && tokensMeta ? tokensMeta.modelName : settings.finetuneModelName;
    const tiny = modelName === "tiny";
    const name = args.name ?? basename(modelName).replace(/\.gguf$/i, "").replace(/[^\w.-]+/g, "_");
    const outDir = resolve(settings.finetuneOutputDir, name);
    const rank = settings.finetuneLoraRank ?? 8;
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      log.warn("interrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)");
    };
    process.on("SIGINT", onSigint);
    const bar = process.stderr.isTTY && logLevel !== "quiet"
      ? new SingleBar({ format: "finetune [{bar}] {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_h}", hideCursor: true, stream: process.stderr })
      : undefined;
    let lastLog = 0;
    try {
      const report = await finetune({
        tokensDir, outDir,
        epochs: settings.finetuneEpochs ?? 3,
        lr: settings.finetuneLearningRate ?? (tiny ? 3e-3 : 2e-4),
        rank,
        alpha: parseFlag("alpha", args.alpha) ?? 2 * rank,
        dropout: parseFlag("dropout", args.dropout) ?? 0.05,
        targets: args["lora-targets"] ? args["lora-targets"].split(",") : DEFAULT_TARGETS,
        batch: settings.finetuneBatchSize ?? 8,
        gradAccum: parseFlag("grad-accum", args["grad-accum"]) ?? 1,
        seqLen: settings.finetuneSeqLen,
        // Checked against the token files only when set; by default they decide the base model.
        modelName: settings.origin.finetuneModelName === "default" ? undefined : modelName,
        backend: settings.finetuneBackend,
        threads: parseFlag("threads", args.threads) || undefined,
        resume: !!args.resume,
        checkpointEvery: parseFlag("checkpoint-every", args["checkpoint-every"]) ?? 50,
        evalEvery: parseFlag("eval-every", args["eval-every"]) ?? 50,
        seed: parseFlag("seed", args.seed) ?? 1,
        onBackend: (b) => log.info(`finetune: backend ${b.name} (${b.detail}); base ${modelName}; output ${outDir}`),
        onStep: (p) => {
          if (bar) {
            if (p.step === 1 || !bar.getTotal()) bar.start(p.totalSteps, p.step - 1, { loss: "-", tps: "-", eta_h: "-" });
            bar.update(p.step, { loss: p.loss.toFixed(4), tps: Math.round(p.tokensPerSecond), eta_h: fmtTime(p.etaSeconds) });
          } else if (p.step === p.totalSteps || Date.now() - lastLog > 5000 || p.evalLoss !== undefined) {
            lastLog = Date.now();
            log.info(`step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}${p.evalLoss !== undefined ? `  eval ${p.evalLoss.toFixed(4)}` : ""}  lr ${p.lr.toExponential(2)}  ${Math.round(p.tokensPerSecond)} tok/s  ETA ${fmtTime(p.etaSeconds)}`);
          }
        },
        shouldStop: () => stop,
      });
      bar?.stop();
      if (report.status === "interrupted") {
        throw new PipelineError("E_TRAIN", `interrupted at step ${report.steps.done}/${report.steps.total}; checkpoint saved in ${join(outDir, "checkpoint")} — run again with --resume to continue`);
      }
      log.info(
        `FINETUNE SUMMARY\n  ${report.method === "lora" ? `LoRA r=${rank}` : "full training"} on ${report.backend.name}: ${report.steps.done} steps in ${fmtTime(report.seconds)} (${Math.round(report.tokensPerSecond)} tok/s)\n` +
          `  train loss ${report.finalTrainLoss?.toFixed(4)}${report.finalEvalLoss !== undefined ? `, eval loss ${report.finalEvalLoss.toFixed(4)}` : ""}\n` +
          `  wrote ${Object.values(report.files).map((f) => join(outDir, f)).join(", ")}`,
      );
    } finally {
      bar?.stop();
      process.off("SIGINT", onSigint);
    }
  },
});
