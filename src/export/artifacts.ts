// Finds what fine-tuning left behind: a full model GGUF (`tiny` trained from scratch) or a LoRA adapter GGUF,
// the base model the adapter belongs to, and the training report — from a directory or a single .gguf path.
import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { PipelineError } from "../errors.ts";
import { resolveBaseModel } from "../model/base-model.ts";
import { openGguf } from "../gguf/reader.ts";
import { TRAINING_REPORT_FILE } from "../layout.ts";
import type { TrainingReport } from "../train/trainer-run.ts";

export interface FinetuneArtifacts {
  dir: string;
  /** A complete model (no adapter): exported as is, requantized. */
  modelPath?: string;
  adapterPath?: string;
  /** The base the adapter applies to (or the untrained base of a from-scratch model, for the eval's "base" column). */
  basePath?: string;
  baseSource?: string;
  /** finetune's training_report.json, when there is one. */
  report?: FinetuneReport;
  reportPath?: string;
  /** Loss curve picture(s) beside the adapter. */
  pictures: string[];
}

/**
 * What export reads of training_report.json: finetune writes a TrainingReport (train/trainer-run.ts); a report
 * written by hand may hold only some of it, or name its base with `baseModel`.
 */
export type FinetuneReport = Partial<TrainingReport> & { baseModel?: string; [key: string]: unknown };

/** The key under which finetune records the base GGUF path in the adapter (trainer-run.ts writeAdapter). */
const BASE_KEY = "docs2model.base_model";

export async function findFinetuneArtifacts(path: string, o: { base?: string } = {}): Promise<FinetuneArtifacts> {
  const p = resolve(path);
  if (!existsSync(p)) {
    throw new PipelineError("E_CONFIG", `no fine-tuned model at ${p}; run \`pipeline finetune\` first or set EXPORT_MODEL_PATH / --model to its directory`, { field: "EXPORT_MODEL_PATH" });
  }
  const dir = statSync(p).isDirectory() ? p : dirname(p);
  const ggufs = statSync(p).isDirectory() ? readdirSync(dir).filter((f) => f.endsWith(".gguf")).sort().map((f) => join(dir, f)) : [p];
  const out: FinetuneArtifacts = { dir, pictures: readdirSync(dir).filter((f) => /loss.*\.(svg|png)$/i.test(f)).map((f) => join(dir, f)) };

  const rp = join(dir, TRAINING_REPORT_FILE);
  if (existsSync(rp)) {
    try {
      out.report = JSON.parse(await readFile(rp, "utf8")) as FinetuneReport;
      out.reportPath = rp;
    } catch (e) {
      throw new PipelineError("E_INPUT", `training report is not valid JSON: ${(e as Error).message}`, { file: rp });
    }
  }

  let recordedBase: string | undefined;
  for (const g of ggufs) {
    if (/\.partial$|checkpoint/i.test(basename(g))) continue; // the file's name, not its folders': a base folder may be called "checkpoint"
    const f = await openGguf(g);
    try {
      const isAdapter = f.meta("general.type") === "adapter";
      if (isAdapter && !out.adapterPath) {
        out.adapterPath = g;
        // Any file path: a base from the Ollama store is a blob named sha256-…, with no .gguf.
        recordedBase = f.meta<string>(BASE_KEY);
      } else if (!isAdapter && /^(base|base[-_]model)\.gguf$/.test(basename(g))) {
        out.basePath ??= g;
        out.baseSource ??= "beside the adapter";
      } else if (!isAdapter && !out.modelPath) {
        out.modelPath = g;
      }
    } finally {
      await f.close();
    }
  }
  const fromReport = out.report?.model?.base;
  const candidates: Array<[string | undefined, string]> = [[o.base, "--base"], [recordedBase, "adapter metadata"], [fromReport, "training report"]];
  for (const [cand, source] of candidates) {
    if (!cand) continue;
    const abs = resolve(dir, cand);
    if (existsSync(abs) && statSync(abs).isFile()) { out.basePath = abs; out.baseSource = source; break; }
    if (existsSync(abs) && statSync(abs).isDirectory()) {
      // A Hugging Face checkpoint folder: its converted GGUF (from the cache, or converted again).
      const r = await resolveBaseModel(abs);
      if (r.kind !== "tiny") { out.basePath = r.path; out.baseSource = source; break; }
    }
    if (source === "--base") throw new PipelineError("E_CONFIG", `base model ${abs} does not exist`, { field: "--base" });
  }
  const trainedOn = out.report?.model?.name;
  if (out.adapterPath && !out.basePath && trainedOn && trainedOn !== "tiny") {
    // The adapter's base was a converted checkpoint whose cached GGUF is gone: the same files convert to the same GGUF.
    const r = await resolveBaseModel(trainedOn).catch(() => undefined);
    if (r?.kind === "checkpoint") { out.basePath = r.path; out.baseSource = "training report (checkpoint converted again)"; }
  }
  if (!out.modelPath && !out.adapterPath) {
    throw new PipelineError("E_INPUT", `no model or LoRA adapter GGUF in ${dir}; run \`pipeline finetune\` first`, { file: dir });
  }
  if (out.adapterPath && !out.modelPath && !out.basePath) {
    throw new PipelineError("E_CONFIG", `found the adapter ${out.adapterPath} but not its base model; pass --base PATH.gguf (the FINETUNE_MODEL_NAME it was trained on)`, { field: "--base" });
  }
  return out;
}
