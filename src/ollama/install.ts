// Puts an exported model into a running Ollama: upload the GGUF blobs, then /api/create with the Modelfile's
// template, stops, num_ctx and system. When no server answers, the caller prints the `ollama create` command instead.
import { basename } from "node:path";
import { pushBlob } from "./blobs.ts";
import { createModel, type CreateModelRequest } from "./create.ts";

export interface InstallOptions {
  baseUrl: string;
  name: string;
  /** The GGUF to run: the merged model, or the base model when `adapterPath` is given. */
  modelPath?: string;
  /** An Ollama model name to build on instead of a file (adapter variant on a model Ollama already has). */
  from?: string;
  adapterPath?: string;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  license?: string[];
  fetch?: typeof fetch;
  onStatus?: (status: string) => void;
}

/** Is an Ollama server answering at baseUrl? A short timeout: absence is the common, offline case. */
export async function ollamaReachable(baseUrl: string, o: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<string | undefined> {
  try {
    const res = await (o.fetch ?? fetch)(`${baseUrl}/api/version`, { signal: AbortSignal.timeout(o.timeoutMs ?? 1500) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { version?: string };
    return body.version ?? "unknown";
  } catch {
    return undefined;
  }
}

export async function installInOllama(o: InstallOptions): Promise<{ request: CreateModelRequest; statuses: string[] }> {
  const net = { baseUrl: o.baseUrl, fetch: o.fetch };
  const request: CreateModelRequest = { model: o.name };
  if (o.modelPath) {
    const blob = await pushBlob(o.modelPath, net);
    o.onStatus?.(`${blob.uploaded ? "uploaded" : "already there"}: ${basename(o.modelPath)} ${blob.digest}`);
    request.files = { [basename(o.modelPath)]: blob.digest };
  } else if (o.from) {
    request.from = o.from;
  }
  if (o.adapterPath) {
    const blob = await pushBlob(o.adapterPath, net);
    o.onStatus?.(`${blob.uploaded ? "uploaded" : "already there"}: ${basename(o.adapterPath)} ${blob.digest}`);
    request.adapters = { [basename(o.adapterPath)]: blob.digest };
  }
  if (o.template !== undefined) request.template = o.template;
  if (o.system) request.system = o.system;
  if (o.parameters && Object.keys(o.parameters).length) request.parameters = o.parameters;
  if (o.license?.length) request.license = o.license;
  const statuses = await createModel(request, { ...net, onStatus: o.onStatus });
  return { request, statuses };
}
