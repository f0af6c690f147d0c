// The qa-train step: formatted examples → packed token files for the configured base model, with its summary.
import type { Settings } from "../config.ts";
import { log, summary } from "../log.ts";
import { checkModelType } from "../chat/template.ts";
import { preflightBase } from "../model/preflight.ts";
import { qaTrain, type QaTrainReport } from "../train/qa-train.ts";

export const DEFAULT_SEQ_LEN = 256;

export interface QaTrainRun {
  /** training_data_final.jsonl (format's .valid.jsonl beside it is the validation split). */
  input: string;
  /** The tokens directory. */
  outDir: string;
}

export async function runQaTrain(settings: Settings, o: QaTrainRun): Promise<QaTrainReport> {
  checkModelType(settings.finetuneModelType);
  // A base that cannot be trained is refused before any token file is written (and before hours of finetune).
  await preflightBase(settings.finetuneModelName, { backend: settings.finetuneBackend });
  const seqLen = settings.finetuneSeqLen ?? DEFAULT_SEQ_LEN;
  log.info(`qa-train: ${o.input} → ${o.outDir} (model ${settings.finetuneModelName}, seq len ${seqLen})`);
  const { report } = await qaTrain({
    input: o.input, outDir: o.outDir, seqLen,
    modelName: settings.finetuneModelName,
    modelType: settings.finetuneModelType,
    skipBadLines: settings.skipBadLines,
    onWarn: (m) => log.warn(m),
  });
  const line = (name: string, s: typeof report.train) =>
    `  ${name}: ${s.examples} examples, ${s.rows} rows, ${s.tokens} tokens (${s.lossTokens} with loss), ` +
    `${s.truncated} truncated, ${s.dropped} dropped, packing ${(100 * s.packingEfficiency).toFixed(1)}%`;
  log.info(`QA-TRAIN SUMMARY (template: ${report.template})\n${line("train", report.train)}\n${line("valid", report.valid)}${report.badLines ? `\n  bad lines skipped: ${report.badLines}` : ""}`);
  // consola's `verbose` type sits above the --verbose level (4), so the whole report goes out as debug.
  log.debug(JSON.stringify(report, null, 2));
  summary("qa-train", { ...report, outDir: o.outDir });
  return report;
}
