// File names and path rules in one place: the files format writes beside its output (qa-train and export
// read them), and the rules that keep a user-chosen name inside the folder it names a child of.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { PipelineError } from "./errors.ts";

/** `x.jsonl` → `x.valid.jsonl`, `x.provenance.jsonl`. */
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

/** A requested model name as export uses it: lower case, runs of other characters → "-" (then checked). */
export const normalizeModelName = (name: string): string => name.toLowerCase().replace(/[^a-z0-9._:-]+/g, "-");

/** The export folder for an Ollama model name: `merged_models/<name>`, with a namespace's `/` kept as one level. */
export function exportFolder(outputDir: string, name: string, what = "--name"): string {
  const problem = ollamaNameProblem(name);
  if (problem) throw new PipelineError("E_USAGE", `${what} ${JSON.stringify(name)} is not a valid Ollama model name: ${problem}`, { field: what });
  const [namespace, model] = name.includes("/") ? name.split("/") as [string, string] : [undefined, name];
  return namespace ? childFolder(childFolder(outputDir, namespace, what), model, what) : childFolder(outputDir, model!, what);
}
