// The finetune step: token files + base model → trained adapter (or tiny model), with a progress bar, Ctrl-C
// saving a checkpoint, and the summary.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { SingleBar } from "cli-progress";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { childFolder, finetuneNameFor, TOKENS_META_FILE } from "../layout.ts";
import { checkOutputDir } from "../streams/path-checks.ts";
import { onInterrupt } from "../streams/interrupt.ts";
import { log, logLevel, summary } from "../log.ts";
import { preflightBase } from "../model/preflight.ts";
import { DEFAULT_TARGETS } from "../train/lora.ts";
import { readTokensMeta } from "../train/qa-train.ts";
import { finetune, type TrainingReport } from "../train/trainer-run.ts";

/** Training settings that have no environment key; the rest come from Settings (FINETUNE_*). */
export interface FinetuneRun {
  /** qa-train's output directory. */
  tokensDir: string;
  /** Output name under FINETUNE_OUTPUT_DIR (default: the base model's name). */
  name?: string;
  alpha?: number;
  dropout?: number;
  targets?: string[];
  gradAccum?: number;
  /** 0 or undefined: the backend's default. */
  threads?: number;
  checkpointEvery?: number;
  evalEvery?: number;
  seed?: number;
  resume: boolean;
}

const fmtTime = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.round(s)}s`);

export async function runFinetune(settings: Settings, o: FinetuneRun): Promise<TrainingReport> {
  const tokensDir = o.tokensDir;
  const tokensMeta = existsSync(join(tokensDir, TOKENS_META_FILE)) ? await readTokensMeta(tokensDir) : undefined;
  const modelName = settings.origin.finetuneModelName === "default" && tokensMeta ? tokensMeta.modelName : settings.finetuneModelName;
  const tiny = modelName === "tiny";
  // The base the token files were made for (or the configured one): refused now if it cannot be trained.
  if (!tiny) await preflightBase(modelName, { backend: settings.finetuneBackend, ...(tokensMeta && !tokensMeta.tiny ? { path: tokensMeta.basePath } : {}) });
  const name = o.name ?? finetuneNameFor(modelName);
  const outDir = childFolder(settings.finetuneOutputDir, name, "--name");
  checkOutputDir(outDir);
  const rank = settings.finetuneLoraRank ?? 8;
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    log.warn("interrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)");
  };
  const offSigint = onInterrupt(onSigint);
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
      alpha: o.alpha ?? 2 * rank,
      dropout: o.dropout ?? 0.05,
      targets: o.targets ?? DEFAULT_TARGETS,
      batch: settings.finetuneBatchSize ?? 8,
      gradAccum: o.gradAccum ?? 1,
      seqLen: settings.finetuneSeqLen,
      // Checked against the token files only when set; by default they decide the base model.
      modelName: settings.origin.finetuneModelName === "default" ? undefined : modelName,
      backend: settings.finetuneBackend,
      threads: o.threads || undefined,
      resume: o.resume,
      checkpointEvery: o.checkpointEvery ?? 50,
      evalEvery: o.evalEvery ?? 50,
      seed: o.seed ?? 1,
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
      throw new PipelineError("E_INTERRUPTED", `interrupted at step ${report.steps.done}/${report.steps.total}; checkpoint saved in ${join(outDir, "checkpoint")} — run again with --resume to continue`);
    }
    log.info(
      `FINETUNE SUMMARY\n  ${report.method === "lora" ? `LoRA r=${rank}` : "full training"} on ${report.backend.name}: ${report.steps.done} steps in ${fmtTime(report.seconds)} (${Math.round(report.tokensPerSecond)} tok/s)\n` +
        `  train loss ${report.finalTrainLoss?.toFixed(4)}${report.finalEvalLoss !== undefined ? `, eval loss ${report.finalEvalLoss.toFixed(4)}` : ""}\n` +
        `  wrote ${Object.values(report.files).map((f) => join(outDir, f)).join(", ")}`,
    );
    summary("finetune", { ...report, outDir } as unknown as Record<string, unknown>);
    return report;
  } finally {
    bar?.stop();
    offSigint();
  }
}
