// Deterministic corpus of born-digital "technical manual" PDFs for the PDF benchmarks, shaped like issue 19's
// (270 real manuals, 8,263 pages): mostly short documents plus a few over 1,000 pages. pdfkit with embedded
// TrueType subsets (Liberation Sans, shipped in pdfjs-dist), a running title, headings, body paragraphs, a
// footer "Page n of N". Written once under /tmp and reused while its marker file says it is complete.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import PDFDocument from "pdfkit";

const fonts = join(dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json")), "standard_fonts");
const REGULAR = join(fonts, "LiberationSans-Regular.ttf");
const BOLD = join(fonts, "LiberationSans-Bold.ttf");

const WORDS = ("the a of to and in is for on with as by this it from be are at or which interface configuration " +
  "router packet address table default value parameter firmware module controller register voltage " +
  "temperature sensor network protocol authentication certificate encryption bandwidth latency throughput " +
  "specification installation maintenance procedure warning caution connector terminal cable port switch").split(" ");

export interface CorpusShape { name: string; small: number; smallPages: [number, number]; big: number[] }
export const FULL: CorpusShape = { name: "full", small: 266, smallPages: [4, 36], big: [1100, 1300, 1600, 2000] };
export const QUICK: CorpusShape = { name: "quick", small: 40, smallPages: [4, 30], big: [1100] };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function paragraph(rnd: () => number): string {
  const sentences: string[] = [];
  for (let i = 0, n = 2 + Math.floor(rnd() * 5); i < n; i++) {
    const w = Array.from({ length: 8 + Math.floor(rnd() * 16) }, () => WORDS[Math.floor(rnd() * WORDS.length)]!).join(" ");
    sentences.push(w[0]!.toUpperCase() + w.slice(1) + ".");
  }
  return sentences.join(" ");
}

/** Writes the PDF; resolves to its page count (pdfkit adds a page when a paragraph runs past the bottom). */
function makePdf(path: string, pages: number, seed: number): Promise<number> {
  const rnd = rng(seed);
  const doc = new PDFDocument({ size: "A4", margin: 60, autoFirstPage: false, bufferPages: false });
  let added = 0;
  doc.on("pageAdded", () => { added++; });
  const parts: Buffer[] = [];
  doc.on("data", (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => { doc.on("end", resolve); doc.on("error", reject); });
  const title = `Model ${seed} Controller Manual`;
  for (let p = 1; p <= pages; p++) {
    doc.addPage();
    doc.font(REGULAR).fontSize(8).text(title, 60, 30, { lineBreak: false });
    doc.font(BOLD).fontSize(13).text(`${p}. ${paragraph(rnd).split(".")[0]!.slice(0, 60)}`, 60, 70);
    doc.moveDown(0.5).font(REGULAR).fontSize(10);
    // About a page of body text: stop before the footer area.
    while (doc.y < 700) doc.text(paragraph(rnd), { align: "justify" }).moveDown(0.5);
    doc.font(REGULAR).fontSize(8).text(`Page ${p} of ${pages}`, 60, 800, { lineBreak: false });
  }
  doc.end();
  return done.then(() => { writeFileSync(path, Buffer.concat(parts)); return added; });
}

/** The corpus folder (made now if missing) and its files' page counts. */
export async function ensurePdfCorpus(shape: CorpusShape, root = "/tmp/d2m-pdf-corpus"): Promise<{ dir: string; files: number; pages: number }> {
  const dir = join(root, shape.name);
  const marker = join(dir, ".complete.v2");
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, "utf8"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rnd = rng(19);
  const counts = [
    ...Array.from({ length: shape.small }, () => shape.smallPages[0] + Math.floor(rnd() * (shape.smallPages[1] - shape.smallPages[0] + 1))),
    ...shape.big,
  ];
  let pages = 0;
  for (const [i, n] of counts.entries()) {
    // Big manuals spread through the folder, as in a real one (not all at the end).
    const name = `manual-${String((i * 7919) % counts.length).padStart(4, "0")}.pdf`;
    pages += await makePdf(join(dir, name), n, i + 1);
    if ((i + 1) % 50 === 0) process.stderr.write(`corpus ${shape.name}: ${i + 1}/${counts.length} files\n`);
  }
  const info = { dir, files: counts.length, pages };
  writeFileSync(marker, JSON.stringify(info));
  return info;
}
