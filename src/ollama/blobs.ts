// Content-addressed blobs on an Ollama server: HEAD /api/blobs/sha256:<hex> to ask, POST to upload (streamed, never in memory).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PipelineError } from "../errors.ts";

/** "sha256:<hex>" of a file, read as a stream. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest("hex")}`;
}

export interface BlobOptions { baseUrl: string; fetch?: typeof fetch; signal?: AbortSignal }

export async function hasBlob(digest: string, o: BlobOptions): Promise<boolean> {
  const res = await (o.fetch ?? fetch)(`${o.baseUrl}/api/blobs/${digest}`, { method: "HEAD", signal: o.signal });
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new PipelineError("E_EXPORT", `Ollama at ${o.baseUrl} answered HEAD /api/blobs with HTTP ${res.status}`);
}

/** Upload a file unless the server already has it; returns its digest. */
export async function pushBlob(path: string, o: BlobOptions & { digest?: string }): Promise<{ digest: string; uploaded: boolean; bytes: number }> {
  const digest = o.digest ?? (await fileDigest(path));
  const { size } = await stat(path);
  if (await hasBlob(digest, o)) return { digest, uploaded: false, bytes: size };
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  const res = await (o.fetch ?? fetch)(`${o.baseUrl}/api/blobs/${digest}`, {
    method: "POST",
    body,
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    signal: o.signal,
    duplex: "half",
  } as RequestInit);
  if (res.status !== 201 && res.status !== 200) {
    const text = await res.text().catch(() => "");
    throw new PipelineError("E_EXPORT", `Ollama at ${o.baseUrl} refused blob ${digest} of ${path}: HTTP ${res.status} ${text.slice(0, 200)}`, { file: path });
  }
  return { digest, uploaded: true, bytes: size };
}
