// Both PDF engines (issue 19 § 1) on generated PDFs whose text is known: the same words in the same order, pages and
// columns in reading order, ligatures as letters, line-end hyphenation joined only into words of the document,
// chunk offsets exact against the cleaned text; encrypted, corrupt, fake and image-only PDFs handled alike; pages
// streamed in batches from recycled workers.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import type { ChunkRecord, DocRecord } from "../../src/records.ts";
import { chunker } from "../../src/transforms/chunk.ts";
import type { Cleanup } from "../../src/transforms/clean-text.ts";
import { ingester } from "../../src/transforms/ingest.ts";
import { PDF_ENGINES, PdfPool, type PdfEngine } from "../../src/transforms/pdf-pool.ts";
import { makeCorruptPdf, makeImageOnlyPdf, makePdf, pdfBuffer } from "../fixtures/documents/pdf.ts";

const dir = mkdtempSync(join(tmpdir(), "d2m-pdf-engines-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const signal = new AbortController().signal;
// A TrueType font with ﬁ/ﬂ glyphs that ships with pdf-parse's pdf.js (no system font needed).
const TTF = join(dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json")), "standard_fonts", "LiberationSans-Regular.ttf");

let files = 0;
async function read(engine: PdfEngine, pdf: Buffer, clean?: ReadonlySet<Cleanup>) {
  const file = join(dir, `doc-${files++}.pdf`);
  writeFileSync(file, pdf);
  const warnings: string[] = [];
  const ing = ingester({ pdfEngine: engine, clean, warn: (m) => warnings.push(m) });
  try {
    const docs = (await ing.stage(file, { index: 0, signal })) as DocRecord[] | null;
    return { doc: docs?.[0], warnings, stats: ing.stats };
  } finally {
    await ing.close();
  }
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);
const numbered = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");

for (const engine of PDF_ENGINES) {
  test(`${engine}: every word of a wrapped multi-page text, in order, pages in order`, async () => {
    const pages = [numbered("alpha", 180), numbered("beta", 150), "Gamma page: the router reads its configuration at start."];
    const { doc, warnings } = await read(engine, await makePdf(pages));
    assert.deepEqual(warnings, []);
    assert.deepEqual(words(doc!.text), words(pages.join(" ")));
    assert.equal(doc!.meta?.pages, 3);
  });

  test(`${engine}: two columns come out column by column; text drawn lower but written first stays first`, async () => {
    const pdf = await pdfBuffer((d) => {
      d.fontSize(11).text(numbered("left", 40), 50, 100, { width: 200 });
      d.text(numbered("right", 40), 320, 100, { width: 200 });
    });
    const { doc } = await read(engine, pdf);
    assert.deepEqual(words(doc!.text), [...words(numbered("left", 40)), ...words(numbered("right", 40))]);
  });

  test(`${engine}: ligatures come out as letters`, async () => {
    const pdf = await pdfBuffer((d) => { d.font(TTF).fontSize(12).text("The \uFB01le will \uFB02ow into the \uFB01nal \uFB02oor plan."); });
    const { doc } = await read(engine, pdf);
    assert.equal(doc!.text, "The file will flow into the final floor plan.");
    const raw = await read(engine, pdf, new Set());
    assert.doesNotMatch(raw.doc!.text, /[\uFB00-\uFB06\uFFFE]/u, "no ligature code point or engine marker left even uncleaned");
  });

  test(`${engine}: a line-end hyphen is joined into a word of the document, a real compound keeps it`, async () => {
    const text = "The specification is short.\nRead the specifi-\ncation twice; a long-\nterm plan beats a long-term hope.";
    const { doc, stats } = await read(engine, await makePdf([text]));
    assert.equal(doc!.text, "The specification is short.\nRead the specification twice; a long-\nterm plan beats a long-term hope.");
    assert.equal(stats.cleaned.hyphenJoins, 1);
    const raw = await read(engine, await makePdf([text]), new Set());
    assert.equal(raw.doc!.text, text, "--clean none: the page as laid out, hyphens and line breaks where they stood");
  });

  test(`${engine}: running headers and page numbers dropped, chunk offsets exact against the cleaned text`, async () => {
    const body = (n: number) => `Section ${n}. ${numbered(`s${n}w`, 120)}\nIts configu-\nration is read at start; the configuration file lives in /etc.`;
    const { doc, stats } = await read(engine, await makePdf([1, 2, 3, 4].map((n) => `Network Guide\n${body(n)}\nPage ${n} of 4`)));
    assert.doesNotMatch(doc!.text, /Network Guide|Page \d of 4|configu-/);
    assert.equal(stats.cleaned.hyphenJoins, 4);
    assert.equal(stats.cleaned.headerLines, 8);
    const chunks: ChunkRecord[] = [];
    for await (const c of (await chunker({ size: 300, overlap: 40 })(doc!, { index: 0, signal })) as AsyncIterable<ChunkRecord>) chunks.push(c);
    assert.ok(chunks.length > 5);
    for (const c of chunks) assert.equal(doc!.text.slice(c.start, c.end), c.text);
  });

  test(`${engine}: encrypted, truncated, fake and image-only PDFs: named, counted, nothing throws`, async () => {
    const locked = await read(engine, await makePdf(["Secret"], { userPassword: "hunter2" }));
    assert.equal(locked.doc, undefined);
    assert.match(locked.warnings.join("\n"), /PDF is encrypted \(password-protected\); decrypt it first.*; skipped/);
    const broken = await read(engine, await makeCorruptPdf());
    assert.equal(broken.doc, undefined);
    assert.match(broken.warnings.join("\n"), /PDF is corrupt or truncated .*; skipped/);
    const fake = await read(engine, Buffer.from("%PDF-1.7\nnot really a pdf at all\n"));
    assert.equal(fake.doc, undefined);
    assert.match(fake.warnings.join("\n"), /PDF is corrupt or truncated/);
    assert.equal(broken.stats.failed + locked.stats.failed + fake.stats.failed, 3);
    const scan = await read(engine, await makeImageOnlyPdf());
    assert.equal(scan.doc!.text, "");
    assert.equal(scan.doc!.meta?.pages, 2);
    assert.match(scan.warnings.join("\n"), /PDF has no text layer \(scanned images\?\); run OCR first/);
  });

  test(`${engine}: pages arrive in batches in order; workers are recycled; leaving early frees the worker`, async () => {
    const pool = new PdfPool({ engine, size: 1, batchPages: 2, credit: 1, recycleDocs: 2 });
    try {
      const pdf = await makePdf(Array.from({ length: 7 }, (_, i) => `page number ${i}`));
      for (let round = 0; round < 3; round++) {
        const batches: string[][] = [];
        const it = pool.pages(pdf);
        let step = await it.next();
        for (; !step.done; step = await it.next()) batches.push(step.value);
        assert.equal(step.value, 7);
        assert.deepEqual(batches.map((b) => b.length), [2, 2, 2, 1]);
        assert.deepEqual(batches.flat().map((p) => p.trim()), Array.from({ length: 7 }, (_, i) => `page number ${i}`));
      }
      assert.equal(pool.spawned, 2, "a new worker after every 2 documents");
      for await (const first of pool.pages(pdf)) { assert.equal(first.length, 2); break; }
      assert.equal(pool.spawned, 2);
      let pages = 0;
      for await (const b of pool.pages(pdf)) pages += b.length;
      assert.equal(pages, 7, "the pool goes on after a reader left early");
      assert.equal(pool.spawned, 3, "the abandoned worker was replaced");
    } finally {
      await pool.close();
    }
  });
}

test("both engines give the same cleaned text for the same PDFs", async () => {
  const pdfs = [
    await makePdf([numbered("alpha", 100), "Its configu-\nration, the configuration.", numbered("omega", 60)]),
    await pdfBuffer((d) => { d.font(TTF).fontSize(10).text(`\uFB01rst ${numbered("col", 50)}`, 50, 80, { width: 220 }); d.text(numbered("next", 50), 300, 80, { width: 220 }); }),
  ];
  for (const pdf of pdfs) {
    const [a, b] = await Promise.all(PDF_ENGINES.map((e) => read(e, pdf)));
    assert.equal(a.doc!.text, b.doc!.text);
  }
});
