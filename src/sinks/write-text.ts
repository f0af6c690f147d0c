// A small awaited writer over a file or stream: respects backpressure, renames into place when done.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Writable } from "node:stream";

export interface TextWriter {
  write(text: string): Promise<void>;
  /** Finish: a file written to `<path>.partial` replaces `path` only now. */
  close(): Promise<void>;
  abort(): Promise<void>;
}

export async function fileWriter(path: string): Promise<TextWriter> {
  await mkdir(dirname(path), { recursive: true });
  const work = `${path}.partial`;
  const out = createWriteStream(work);
  await once(out, "open");
  return {
    async write(text) { if (!out.write(text)) await once(out, "drain"); },
    async close() { out.end(); await once(out, "finish"); await rename(work, path); },
    async abort() { out.destroy(); await rm(work, { force: true }); },
  };
}

export function streamWriter(stream: Writable): TextWriter {
  return {
    async write(text) { if (!stream.write(text)) await once(stream, "drain"); },
    async close() {},
    async abort() {},
  };
}
