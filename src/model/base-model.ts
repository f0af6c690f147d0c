// Which model to fine-tune: FINETUNE_MODEL_NAME / --base resolved to a GGUF file on disk, or `tiny`.
//
// CONTRACT: resolveBaseModel(spec, opts?) → ResolvedBaseModel
//   "tiny" | "" | undefined → { kind: "tiny" }        (build it with createTinyBase() in tiny-model.ts)
//   a path (ends in .gguf, or an existing file) → { kind: "gguf", path }   (magic/version checked)
//   an Ollama name "qwen2.5:0.5b", "user/model:tag", "host/ns/model:tag" → { kind: "ollama", path: blob,
//       ollama: { template?, system?, params?, license[] } } through $OLLAMA_MODELS or ~/.ollama/models
//       (manifests/<host>/<ns>/<model>/<tag> → layers by media type → blobs/sha256-<hex>); a manifest with an
//       adapter layer is refused (E_MODEL): training on the bare base would silently drop the adapter
//   "hf:user/repo:Q8_0" (or hf.co/… URLs) → { kind: "hf", path } via node-llama-cpp's resolveModelFile
//       (downloads into opts.cacheDir; offline → E_MODEL saying how to get the file)
//   a Hugging Face checkpoint folder (config.json + *.safetensors + tokenizer.json) → { kind: "checkpoint", path }:
//       judged by preflight from its headers (refused before any conversion), then converted once to a GGUF in the
//       checkpoint cache (src/hf/convert.ts) — `path` is that GGUF, so training and export treat it as any GGUF base
//   "org/repo[@revision]" not in the Ollama store → the Hugging Face cache (HF_HUB_CACHE / HF_HOME), else a download
//       unless HF_HUB_OFFLINE=1 (src/hf/hub.ts): a safetensors checkpoint → as a folder above; a GGUF-only repo → its
//       GGUF (cached) or the hf: path; not reachable → E_MODEL saying how to fetch it (and the `ollama pull` advice,
//       in case it is an Ollama user's model)
import { existsSync, statSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { openGguf, plainValue } from "../gguf/reader.ts";
import { parseHubName, type HubName } from "../hf/hub.ts";
import { checkSupported } from "./supported.ts";

export type ResolvedBaseModel =
  | { kind: "tiny"; spec: string }
  | { kind: "gguf" | "hf"; spec: string; path: string }
  | { kind: "checkpoint"; spec: string; path: string; checkpoint: CheckpointInfo }
  | { kind: "ollama"; spec: string; path: string; ollama: OllamaModelInfo };

export interface CheckpointInfo {
  /** The checkpoint folder (a snapshot folder of the HF cache for a hub name). */
  dir: string;
  /** The Hugging Face id, for a hub name. */
  repo?: string;
  hfArch: string;
  /** Converted in this call (else taken from the cache). */
  converted: boolean;
}

export interface OllamaModelInfo {
  manifest: string;
  /** Go TEMPLATE of the model, when the manifest has one. */
  template?: string;
  system?: string;
  /** Modelfile PARAMETERs (stop, temperature…) as Ollama stores them. */
  params?: Record<string, unknown>;
  /** LICENSE texts, one per license layer, in manifest order. */
  license: string[];
  /** A vision projector layer: training and export carry the language model only. */
  projector?: string;
}

/** The media types of an Ollama manifest's layers (what `ollama show --modelfile` is rebuilt from). */
export const OLLAMA_LAYER = {
  model: "application/vnd.ollama.image.model",
  template: "application/vnd.ollama.image.template",
  system: "application/vnd.ollama.image.system",
  params: "application/vnd.ollama.image.params",
  license: "application/vnd.ollama.image.license",
  adapter: "application/vnd.ollama.image.adapter",
  projector: "application/vnd.ollama.image.projector",
} as const;

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Where hf: downloads go (default: node-llama-cpp's models directory). */
  cacheDir?: string;
  /** Test hook: a Hugging Face endpoint other than huggingface.co (else HF_ENDPOINT). */
  hfEndpoint?: string;
  /** Where converted checkpoints go (default: checkpointCacheDir()). */
  checkpointCache?: string;
}

const FIELD = "FINETUNE_MODEL_NAME";

export async function resolveBaseModel(spec: string | undefined, opts: ResolveOptions = {}): Promise<ResolvedBaseModel> {
  const s = (spec ?? "").trim();
  if (s === "" || s === "tiny") return { kind: "tiny", spec: "tiny" };
  if (/^(hf:|huggingface:|https?:\/\/(huggingface\.co|hf\.co)\/)/.test(s)) return resolveHf(s, opts);
  const local = s.startsWith("~/") ? join(homedir(), s.slice(2)) : s;
  if (existsSync(local) && statSync(local).isDirectory()) return resolveCheckpoint(local, s, opts);
  if (s.endsWith(".gguf") || s.startsWith(".") || s.startsWith("/") || s.startsWith("~") || existsSync(s)) return resolveFile(s);
  const env = opts.env ?? process.env;
  const hub = parseHubName(s);
  const ollama = hub && s.includes("@") ? undefined : await resolveOllama(s, env);
  if (ollama) return ollama;
  // The store did not have it. "org/repo" with no tag is how Hugging Face names repositories (gpt2's is
  // openai-community/gpt2, all lowercase); an Ollama user's model is usually named with its tag.
  // A GPT-2-family name is refused by name, before a download of weights that could not be trained.
  const gpt2 = (await import("../hf/checkpoint.ts")).gpt2Refusal(s.split("@")[0]!);
  if (gpt2) throw new PipelineError("E_MODEL", `${s}: ${gpt2}`, { field: FIELD });
  if (hub) return resolveHub(s, hub, opts);
  const dirs = ollamaDirs(opts.env ?? process.env);
  throw new PipelineError("E_MODEL",
    `no Ollama model "${s}" in ${dirs.join(" or ")}; run \`ollama pull ${s}\` (or set OLLAMA_MODELS to your Ollama models directory), ` +
    `or set ${FIELD} to a .gguf path, an hf: URI, or "tiny"`, { field: FIELD });
}

async function resolveFile(s: string): Promise<ResolvedBaseModel> {
  const path = resolve(s.startsWith("~/") ? join(homedir(), s.slice(2)) : s);
  if (!existsSync(path)) throw new PipelineError("E_MODEL", `model file not found; check ${FIELD}`, { file: path, field: FIELD });
  if (!statSync(path).isFile()) throw new PipelineError("E_MODEL", `not a file; point ${FIELD} at a .gguf model file`, { file: path, field: FIELD });
  const f = await openGguf(path); // throws E_GGUF with the reason when it is not a usable GGUF
  await f.close();
  return { kind: "gguf", spec: s, path };
}

/**
 * A checkpoint folder: planned from its headers, refused before any conversion when preflight says no (so a
 * 7 GB folder is not converted to be rejected), then converted once into the checkpoint cache.
 */
async function resolveCheckpoint(dir: string, spec: string, opts: ResolveOptions, repo?: string): Promise<ResolvedBaseModel> {
  const { planCheckpoint } = await import("../hf/checkpoint.ts");
  const { checkpointGguf } = await import("../hf/convert.ts");
  const abs = resolve(dir);
  const plan = await planCheckpoint(abs, repo ? { repo } : {});
  const meta = Object.fromEntries(Object.entries(plan.metadata).map(([k, v]) => [k, plainValue(v)]));
  const verdict = checkSupported(meta, plan.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims })), { file: abs });
  if (!verdict.trainable) throw new PipelineError("E_MODEL", `checkpoint ${spec} (${plan.hfArch}) cannot be fine-tuned here: ${verdict.reason}`, { file: abs, field: FIELD });
  const r = await checkpointGguf(abs, { plan, ...(repo ? { repo } : {}), ...(opts.checkpointCache ? { cacheDir: opts.checkpointCache } : {}), env: opts.env ?? process.env });
  return { kind: "checkpoint", spec, path: r.path, checkpoint: { dir: abs, ...(repo ? { repo } : {}), hfArch: plan.hfArch, converted: r.converted } };
}

/** An error's message without its "file, field …: " prefix (the where is kept separately). */
function reasonText(e: PipelineError): string {
  const prefix = new PipelineError(e.code, "", e.where).message;
  return prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** Preferred GGUF of a GGUF-only repository's cached snapshot: the least lossy common type first. */
const GGUF_PREFERENCE = ["Q8_0", "F16", "BF16", "Q6_K", "Q5_K_M", "Q4_K_M"];

async function resolveHub(spec: string, name: HubName, opts: ResolveOptions): Promise<ResolvedBaseModel> {
  const { resolveHubName } = await import("../hf/hub.ts");
  const env = opts.env ?? process.env;
  const content = await resolveHubName(name, { env, ...(opts.hfEndpoint ? { endpoint: opts.hfEndpoint } : {}) }).catch((e: unknown) => {
    // "org/repo" is also how an Ollama user's model is named; the store did not have it either.
    if (e instanceof PipelineError && !spec.includes("@")) {
      throw new PipelineError(e.code, `${reasonText(e)}. If "${spec}" is an Ollama user's model, run \`ollama pull ${spec}\` first (it is not in ${ollamaDirs(env).join(" or ")})`, e.where, { cause: e });
    }
    throw e;
  });
  if (content.kind === "checkpoint") return resolveCheckpoint(content.dir, spec, opts, name.repo);
  const cached = content.dir;
  if (cached) {
    const pick = GGUF_PREFERENCE.map((q) => content.files.find((f) => f.toUpperCase().includes(q))).find(Boolean) ?? content.files[0]!;
    return resolveFile(join(cached, pick));
  }
  return resolveHf(`hf:${name.repo}`, opts);
}

/** OLLAMA_MODELS, else the per-user store, else the Linux service's store. */
export function ollamaDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.OLLAMA_MODELS) return [env.OLLAMA_MODELS];
  return [join(env.HOME ?? homedir(), ".ollama", "models"), "/usr/share/ollama/.ollama/models"];
}

/** "model", "model:tag", "ns/model:tag", "host/ns/model:tag" → the manifest path parts. */
export function parseOllamaName(name: string): { host: string; namespace: string; model: string; tag: string } | undefined {
  const m = /^(?:([\w.-]+(?::\d+)?)\/)?(?:([\w.-]+)\/)?([\w.-]+)(?::([\w.-]+))?$/.exec(name);
  if (!m) return undefined;
  let host: string | undefined = m[1], namespace: string | undefined = m[2];
  const model = m[3], tag = m[4];
  if (host && !namespace) { namespace = host; host = undefined; }
  return { host: host ?? "registry.ollama.ai", namespace: namespace ?? "library", model: model!, tag: tag ?? "latest" };
}

interface ManifestLayer { mediaType: string; digest: string; size?: number }

async function resolveOllama(name: string, env: NodeJS.ProcessEnv): Promise<ResolvedBaseModel | undefined> {
  const n = parseOllamaName(name);
  if (!n) return undefined;
  for (const dir of ollamaDirs(env)) {
    const modelDir = join(dir, "manifests", n.host, n.namespace, n.model);
    const manifestPath = join(modelDir, n.tag);
    if (!existsSync(manifestPath)) {
      if (existsSync(modelDir)) {
        const tags = await readdir(modelDir).catch(() => []);
        throw new PipelineError("E_MODEL", `Ollama has "${n.model}" but not the tag "${n.tag}" (have: ${tags.join(", ") || "none"}); run \`ollama pull ${name}\``, { file: modelDir, field: FIELD });
      }
      continue;
    }
    let manifest: { layers?: ManifestLayer[] };
    try {
      manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    } catch (e) {
      throw new PipelineError("E_MODEL", `unreadable Ollama manifest (${(e as Error).message}); re-pull the model with \`ollama pull ${name}\``, { file: manifestPath }, { cause: e });
    }
    const layers = manifest.layers ?? [];
    const blob = (l: ManifestLayer) => join(dir, "blobs", l.digest.replace(":", "-"));
    const model = layers.find((l) => l.mediaType === OLLAMA_LAYER.model);
    if (!model) throw new PipelineError("E_MODEL", `Ollama manifest has no model layer (${OLLAMA_LAYER.model}); is "${name}" a model?`, { file: manifestPath });
    const path = blob(model);
    if (!existsSync(path)) throw new PipelineError("E_MODEL", `Ollama model blob ${model.digest} is missing; re-pull with \`ollama pull ${name}\``, { file: path });
    if (model.size !== undefined && statSync(path).size !== model.size) {
      throw new PipelineError("E_MODEL", `Ollama model blob has ${statSync(path).size} bytes, the manifest says ${model.size}; re-pull with \`ollama pull ${name}\``, { file: path });
    }
    const adapters = layers.filter((l) => l.mediaType === OLLAMA_LAYER.adapter);
    if (adapters.length) {
      // Refused, not applied: the model Ollama runs is base + adapter, and training the bare base would give
      // a fine-tune of a different model with exit 0. Merging it first keeps one model from end to end.
      const files = adapters.map((a) => blob(a));
      throw new PipelineError("E_MODEL",
        `Ollama model "${name}" is a base model plus ${adapters.length === 1 ? "a LoRA adapter layer" : `${adapters.length} LoRA adapter layers`} (${adapters.map((a) => a.digest).join(", ")}); ` +
        `fine-tuning the base alone would drop ${adapters.length === 1 ? "it" : "them"}, so it is refused. Merge first and train on the result: ` +
        `\`llama-export-lora -m ${path} ${files.map((f) => `--lora ${f}`).join(" ")} -o merged.gguf\` then set ${FIELD}=merged.gguf ` +
        `(or pick the model the adapter was made for, without it)`, { file: manifestPath, field: FIELD });
    }
    const texts = async (mediaType: string): Promise<string[]> => {
      const out: string[] = [];
      for (const l of layers.filter((x) => x.mediaType === mediaType)) if (existsSync(blob(l))) out.push(await readFile(blob(l), "utf8"));
      return out;
    };
    const info: OllamaModelInfo = { manifest: manifestPath, license: await texts(OLLAMA_LAYER.license) };
    const [template] = await texts(OLLAMA_LAYER.template);
    if (template !== undefined) info.template = template;
    const [system] = await texts(OLLAMA_LAYER.system);
    if (system !== undefined) info.system = system;
    const [params] = await texts(OLLAMA_LAYER.params);
    if (params !== undefined) {
      try {
        info.params = JSON.parse(params);
      } catch (e) {
        throw new PipelineError("E_MODEL", `Ollama params layer is not JSON (${(e as Error).message}); re-pull with \`ollama pull ${name}\``, { file: manifestPath }, { cause: e });
      }
    }
    const projector = layers.find((l) => l.mediaType === OLLAMA_LAYER.projector);
    if (projector) {
      info.projector = blob(projector);
      log.warn(`Ollama model "${name}" has a vision projector layer; only its language model is fine-tuned and exported (the result is text-only)`);
    }
    const f = await openGguf(path);
    await f.close();
    return { kind: "ollama", spec: name, path, ollama: info };
  }
  return undefined;
}

async function resolveHf(uri: string, opts: ResolveOptions): Promise<ResolvedBaseModel> {
  const { resolveModelFile } = await import("node-llama-cpp");
  try {
    const path = await resolveModelFile(uri, {
      directory: opts.cacheDir, download: "auto", cli: false,
      ...(opts.hfEndpoint ? { endpoints: { huggingFace: opts.hfEndpoint } } : {}),
    });
    const f = await openGguf(path).catch((e: unknown) => e as Error); // a broken download must not pass as a model
    if (f instanceof Error) throw f;
    await f.close();
    return { kind: "hf", spec: uri, path };
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    const why = (e as Error).message;
    throw new PipelineError("E_MODEL",
      `cannot resolve ${uri}: ${why}. Without network access, download the GGUF elsewhere and set ${FIELD}=/path/to/model.gguf ` +
      `(or put it in ${opts.cacheDir ?? "node-llama-cpp's models directory (~/.node-llama-cpp/models)"}); or use an Ollama name after \`ollama pull\`, or "tiny"`,
      { field: FIELD }, { cause: e });
  }
}
