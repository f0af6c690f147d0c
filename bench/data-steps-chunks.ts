// The bench corpus of the data-step benches: n distinct ~600-character chunks, written as a stream.
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { chunkId, docId, type ChunkRecord } from "../src/records.ts";

export async function writeBenchChunks(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  const doc = docId("bench.md", "bench");
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const text = `Section ${i}: The setting number ${i} controls how the pipeline treats part ${i} of every run. ` +
      `It is read once at start-up from config.env or from the environment, and a flag on the command line wins over both. ` +
      `To change setting ${i}, pass the matching flag or set its key in config.env; the step that uses it records the value in its report. ` +
      `Reports list every setting with its origin, so a run can be repeated exactly.`;
    const c: ChunkRecord = { type: "chunk", id: chunkId(doc, i, text), docId: doc, source: "bench.md", seq: i, start: offset, end: offset + text.length, text };
    offset += text.length;
    if (!out.write(JSON.stringify(c) + "\n")) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
