// Every on-disk file name and path rule, in one place: the steps write these files and the next steps read them.
import { basename, join } from "node:path";

/** chunk's output, in PIPELINE_CHUNKS_DIR. */
export const CHUNKS_FILE = "chunks.ndjson";
/** The rest of steps 2–5 live in PIPELINE_QA_DIR. */
export const QA_FILE = "training_data.json";
export const REPORT_FILE = "validation_report.json";
export const FINAL_FILE = "training_data_final.jsonl";
export const TOKENS_DIR = "tokens";
/** `pipeline all`'s own state (steps done, timings, settings hash), for --resume. */
export const ALL_STATE_FILE = "pipeline_all.json";
/** qa-train's output directory. */
export const TOKENS_META_FILE = "tokens.json";
export const QA_TRAIN_REPORT_FILE = "qa_train_report.json";
export const TRAIN_TOKENS_FILE = "train.tokens";
export const VALID_TOKENS_FILE = "valid.tokens";
/** `tiny`'s untrained base, built by qa-train with a vocabulary learned from the data. */
export const TINY_BASE_FILE = "base.gguf";
/** finetune's output directory (FINETUNE_OUTPUT_DIR/<name>). */
export const TRAINING_REPORT_FILE = "training_report.json";
export const ADAPTER_FILE = "adapter.gguf";
export const TRAINED_MODEL_FILE = "model.gguf";
/** export's output directory (EXPORT_OUTPUT_DIR/<name>). */
export const EXPORT_RESULT_FILE = "export.json";
export const MODELFILE = "Modelfile";
export const MODELFILE_ADAPTER = "Modelfile.adapter";
export const VERIFY_FILE = "verify.json";
export const EVAL_FILE = "eval.json";

/** `x.jsonl` → `x.valid.jsonl`, `x.provenance.jsonl`: the files format writes beside its output. */
export function siblingPath(path: string, tag: string): string {
  return /\.jsonl$/i.test(path) ? path.replace(/\.jsonl$/i, `.${tag}.jsonl`) : `${path}.${tag}.jsonl`;
}

/** Where the scored records live beside a validation report: the resumable part of a validate run. */
export function scoredPathFor(reportPath: string): string {
  return reportPath.replace(/\.json$/i, "") + ".scored.ndjson";
}

/** The fine-tune directory name for a base model name (a path or an Ollama name). */
export const finetuneNameFor = (modelName: string) => basename(modelName).replace(/\.gguf$/i, "").replace(/[^\w.-]+/g, "_");

/** The model name in Ollama and under EXPORT_OUTPUT_DIR: EXPORT_MODEL_NAME, else docs-<fine-tune directory>, as Ollama accepts it. */
export const exportNameFor = (given: string | undefined, finetuneDir: string) =>
  (given ?? `docs-${basename(finetuneDir).replace(/\.gguf$/i, "")}`).toLowerCase().replace(/[^a-z0-9._:-]+/g, "-");

/** The seed's folders, from the settings that name them. */
export interface ProjectDirs { chunksDir: string; qaDir: string; finetuneOutputDir: string; exportOutputDir: string }

/** Every file the steps exchange, for one project. */
export function projectFiles(d: ProjectDirs) {
  const report = join(d.qaDir, REPORT_FILE);
  return {
    chunks: join(d.chunksDir, CHUNKS_FILE),
    qa: join(d.qaDir, QA_FILE),
    report,
    scored: scoredPathFor(report),
    final: join(d.qaDir, FINAL_FILE),
    tokens: join(d.qaDir, TOKENS_DIR),
    allState: join(d.qaDir, ALL_STATE_FILE),
    finetuned: (modelName: string) => join(d.finetuneOutputDir, finetuneNameFor(modelName)),
    exported: (name: string) => join(d.exportOutputDir, name),
  };
}

export const tokensDirFor = (qaDir: string) => join(qaDir, TOKENS_DIR);
