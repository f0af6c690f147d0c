// Whether a model (its GGUF metadata and tensor table, from a file or a checkpoint's plan) can be fine-tuned here:
// architecture, tensors against the layout, tensor types, memory. No file access: preflight.ts and base-model.ts
// (which judges a checkpoint folder before converting it) both call it.
import { PipelineError } from "../errors.ts";
import { DEQUANT_TYPES, type GgmlTypeName } from "../gguf/types.ts";
import { configFromGguf, type LlamaConfig } from "./config.ts";
import { tensorLayout } from "./gguf-meta.ts";
import { checkFits } from "./memory.ts";

export interface Preflight {
  trainable: boolean;
  /** Why not (empty when trainable). */
  reason: string;
  config?: LlamaConfig;
}

export interface PreflightOptions {
  /** The backend training will use (--backend); default: the largest budget any backend has here. */
  backend?: string;
  /** Full training (the tiny model) instead of LoRA. */
  full?: boolean;
  file?: string;
}

export interface TensorEntry { name: string; type: GgmlTypeName | string; dims: number[] }

/** An error's message without its "file, field …: " prefix (the reason names the key itself; the caller the file). */
function reasonOf(e: PipelineError): string {
  const prefix = new PipelineError(e.code, "", e.where).message;
  return prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

const list = (names: string[], max = 4) => names.slice(0, max).join(", ") + (names.length > max ? ` and ${names.length - max} more` : "");

/**
 * The tensors against the architecture's layout: none unknown (llama.cpp would use them; we would drop them),
 * none missing, dims as the config implies, every type one we can dequantize. A reason, or undefined.
 */
export function checkTensors(config: LlamaConfig, tensors: TensorEntry[]): string | undefined {
  const expected = new Map(tensorLayout(config).map((t) => [t.name, t.dims]));
  const unknown = tensors.filter((t) => !expected.has(t.name)).map((t) => t.name);
  const vision = unknown.filter((n) => n.startsWith("v.") || n.startsWith("mm."));
  if (vision.length) return `${vision.length} vision tensors (${list(vision, 2)}) in the model file — a multimodal layout (Ollama's own gemma3 4b+ blobs) that llama.cpp does not load as a text model; use a text-only GGUF of the model`;
  if (unknown.length) return `unknown tensor${unknown.length > 1 ? "s" : ""} ${list(unknown)} for ${config.arch}: llama.cpp would use ${unknown.length > 1 ? "them" : "it"} and training would not, so the trained model would not be the one llama.cpp runs`;
  const have = new Map(tensors.map((t) => [t.name, t]));
  const missing = [...expected.keys()].filter((n) => !have.has(n));
  if (missing.length) return `tensor${missing.length > 1 ? "s" : ""} ${list(missing)} missing; the file is not a complete ${config.arch} model`;
  for (const [name, dims] of expected) {
    const t = have.get(name)!;
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) return `tensor ${name} has dims [${t.dims}], the metadata implies [${dims}]`;
  }
  const bad = tensors.filter((t) => !DEQUANT_TYPES.includes(t.type as GgmlTypeName));
  if (bad.length) {
    const types = [...new Set(bad.map((t) => t.type))];
    return `${bad.length} tensor${bad.length > 1 ? "s are" : " is"} ${types.join("/")} (${list(bad.map((t) => t.name), 2)}), which cannot be dequantized here (supported: ${DEQUANT_TYPES.join(", ")}); convert the model to one of those types first`;
  }
  return undefined;
}

/** The preflight of a model from its metadata and tensor table. */
export function checkSupported(meta: Record<string, unknown>, tensors: TensorEntry[], o: PreflightOptions = {}): Preflight {
  let config: LlamaConfig;
  try {
    config = configFromGguf(meta, tensors.map((t) => t.name), o.file);
  } catch (e) {
    if (e instanceof PipelineError) return { trainable: false, reason: reasonOf(e) };
    throw e;
  }
  const problem = checkTensors(config, tensors);
  if (problem) return { trainable: false, reason: problem, config };
  try {
    checkFits(config, o.backend ?? "cpu", o.full ?? false, o.file ?? "model");
  } catch (e) {
    if (e instanceof PipelineError) return { trainable: false, reason: reasonOf(e), config };
    throw e;
  }
  return { trainable: true, reason: "", config };
}

