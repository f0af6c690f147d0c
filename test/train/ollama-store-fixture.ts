// An Ollama model store laid out on disk as `ollama pull` leaves it (manifest → layers → content-addressed
// blobs), around a GGUF our own writer made: no Ollama server or download needed.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface StoreLayer { mediaType: string; digest: string; size: number }

export interface StoreOptions {
  template?: string;
  params?: object;
  system?: string;
  /** One license layer per text (Ollama keeps each LICENSE as its own layer). */
  license?: string[];
  /** Files laid out as adapter / projector layers. */
  adapter?: string;
  projector?: string;
}

/** Writes the manifest for host/ns/model:tag under `root`: the model, template and params layers, and any others asked for. */
export function layOutOllamaStore(root: string, modelPath: string, host: string, ns: string, model: string, tag: string, opts: StoreOptions = {}): StoreLayer[] {
  mkdirSync(join(root, "blobs"), { recursive: true });
  const put = (bytes: Buffer, mediaType: string): StoreLayer => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(root, "blobs", `sha256-${hex}`), bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };
  const layers = [
    put(readFileSync(modelPath), "application/vnd.ollama.image.model"),
    put(Buffer.from(opts.template ?? "{{ .Prompt }}"), "application/vnd.ollama.image.template"),
    put(Buffer.from(JSON.stringify(opts.params ?? { stop: ["<|im_end|>"] })), "application/vnd.ollama.image.params"),
    ...(opts.system !== undefined ? [put(Buffer.from(opts.system), "application/vnd.ollama.image.system")] : []),
    ...(opts.license ?? []).map((text) => put(Buffer.from(text), "application/vnd.ollama.image.license")),
    ...(opts.adapter ? [put(readFileSync(opts.adapter), "application/vnd.ollama.image.adapter")] : []),
    ...(opts.projector ? [put(readFileSync(opts.projector), "application/vnd.ollama.image.projector")] : []),
  ];
  const config = put(Buffer.from("{}"), "application/vnd.docker.container.image.v1+json");
  mkdirSync(join(root, "manifests", host, ns, model), { recursive: true });
  writeFileSync(join(root, "manifests", host, ns, model, tag), JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config, layers }));
  return layers;
}

/** The blob file of a layer. */
export function blobPath(root: string, layer: StoreLayer): string {
  return join(root, "blobs", layer.digest.replace(":", "-"));
}
