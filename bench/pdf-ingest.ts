// Claim: PDF ingest with 2 worker threads is no slower (pages/s) than single-process `pdftotext`
// (poppler-utils) on the same PDFs, measured in one run. Run: node --import tsx bench/pdf-ingest.ts [files=24] [pages=20]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import PDFDocument from "pdfkit";
import type { DocRecord } from "../src/records.ts";
import { asTransform } from "../src/streams/as-transform.ts";
import { ingester } from "../src/transforms/ingest.ts";

const files = Number(process.argv[2] ?? 24);
const pages = Number(process.argv[3] ?? 20);
const dir = join(import.meta.dirname, "out", `pdfs-${files}x${pages}`);

function page(seed: number): string {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const words = "the model reads each page of the document and the pipeline keeps order while workers parse text in parallel".split(" ");
  const paras: string[] = [];
  for (let p = 0; p < 6; p++) paras.push(Array.from({ length: 70 }, () => words[Math.floor(rnd() * words.length)]).join(" ") + ".");
  return paras.join("\n\n");
}

async function makePdf(path: string, seed: number): Promise<void> {
  const doc = new PDFDocument({ size: "A4", margin: 50 });
  const parts: Buffer[] = [];
  doc.on("data", (b: Buffer) => parts.push(b));
  const done = new Promise<void>((r) => doc.on("end", () => r()));
  for (let i = 0; i < pages; i++) { if (i) doc.addPage(); doc.fontSize(10).text(page(seed * 1000 + i)); }
  doc.end();
  await done;
  writeFileSync(path, Buffer.concat(parts));
}

mkdirSync(dir, { recursive: true });
const paths = Array.from({ length: files }, (_, i) => join(dir, `doc-${String(i).padStart(3, "0")}.pdf`));
for (const [i, p] of paths.entries()) if (!existsSync(p)) await makePdf(p, i + 1);
const totalPages = files * pages;

// pdftotext, one process per file, one after another (single-process baseline).
// CPU seconds (user+sys) are reported too: on a shared, loaded box they compare work done, not luck.
let popplerCpu = 0;
const t = performance.now();
for (const p of paths) {
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", "pdftotext", "-enc", "UTF-8", p, "/dev/null"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pdftotext failed (apt-get install -y poppler-utils): ${r.stderr}`);
  const [u, sy] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number) as [number, number];
  popplerCpu += u + sy;
}
const popplerSec = (performance.now() - t) / 1000;

async function ours(workers: number): Promise<{ sec: number; cpu: number; warmupSec: number; chars: number }> {
  const ing = ingester({ pdfWorkers: workers });
  // Start the workers (pdf.js load) first, so the figure is parse speed; the start-up is reported apart.
  let start = performance.now();
  await Promise.all(Array.from({ length: workers }, (_, i) => ing.stage(paths[i % paths.length]!, { index: 0, signal: new AbortController().signal })));
  const warmupSec = (performance.now() - start) / 1000;
  let chars = 0;
  const cpu0 = process.cpuUsage(); // includes the worker threads
  start = performance.now();
  await pipeline(Readable.from(paths), asTransform(ing.stage, { name: "ingest", concurrency: workers * 2 }), async (src: AsyncIterable<DocRecord>) => {
    for await (const d of src) chars += d.text.length;
  });
  const sec = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  await ing.close();
  return { sec, cpu: (used.user + used.system) / 1e6, warmupSec, chars };
}
const load = loadavg()[0]!;
const one = await ours(1);
const two = await ours(2);

console.log(`| PDFs | pdftotext (1 process per file, in turn) | ours, 1 worker | ours, 2 workers | 2 workers ÷ pdftotext (wall) | pages per CPU-second: pdftotext / ours | worker start-up | load avg at start |`);
console.log(`|---|---|---|---|---|---|---|---|`);
const rate = (s: number) => `${(totalPages / s).toFixed(0)} pages/s (${s.toFixed(1)} s)`;
console.log(`| ${files} × ${pages} pages | ${rate(popplerSec)} | ${rate(one.sec)} | ${rate(two.sec)} | ${(popplerSec / two.sec).toFixed(2)}× | ${(totalPages / popplerCpu).toFixed(0)} / ${(totalPages / two.cpu).toFixed(0)} | ${two.warmupSec.toFixed(1)} s | ${load.toFixed(1)} |`);
console.log(`(text extracted: ${two.chars} chars by us)`);
