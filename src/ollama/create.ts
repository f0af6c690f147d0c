// POST /api/create in the current shape (files/adapters map filename → blob digest, template, parameters, system),
// reading the streamed NDJSON status lines until "success" or an error.
import { PipelineError } from "../errors.ts";

export interface CreateModelRequest {
  model: string;
  /** Base model by Ollama name, when not given as files. */
  from?: string;
  files?: Record<string, string>;
  adapters?: Record<string, string>;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  /** One text or several, as Ollama's API takes it. */
  license?: string | string[];
}

export interface CreateOptions { baseUrl: string; fetch?: typeof fetch; signal?: AbortSignal; onStatus?: (status: string) => void }

export async function createModel(req: CreateModelRequest, o: CreateOptions): Promise<string[]> {
  const res = await (o.fetch ?? fetch)(`${o.baseUrl}/api/create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...req, stream: true }),
    signal: o.signal,
  });
  if (!res.ok || !res.body) {
    const text = await res.text().catch(() => "");
    throw new PipelineError("E_EXPORT", `Ollama at ${o.baseUrl} could not create ${req.model}: HTTP ${res.status} ${errorText(text)}`);
  }
  const statuses: string[] = [];
  let buffered = "";
  const decoder = new TextDecoder();
  const handle = (line: string) => {
    if (!line.trim()) return;
    let msg: { status?: string; error?: string };
    try { msg = JSON.parse(line); } catch { throw new PipelineError("E_EXPORT", `Ollama sent a status line that is not JSON: ${line.slice(0, 200)}`); }
    if (msg.error) throw new PipelineError("E_EXPORT", `Ollama could not create ${req.model}: ${msg.error}`);
    if (msg.status) { statuses.push(msg.status); o.onStatus?.(msg.status); }
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) { handle(buffered.slice(0, nl)); buffered = buffered.slice(nl + 1); }
  }
  handle(buffered + decoder.decode());
  if (statuses.at(-1) !== "success") {
    throw new PipelineError("E_EXPORT", `Ollama ended the create of ${req.model} without "success" (last status: ${statuses.at(-1) ?? "none"})`);
  }
  return statuses;
}

function errorText(body: string): string {
  try { return (JSON.parse(body) as { error?: string }).error ?? body.slice(0, 200); } catch { return body.slice(0, 200); }
}
