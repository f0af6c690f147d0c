// finetune: token files + base model → trained adapter (or whole tiny model), loss curve, report, checkpoints.
//
// Writes <outDir>/ (FINETUNE_OUTPUT_DIR/<name>):
//   adapter.gguf          LoRA runs: llama.cpp's LoRA GGUF — general.type=adapter, adapter.type=lora,
//                         adapter.lora.alpha (f32), general.architecture of the base; for each adapted weight W
//                         (GGUF dims [in, out]) `W.lora_a` dims [in, r] and `W.lora_b` dims [r, out], F32;
//                         scale = alpha / r. docs2model.base_model holds the base GGUF path.
//   model.gguf            `tiny` runs: the whole trained model (base metadata + tokenizer + chat template), F32
//   loss_curve.csv/.svg   per-step train loss, lr, grad norm; eval loss where measured
//   training_report.json  settings, backend, sizes, speed, losses, output files
//   checkpoint/           trainable tensors + AdamW state + step (see checkpoint.ts), for --resume
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PipelineError } from "../errors.ts";
import { defaultThreads, useBackend, type BackendInfo } from "../kernels/backend.ts";
import { log } from "../log.ts";
import { loadCheckpoint, readCheckpointRun, saveCheckpoint, type CheckpointRun } from "./checkpoint.ts";
import { openGguf } from "../gguf/reader.ts";
import { writeGguf } from "../gguf/writer.ts";
import { writeLoraAdapterGguf } from "../gguf/lora-adapter.ts";
import type { GgufValue } from "../gguf/types.ts";
import { DEFAULT_TARGETS, Lora } from "./lora.ts";
import { lossCurveCsv, lossCurveSvg } from "./loss-curve.ts";
import { parameterCount, type LlamaConfig } from "../model/config.ts";
import { hfIdOfGguf } from "../hf/names.ts";
import { writePeftAdapter } from "../hf/peft.ts";
import { estimateTrainingBytes, loadGgufModel, MEMORY_BUDGET_BYTES, memoryLimitBytes, readGgufConfig, WASM_HEAP_BYTES } from "../model/load.ts";
import { readTokenRows } from "./qa-train-files.ts";
import { readTokensMeta } from "./qa-train.ts";
import { hashSettings } from "../streams/ledger.ts";
import { ADAPTER_FILE, PEFT_ADAPTER_CONFIG_FILE, PEFT_ADAPTER_FILE, TRAINED_MODEL_FILE, TRAINING_REPORT_FILE, TRAIN_TOKENS_FILE, VALID_TOKENS_FILE } from "../layout.ts";
import { Trainer, type ProgressInfo, type TrainOptions } from "./trainer.ts";

export interface FinetuneOptions {
  tokensDir: string;
  outDir: string;
  epochs: number;
  lr: number;
  rank: number;
  alpha: number;
  dropout: number;
  targets: string[];
  batch: number;
  gradAccum: number;
  seqLen?: number;
  /** FINETUNE_MODEL_NAME as this run sees it; must be what qa-train tokenized for. */
  modelName?: string;
  backend?: string;
  /** Compute threads (default: backend.ts defaultThreads()). */
  threads?: number;
  resume: boolean;
  checkpointEvery: number;
  evalEvery: number;
  warmupSteps?: number;
  seed: number;
  onBackend?: (b: BackendInfo) => void;
  onStep?: (p: ProgressInfo) => void;
  shouldStop?: () => boolean;
}

export interface TrainingReport {
  status: "completed" | "interrupted";
  model: { name: string; base: string; arch: string; parameters: number; tiny: boolean };
  backend: BackendInfo;
  method: "full" | "lora";
  lora?: { rank: number; alpha: number; dropout: number; targets: string[]; trainableParameters: number };
  settings: Omit<FinetuneOptions, "onBackend" | "onStep" | "shouldStop" | "tokensDir" | "outDir" | "modelName">;
  data: { trainRows: number; validRows: number; seqLen: number; trainLossTokens: number };
  steps: { done: number; total: number; perEpoch: number };
  seconds: number;
  tokensPerSecond: number;
  finalTrainLoss?: number;
  /**
   * The trained model's mean loss over every training row after the last step (no dropout): what llama.cpp must
   * reproduce on the exported model for it to be the model that was trained. Left out past TRAIN_LOSS_AT_END_ROWS.
   */
  trainLossAtEnd?: number;
  finalEvalLoss?: number;
  evals: Array<{ step: number; loss: number }>;
  memory: { limitGiB: number; budgetGiB: number };
  files: Record<string, string>;
}

/** One forward pass over this many rows costs about a third of an epoch's steps; past it the figure is skipped. */
export const TRAIN_LOSS_AT_END_ROWS = 2000;

export async function finetune(o: FinetuneOptions): Promise<TrainingReport> {
  const meta = await readTokensMeta(o.tokensDir);
  if (o.seqLen !== undefined && o.seqLen !== meta.seqLen) {
    throw new PipelineError("E_CONFIG", `--seq-len ${o.seqLen} differs from the token files' ${meta.seqLen}; re-run \`pipeline qa-train --seq-len ${o.seqLen}\``, { field: "--seq-len" });
  }
  if (o.modelName !== undefined && o.modelName !== meta.modelName) {
    throw new PipelineError("E_CONFIG", `the token files were made for base model "${meta.modelName}", not "${o.modelName}"; re-run \`pipeline qa-train\` with the same FINETUNE_MODEL_NAME`, { field: "FINETUNE_MODEL_NAME" });
  }
  const train = await readTokenRows(join(o.tokensDir, TRAIN_TOKENS_FILE));
  const valid = await readTokenRows(join(o.tokensDir, VALID_TOKENS_FILE));
  if (!train.rows) throw new PipelineError("E_INPUT", "the training token file has no rows", { file: o.tokensDir });

  // A base past the wasm heap trains on the cpu backend with the native kernels, when they are built.
  // (Only asked when no backend is named: --backend decides by itself.)
  const pastWasmHeap = !o.backend && estimateTrainingBytes(await readGgufConfig(meta.basePath), meta.tiny) > WASM_HEAP_BYTES;
  // A resumed run computes as the interrupted one did: same thread count, same backend (unless one is named).
  let threads = o.threads ?? defaultThreads();
  let wanted = o.backend;
  const recorded = o.resume ? await readCheckpointRun(o.outDir) : undefined;
  if (recorded) {
    if (o.threads !== undefined && o.threads !== recorded.threads) log.warn(`finetune: resuming with the checkpoint's ${recorded.threads} thread(s), not ${o.threads}, so the result equals an uninterrupted run`);
    threads = recorded.threads;
    if (!wanted) wanted = recorded.backend;
    else if (wanted !== recorded.backend) log.warn(`finetune: the checkpoint was trained on ${recorded.backend}; resuming on ${wanted} gives a slightly different model than an uninterrupted run`);
  }
  const backend = await useBackend(wanted, threads, { pastWasmHeap });
  const run: CheckpointRun = { threads, backend: backend.name };
  o.onBackend?.(backend);
  const { model, config } = await loadGgufModel(meta.basePath, { trainable: meta.tiny, backend: backend.name });
  const lora = meta.tiny ? undefined : new Lora(config, { rank: o.rank, alpha: o.alpha, dropout: o.dropout, targets: o.targets, seed: o.seed });
  const opts: TrainOptions = {
    epochs: o.epochs, lr: o.lr, batch: o.batch, gradAccum: o.gradAccum, maxGradNorm: 1, weightDecay: meta.tiny ? 0.1 : 0,
    evalEvery: o.evalEvery, seed: o.seed, warmupSteps: 0,
  };
  const trainer = new Trainer(model, lora, train, valid, opts);
  opts.warmupSteps = o.warmupSteps ?? Math.min(100, Math.ceil(trainer.totalSteps * 0.05));
  const settings = { epochs: o.epochs, lr: o.lr, rank: o.rank, alpha: o.alpha, dropout: o.dropout, targets: o.targets, batch: o.batch, gradAccum: o.gradAccum, seqLen: meta.seqLen, backend: o.backend, resume: o.resume, checkpointEvery: o.checkpointEvery, evalEvery: o.evalEvery, warmupSteps: opts.warmupSteps, seed: o.seed };
  // The checkpoint belongs to these settings and this data; resuming anything else would silently differ.
  const trainData = createHash("sha256").update(Buffer.from(train.raw.buffer, train.raw.byteOffset, train.raw.byteLength)).digest("hex");
  const hash = hashSettings({ ...settings, resume: undefined, backend: undefined, checkpointEvery: undefined, base: meta.basePath, trainData });
  await mkdir(o.outDir, { recursive: true });
  if (o.resume) trainer.load(await loadCheckpoint(o.outDir, hash));

  const t0 = performance.now();
  const startStep = trainer.step;
  const { stopped } = await trainer.run({
    onStep: o.onStep,
    shouldStop: o.shouldStop,
    checkpointEvery: o.checkpointEvery,
    onCheckpoint: () => saveCheckpoint(o.outDir, trainer.state(), hash, run),
  });
  const seconds = (performance.now() - t0) / 1000;
  await saveCheckpoint(o.outDir, trainer.state(), hash, run);

  const files: Record<string, string> = { checkpoint: "checkpoint/", lossCsv: "loss_curve.csv", lossSvg: "loss_curve.svg", report: TRAINING_REPORT_FILE };
  await writeFile(join(o.outDir, files.lossCsv!), lossCurveCsv(trainer.history, trainer.evals));
  await writeFile(join(o.outDir, files.lossSvg!), lossCurveSvg(trainer.history, trainer.evals, `${meta.modelName}: ${lora ? `LoRA r=${o.rank}` : "full training"}`));
  if (!stopped) {
    if (lora) {
      files.adapter = ADAPTER_FILE;
      await writeAdapter(join(o.outDir, files.adapter), lora, config, meta.basePath, meta.modelName);
      files.peftAdapter = PEFT_ADAPTER_FILE;
      files.peftConfig = PEFT_ADAPTER_CONFIG_FILE;
    } else {
      files.model = TRAINED_MODEL_FILE;
      await writeTrainedModel(join(o.outDir, files.model), meta.basePath, model.rawTensors());
    }
  }
  const trainLossAtEnd = !stopped && train.rows <= TRAIN_LOSS_AT_END_ROWS ? trainer.evaluate(train) : undefined;
  const stepsRun = trainer.step - startStep;
  const tokensRun = trainer.history.slice(startStep).reduce((a, h) => a + h.tokens, 0);
  const report: TrainingReport = {
    status: stopped ? "interrupted" : "completed",
    model: { name: meta.modelName, base: meta.basePath, arch: config.arch, parameters: parameterCount(config), tiny: meta.tiny },
    backend,
    method: lora ? "lora" : "full",
    lora: lora ? { rank: o.rank, alpha: o.alpha, dropout: o.dropout, targets: o.targets, trainableParameters: lora.variables().reduce((a, v) => a + v.size, 0) } : undefined,
    settings,
    data: { trainRows: train.rows, validRows: valid.rows, seqLen: meta.seqLen, trainLossTokens: train.lossTokens() },
    steps: { done: trainer.step, total: trainer.totalSteps, perEpoch: trainer.stepsPerEpoch },
    seconds,
    tokensPerSecond: stepsRun ? tokensRun / seconds : 0,
    finalTrainLoss: trainer.history.at(-1)?.loss,
    ...(trainLossAtEnd !== undefined ? { trainLossAtEnd } : {}),
    finalEvalLoss: trainer.evals.at(-1)?.loss,
    evals: trainer.evals,
    memory: { limitGiB: memoryLimitBytes(backend.name) / 2 ** 30, budgetGiB: MEMORY_BUDGET_BYTES / 2 ** 30 },
    files,
  };
  await writeFile(join(o.outDir, files.report!), JSON.stringify(report, null, 2) + "\n");
  trainer.dispose();
  lora?.dispose();
  model.dispose();
  return report;
}

/**
 * The trained adapter twice: llama.cpp's LoRA GGUF at `path`, and beside it the PEFT form (adapter_model.safetensors
 * + adapter_config.json) for the Python trainers and servers. `modelName` is what the user named the base.
 */
export async function writeAdapter(path: string, lora: Lora, config: LlamaConfig, basePath: string, modelName = basePath): Promise<void> {
  const tensors = lora.rawTensors();
  const base = await openGguf(basePath);
  let baseModel: string;
  // A Hugging Face id, else the checkpoint folder the base was converted from, else the name the user gave.
  try { baseModel = hfIdOfGguf((k) => base.meta(k)) ?? base.meta<string>("docs2model.checkpoint_dir") ?? modelName; } finally { await base.close(); }
  await writePeftAdapter(dirname(path), {
    targets: lora.options.targets, rank: lora.options.rank, alpha: lora.options.alpha, dropout: lora.options.dropout,
    tensors, permutedQK: config.ropeStyle === "norm", heads: config.heads, kvHeads: config.kvHeads, baseModel, fusedGateUp: config.fusedGateUp,
  });
  const arch = config.arch;
  await writeLoraAdapterGguf(path, {
    arch, alpha: lora.options.alpha, tensors,
    metadata: [
      ["general.name", { type: "string", value: "docs2model LoRA" }],
      ["docs2model.lora.rank", { type: "u32", value: lora.options.rank }],
      ["docs2model.lora.targets", { type: "array", itemType: "string", value: lora.options.targets }],
      ["docs2model.base_model", { type: "string", value: basePath }],
    ],
  });
}

/** The base file's metadata (tokenizer, chat template) with the trained tensors. */
export async function writeTrainedModel(path: string, basePath: string, tensors: Array<{ name: string; dims: number[]; data: Float32Array }>): Promise<void> {
  const base = await openGguf(basePath);
  try {
    const metadata = new Map(base.metadata);
    metadata.set("general.file_type", { type: "u32", value: 0 });
    metadata.set("general.name", { type: "string", value: "docs2model tiny (trained)" });
    await writeGguf(path, { metadata, tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, type: "F32" as const, data: t.data })) });
  } finally {
    await base.close();
  }
}

export { DEFAULT_TARGETS };
