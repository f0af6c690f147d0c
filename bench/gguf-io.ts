// GGUF read/write MB/s beside a plain file copy of the same size, and Q8_0 quantize/dequantize MB/s.
// Run: node --import tsx bench/gguf-io.ts [MB]   (default 256 MB of f32 tensors; temp files removed)
// Every write goes to a path removed beforehand (untimed), every read returns fresh buffers, so the
// GGUF and plain rows do the same kind of work; each figure is the best of 3 runs (the box is shared).
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { openGguf } from "../src/gguf/reader.ts";
import { writeGguf } from "../src/gguf/writer.ts";
import { dequantize, quantize } from "../src/gguf/quant.ts";

const MB = Number(process.argv[2] ?? 256);
const dir = await mkdtemp(join(tmpdir(), "gguf-bench-"));
const tensorMB = 32;
const n = 4096 * Math.floor((tensorMB * 1e6) / 4 / 4096);
const count = Math.max(1, Math.round(MB / tensorMB));
const data = Array.from({ length: count }, (_, t) => new Float32Array(n).map((_, i) => Math.sin(i * 0.001 + t)));
const bytes = count * n * 4;

async function best(setup: () => Promise<unknown>, f: () => Promise<unknown>): Promise<number> {
  let s = Infinity;
  for (let i = 0; i < 3; i++) {
    await setup();
    const t0 = performance.now();
    await f();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return s;
}
const none = async () => {};
const rate = (s: number) => (bytes / 1e6 / s).toFixed(0);

try {
  const gguf = join(dir, "a.gguf"), gguf16 = join(dir, "a16.gguf"), plain = join(dir, "plain.bin"), copy = join(dir, "copy.bin");
  const tensors = data.map((d, i) => ({ name: `t${i}`, dims: [4096, n / 4096], type: "F32" as const, data: d }));
  const fresh = (p: string) => () => rm(p, { force: true });

  const plainWrite = await best(fresh(plain), async () => {
    const fh = await open(plain, "w");
    let pos = 0;
    for (const d of data) { await fh.write(new Uint8Array(d.buffer), 0, d.byteLength, pos); pos += d.byteLength; }
    await fh.close();
  });
  const plainRead = await best(none, async () => {
    const fh = await open(plain, "r");
    for (let i = 0; i < count; i++) await fh.read(new Uint8Array(n * 4), 0, n * 4, i * n * 4);
    await fh.close();
  });
  const streamCopy = await best(fresh(copy), () => pipeline(createReadStream(plain, { highWaterMark: 1 << 20 }), createWriteStream(copy)));
  const kernelCopy = await best(fresh(copy), () => copyFile(plain, copy));

  const w = await best(fresh(gguf), () => writeGguf(gguf, { metadata: { "general.architecture": "bench" }, tensors }));
  const readAll = (p: string) => async () => {
    const f = await openGguf(p);
    for (const t of f.tensors) await f.readTensorF32(t.name);
    await f.close();
  };
  const r = await best(none, readAll(gguf));
  const w16 = await best(fresh(gguf16), () => writeGguf(gguf16, { metadata: {}, tensors: tensors.map((t) => ({ ...t, type: "F16" as const })) }));
  const r16 = await best(none, readAll(gguf16));

  const x = data[0]!;
  const q = quantize("Q8_0", x);
  const out = new Float32Array(x.length);
  const qs = await best(none, async () => quantize("Q8_0", x, q));
  const ds = await best(none, async () => dequantize("Q8_0", q, x.length, out));

  const rows: string[][] = [
    ["plain write (same bytes, fs write)", rate(plainWrite), "—"],
    ["plain read (fresh buffers)", rate(plainRead), "—"],
    ["file copy: stream (read → write)", rate(streamCopy), "—"],
    ["file copy: copyFile (kernel)", rate(kernelCopy), "—"],
    ["GGUF write f32", rate(w), `${(streamCopy / w).toFixed(2)}× stream copy, ${(kernelCopy / w).toFixed(2)}× copyFile, ${(plainWrite / w).toFixed(2)}× plain write`],
    ["GGUF read f32 → Float32Array", rate(r), `${(streamCopy / r).toFixed(2)}× stream copy, ${(kernelCopy / r).toFixed(2)}× copyFile, ${(plainRead / r).toFixed(2)}× plain read`],
    ["GGUF write f16 (MB of f32 in)", rate(w16), `${(streamCopy / w16).toFixed(2)}× stream copy`],
    ["GGUF read f16 → f32 (MB of f32 out)", rate(r16), `${(streamCopy / r16).toFixed(2)}× stream copy`],
    ["Q8_0 quantize (MB of f32 in)", (x.byteLength / 1e6 / qs).toFixed(0), ""],
    ["Q8_0 dequantize (MB of f32 out)", (x.byteLength / 1e6 / ds).toFixed(0), ""],
  ];
  console.log(`GGUF I/O, ${(bytes / 1e6).toFixed(0)} MB of f32 tensors (${count} × ${tensorMB} MB), best of 3\n`);
  console.log("| operation | MB/s | relative |\n|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
