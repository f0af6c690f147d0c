// Hugging Face Hub names (`org/repo[@revision]`) resolved the way huggingface_hub does: first the local cache
// (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; models--org--repo/refs/<revision> holds the
// commit, snapshots/<commit>/ the files), so a cache filled by `hf download`, transformers or an earlier run works
// with no network; then, unless HF_HUB_OFFLINE=1, a download of just the files a checkpoint needs with
// @huggingface/hub into that same cache (HF_TOKEN for gated and private repositories; HF_ENDPOINT for a mirror).
// https://huggingface.co/docs/huggingface_hub/guides/manage-cache , …/package_reference/environment_variables
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";

const FIELD = "FINETUNE_MODEL_NAME";

export interface HubName { repo: string; revision: string }

/**
 * "org/repo" or "org/repo@revision" (branch, tag or commit), else undefined. Both parts start with a letter or digit,
 * as the Hub's names do: `./Qwen2.5-0.5B-Instruct` is a path (one not there), not the repository "./Qwen…".
 */
export function parseHubName(s: string): HubName | undefined {
  const m = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/.exec(s);
  if (!m || m[1]!.includes("..")) return undefined;
  return { repo: m[1]!, revision: m[2] ?? "main" };
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

const isOffline = (env: NodeJS.ProcessEnv) => ["1", "true", "yes", "on"].includes(String(env.HF_HUB_OFFLINE ?? "").toLowerCase());
const tokenOf = (env: NodeJS.ProcessEnv) => env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;

/** The snapshot folder of a cached revision, or undefined when the cache does not hold it. */
export function cachedSnapshot(cache: string, name: HubName): string | undefined {
  const repoDir = join(cache, `models--${name.repo.replace("/", "--")}`);
  let commit = /^[0-9a-f]{40}$/.test(name.revision) ? name.revision : undefined;
  const ref = join(repoDir, "refs", name.revision);
  if (!commit && existsSync(ref)) commit = readFileSync(ref, "utf8").trim();
  if (!commit) return undefined;
  const snap = join(repoDir, "snapshots", commit);
  return existsSync(snap) ? snap : undefined;
}

/** What a repository (or a cached snapshot) holds, for choosing how to use it. */
export type HubContent = { kind: "checkpoint"; dir: string } | { kind: "gguf"; files: string[]; /** The cached snapshot holding them. */ dir?: string };

const CHECKPOINT_JSON = ["config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json", "model.safetensors.index.json", "generation_config.json"];

/**
 * The files a checkpoint base needs from a repository's file list: config, tokenizer and chat template, and the
 * weights the converter reads — the index's shards (known once the index is fetched: `index`), else model*.safetensors
 * (never consolidated.safetensors, Mistral's second copy of the same weights, nor sub-folders' other formats).
 */
export function neededFiles(files: string[], index?: { weight_map?: Record<string, string> }): string[] {
  const json = files.filter((f) => CHECKPOINT_JSON.includes(f));
  const shards = index?.weight_map ? [...new Set(Object.values(index.weight_map))] : files.filter((f) => !f.includes("/") && f.startsWith("model") && f.endsWith(".safetensors"));
  return [...json, ...shards.filter((f) => files.includes(f)).sort()];
}

function contentOf(files: string[], dir: string): HubContent | undefined {
  if (files.includes("config.json") && files.some((f) => f.startsWith("model") && f.endsWith(".safetensors"))) return { kind: "checkpoint", dir };
  const gguf = files.filter((f) => f.endsWith(".gguf"));
  if (gguf.length) return { kind: "gguf", files: gguf, ...(dir ? { dir } : {}) };
  return undefined;
}

export interface HubOptions { env?: NodeJS.ProcessEnv; endpoint?: string }

/** `org/repo[@revision]` → a checkpoint folder in the HF cache, or the GGUF files of a GGUF-only repository. */
export async function resolveHubName(name: HubName, o: HubOptions = {}): Promise<HubContent> {
  const env = o.env ?? process.env;
  const cache = hubCacheDir(env);
  const spec = `${name.repo}${name.revision === "main" ? "" : `@${name.revision}`}`;
  const snap = cachedSnapshot(cache, name);
  if (snap) {
    const c = contentOf(readdirSync(snap), snap);
    if (c) return c;
  }
  const fetchAdvice = `fetch it on a machine with network with \`hf download ${name.repo}${name.revision === "main" ? "" : ` --revision ${name.revision}`} --include "*.json" "*.safetensors"\` ` +
    `(or transformers' from_pretrained) and copy its cache folder models--${name.repo.replace("/", "--")} into ${cache} (HF_HUB_CACHE / HF_HOME choose the cache)`;
  if (isOffline(env)) {
    throw new PipelineError("E_MODEL", `"${spec}" is not in the Hugging Face cache (${cache}) and HF_HUB_OFFLINE=1 forbids downloading it; ${fetchAdvice}, or unset HF_HUB_OFFLINE`, { field: FIELD });
  }
  const hub = await import("@huggingface/hub");
  const hubUrl = (o.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const accessToken = tokenOf(env);
  const creds = { ...(accessToken ? { accessToken } : {}), hubUrl };
  const explain = (e: unknown): PipelineError => {
    const status = (e as { statusCode?: number }).statusCode;
    const msg = (e as Error).message ?? String(e);
    if (status === 401 || status === 403) {
      return new PipelineError("E_MODEL", `"${name.repo}" is gated or private (${status}: ${msg.slice(0, 200)}): accept its license on ${hubUrl}/${name.repo} while logged in, ` +
        `then set HF_TOKEN to an access token of that account${accessToken ? " (the HF_TOKEN set now is not allowed to read it)" : ""}`, { field: FIELD }, { cause: e });
    }
    if (status === 404) return new PipelineError("E_MODEL", `no Hugging Face model "${name.repo}"${name.revision === "main" ? "" : ` at revision ${name.revision}`} on ${hubUrl}; check the name (org/repo)`, { field: FIELD }, { cause: e });
    return new PipelineError("E_MODEL", `cannot reach ${hubUrl} to download "${spec}" (${msg.slice(0, 200)}); the run is offline: ${fetchAdvice}`, { field: FIELD }, { cause: e });
  };
  let commit: string;
  const files: string[] = [];
  try {
    const info = await hub.modelInfo({ name: name.repo, revision: name.revision, additionalFields: ["sha"], ...creds });
    commit = String((info as { sha?: string }).sha ?? name.revision);
    for await (const f of hub.listFiles({ repo: name.repo, revision: commit, recursive: true, ...creds })) if (f.type === "file") files.push(f.path);
  } catch (e) {
    throw explain(e);
  }
  const want = contentOf(files, "");
  if (!want) throw new PipelineError("E_MODEL", `"${spec}" holds neither a safetensors checkpoint (config.json + *.safetensors) nor GGUF files (${files.slice(0, 6).join(", ")}${files.length > 6 ? " …" : ""})`, { field: FIELD });
  if (want.kind === "gguf") return want;
  // The library announces each file with console.debug, which goes to stdout: keep stdout for data.
  const debug = console.debug;
  console.debug = () => {};
  try {
    const get = (path: string) => hub.downloadFileToCacheDir({ repo: name.repo, path, revision: commit, cacheDir: cache, ...creds });
    // The small files first: the index says which shards the weights are.
    const json = neededFiles(files).filter((f) => f.endsWith(".json") || f.endsWith(".jinja"));
    log.info(`downloading ${spec} into ${cache}`);
    for (const path of json) await get(path);
    let index: { weight_map?: Record<string, string> } | undefined;
    if (json.includes("model.safetensors.index.json")) {
      const snap = join(cache, `models--${name.repo.replace("/", "--")}`, "snapshots", commit);
      index = JSON.parse(readFileSync(join(snap, "model.safetensors.index.json"), "utf8")) as { weight_map?: Record<string, string> };
    }
    for (const path of neededFiles(files, index).filter((f) => !json.includes(f))) await get(path);
  } catch (e) {
    throw e instanceof PipelineError ? e : explain(e);
  } finally {
    console.debug = debug;
  }
  // downloadFileToCacheDir writes refs only through snapshotDownload; write the ref so the next run finds it offline.
  const repoDir = join(cache, `models--${name.repo.replace("/", "--")}`);
  if (commit !== name.revision) {
    mkdirSync(join(repoDir, "refs", ...name.revision.split("/").slice(0, -1)), { recursive: true });
    writeFileSync(join(repoDir, "refs", name.revision), commit);
  }
  return { kind: "checkpoint", dir: join(repoDir, "snapshots", commit) };
}
