// Every on-disk file name and path rule, in one place: the steps write these files and the next steps read them,
// and the rules that keep a user-chosen name inside the folder it names a child of.
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { PipelineError } from "./errors.ts";

/** chunk's output, in PIPELINE_CHUNKS_DIR. */
export const CHUNKS_FILE = "chunks.ndjson";
/** The rest of steps 2–5 live in PIPELINE_QA_DIR. */
export const QA_FILE = "training_data.json";
export const REPORT_FILE = "validation_report.json";
export const FINAL_FILE = "training_data_final.jsonl";
export const TOKENS_DIR = "tokens";
/** `pipeline all`'s own state (steps done, timings, settings hash), for --resume. */
export const ALL_STATE_FILE = "pipeline_all.json";
/** `pipeline review`'s decisions (accept, reject, edit, undo), one per line, beside the report it reviews; format applies them. */
export const REVIEW_DECISIONS_FILE = "review_decisions.ndjson";
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
/** The same adapter as PEFT saves it (transformers, vLLM, unsloth load these two). */
export const PEFT_ADAPTER_FILE = "adapter_model.safetensors";
export const PEFT_ADAPTER_CONFIG_FILE = "adapter_config.json";
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

/**
 * `folder/name`, refused (E_USAGE naming `what`) unless it is a plain name that resolves strictly inside
 * `folder`: no `..`, no absolute path, no separators, no control characters.
 */
export function childFolder(folder: string, name: string, what: string): string {
  const ok = name !== "" && name !== "." && name !== ".." && !/[/\\\x00-\x1f\x7f]/.test(name);
  const path = resolve(folder, name);
  const rel = relative(resolve(folder), path);
  if (!ok || rel === "" || rel.startsWith("..") || isAbsolute(rel) || rel.includes(sep)) {
    throw new PipelineError("E_USAGE", `${what} must be a plain name for a folder inside ${folder}, got ${JSON.stringify(name)}; use letters, digits, ".", "_" and "-"`, { field: what });
  }
  return path;
}

/**
 * Why `name` is not a model name Ollama accepts, or undefined when it is: `[namespace/]model[:tag]`, each
 * part letters, digits, `_`, `-` and `.` (no `.` in the namespace, never two in a row), the model part
 * starting with a letter or digit, each part at most 80 characters (Ollama's types/model name rules).
 */
export function ollamaNameProblem(name: string): string | undefined {
  const m = /^(?:([^/:]+)\/)?([^/:]+)(?::([^/:]+))?$/.exec(name);
  if (!m) return "the form is [namespace/]model[:tag]";
  const [, namespace, model, tag] = m;
  const part = /^[A-Za-z0-9_.-]{1,80}$/;
  if (namespace !== undefined && !/^[A-Za-z0-9_-]{1,80}$/.test(namespace)) return `namespace "${namespace}" may hold only letters, digits, "_" and "-" (at most 80)`;
  if (!part.test(model!) || !/^[A-Za-z0-9]/.test(model!)) return `model "${model}" must start with a letter or digit and hold only letters, digits, "_", "-" and "." (at most 80)`;
  if (tag !== undefined && (!part.test(tag) || !/^[A-Za-z0-9_]/.test(tag))) return `tag "${tag}" must start with a letter, digit or "_" and hold only letters, digits, "_", "-" and "." (at most 80)`;
  if (name.includes("..")) return `".." is not allowed`;
  return undefined;
}

/**
 * A requested model name as export uses it: lower case, runs of other characters → "-" (then checked). The
 * namespace's "/" is kept (it turned `team/docs` into `team-docs`, so the `[namespace/]model` form never reached
 * exportFolder); `a/b/c` or `../x` are then refused by ollamaNameProblem, not flattened.
 */
export const normalizeModelName = (name: string): string => name.toLowerCase().replace(/[^a-z0-9._:/-]+/g, "-");

/** The export folder for an Ollama model name: `merged_models/<name>`, with a namespace's `/` kept as one level. */
export function exportFolder(outputDir: string, name: string, what = "--name"): string {
  const problem = ollamaNameProblem(name);
  if (problem) throw new PipelineError("E_USAGE", `${what} ${JSON.stringify(name)} is not a valid Ollama model name: ${problem}`, { field: what });
  const [namespace, model] = name.includes("/") ? name.split("/") as [string, string] : [undefined, name];
  return namespace ? childFolder(childFolder(outputDir, namespace, what), model, what) : childFolder(outputDir, model!, what);
}

/** Where the scored records live beside a validation report: the resumable part of a validate run. */
export function scoredPathFor(reportPath: string): string {
  return reportPath.replace(/\.json$/i, "") + ".scored.ndjson";
}

/** Where the review decisions for a report (or scored NDJSON) live: beside it. */
export function decisionsPathFor(reportPath: string): string {
  return join(dirname(resolve(reportPath)), REVIEW_DECISIONS_FILE);
}

/** The fine-tune directory name for a base model name (a path or an Ollama name). */
export const finetuneNameFor = (modelName: string) => basename(modelName).replace(/\.gguf$/i, "").replace(/[^\w.-]+/g, "_");

/** The model name in Ollama and under EXPORT_OUTPUT_DIR: EXPORT_MODEL_NAME, else docs-<fine-tune directory>, as Ollama accepts it. */
export const exportNameFor = (given: string | undefined, finetuneDir: string) =>
  normalizeModelName(given ?? `docs-${basename(finetuneDir).replace(/\.gguf$/i, "")}`);

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
