// Resolves FINETUNE_MODEL_NAME to a GGUF file: `tiny`, a path, an Ollama model name (its blob in the
// local Ollama store) or an hf: URI (needs the network, so offline it fails with advice).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PipelineError } from "../../errors.ts";

export type BaseModel = { kind: "tiny" } | { kind: "gguf"; path: string; source: string };

export function resolveBaseModel(name: string, env: Record<string, string | undefined> = process.env): BaseModel {
  if (name === "tiny") return { kind: "tiny" };
  const asPath = resolve(name);
  if (existsSync(asPath)) return { kind: "gguf", path: asPath, source: "file" };
  if (name.startsWith("hf:")) {
    throw new PipelineError("E_CONFIG", `"${name}" needs a download from Hugging Face, which this run does not do; download the GGUF yourself and set FINETUNE_MODEL_NAME to its path`, { field: "FINETUNE_MODEL_NAME" });
  }
  const blob = ollamaBlob(name, env);
  if (blob) return { kind: "gguf", path: blob, source: "ollama" };
  throw new PipelineError("E_CONFIG", `base model "${name}" is neither "tiny", a GGUF file, nor a model in the local Ollama store (${ollamaModelsDir(env)}); pull it with \`ollama pull ${name}\` or give a path`, { field: "FINETUNE_MODEL_NAME" });
}

function ollamaModelsDir(env: Record<string, string | undefined>): string {
  return env.OLLAMA_MODELS ?? join(homedir(), ".ollama", "models");
}

/** Ollama keeps `manifests/<host>/<namespace>/<model>/<tag>`; the model layer names its blob by digest. */
function ollamaBlob(name: string, env: Record<string, string | undefined>): string | undefined {
  const [repo, tag = "latest"] = name.split(":") as [string, string?];
  const parts = repo.split("/");
  const full = parts.length === 1 ? ["registry.ollama.ai", "library", ...parts] : parts.length === 2 ? ["registry.ollama.ai", ...parts] : parts;
  const dir = ollamaModelsDir(env);
  const manifest = join(dir, "manifests", ...full, tag);
  if (!existsSync(manifest)) return undefined;
  const m = JSON.parse(readFileSync(manifest, "utf8")) as { layers?: Array<{ mediaType: string; digest: string }> };
  const layer = m.layers?.find((l) => l.mediaType === "application/vnd.ollama.image.model");
  if (!layer) return undefined;
  const path = join(dir, "blobs", layer.digest.replace(":", "-"));
  return existsSync(path) ? path : undefined;
}
