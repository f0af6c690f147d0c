// Text cleanups (issue 19 § 2): line-end hyphenation joined only into words of the document, real compounds kept,
// ligatures and soft hyphens normalised, running headers/footers and page numbers dropped from PDFs — each counted,
// each switchable off, and chunk offsets exact against the cleaned text.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanDocument, dropRunningLines, emptyCleanCounts, fixLigatures, joinHyphenated, CLEANUPS } from "../../src/transforms/clean-text.ts";
import { chunker } from "../../src/transforms/chunk.ts";
import { ingester } from "../../src/transforms/ingest.ts";
import type { ChunkRecord, DocRecord } from "../../src/records.ts";
import { makePdf } from "../fixtures/documents/pdf.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("hyphenation: joined when the whole word is in the document, kept for real compounds", () => {
  const c = emptyCleanCounts();
  const text = "The specification is short. Read the specifi-\ncation twice. A long-\nterm plan beats a long-term hope. Well-\nknown.";
  const out = joinHyphenated(text, c);
  assert.match(out, /Read the specification twice\./);
  assert.match(out, /A long-\nterm plan/, "no 'longterm' in the document: the hyphen stays");
  assert.match(out, /Well-\nknown/);
  assert.equal(c.hyphenJoins, 1);
});

test("ligatures and soft hyphens become plain letters", () => {
  const c = emptyCleanCounts();
  assert.equal(fixLigatures("e\uFB03cient \uFB01les, work\u00ADflow", c), "efficient files, workflow");
  assert.deepEqual([c.ligatures, c.softHyphens], [2, 1]);
});

test("running headers, footers and page numbers go when they repeat on most pages; body lines that repeat stay", () => {
  const pages = [1, 2, 3, 4].map((n) => `ACME Router Manual\nChapter text ${n} about routing.\nNote: check the cable.\nPage ${n} of 4`);
  pages[2] = pages[2]!.replace("Note: check the cable.\n", "");
  const c = emptyCleanCounts();
  const out = dropRunningLines(pages, c);
  for (const p of out) {
    assert.doesNotMatch(p, /ACME Router Manual|Page \d of 4/);
    assert.match(p, /Chapter text \d about routing\./);
  }
  assert.equal(c.headerLines, 8);
  assert.deepEqual(dropRunningLines(pages.slice(0, 2), emptyCleanCounts()), pages.slice(0, 2), "two pages are too few to tell");
});

test("a PDF through ingest: cleaned text, counts, offsets exact against it; --clean none keeps the text as extracted", async () => {
  const body = (n: number) => `Section ${n}. The router keeps a routing table for every interface.\nIts configu-\nration is read at start; the configuration file lives in /etc.`;
  const pdf = await makePdf([1, 2, 3].map((n) => `Network Guide\n${body(n)}\n${n}`));
  const dir = mkdtempSync(join(tmpdir(), "d2m-clean-"));
  try {
    const file = join(dir, "guide.pdf");
    writeFileSync(file, pdf);
    const read = async (clean?: Set<"ligatures" | "hyphens" | "headers">) => {
      const ing = ingester({ clean, warn: () => {} });
      try {
        const docs = (await ing.stage(file, { index: 0, signal: new AbortController().signal })) as DocRecord[];
        return { doc: docs[0]!, stats: ing.stats };
      } finally { await ing.close(); }
    };
    const { doc, stats } = await read();
    assert.doesNotMatch(doc.text, /Network Guide/);
    assert.doesNotMatch(doc.text, /configu-\s*ration/);
    assert.match(doc.text, /Its configuration is read at start/);
    assert.equal(stats.cleaned.hyphenJoins, 3);
    assert.ok(stats.cleaned.headerLines >= 6, JSON.stringify(stats.cleaned)); // title and page number on 3 pages
    const chunks: ChunkRecord[] = [];
    for await (const ch of (await chunker({ size: 120, overlap: 20 })(doc, { index: 0, signal: new AbortController().signal })) as AsyncIterable<ChunkRecord>) chunks.push(ch);
    for (const ch of chunks) assert.equal(doc.text.slice(ch.start, ch.end), ch.text, "offsets exact against the cleaned text");

    const raw = await read(new Set());
    assert.match(raw.doc.text, /Network Guide/);
    assert.match(raw.doc.text, /configu-\s*ration/);
    assert.deepEqual(raw.stats.cleaned, emptyCleanCounts());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("cleanDocument applies only what is switched on", () => {
  const c = emptyCleanCounts();
  assert.equal(cleanDocument({ text: "\uFB01le and the file-\nname, filename" }, new Set(["ligatures"]), c), "file and the file-\nname, filename");
  assert.equal(cleanDocument({ text: "the file-\nname, filename" }, new Set(CLEANUPS), emptyCleanCounts()), "the filename, filename");
});

test("PDF pages cleaned one at a time in place give the text the cleanups give on the joined pages", () => {
  // The whole word of a line-end hyphenation only on another page; ligatures; a page that is only a soft hyphen;
  // blank pages; running title and page numbers.
  const pages = [
    "Field Guide\nThe con\uFB01guration of the speci-\nfication.\n1",
    "Field Guide\n   \n2",
    "Field Guide\n\u00AD\n3",
    "Field Guide\nA specification, a long-\nterm view, a con\uFB01gu-\nration.\n4",
    "",
    "Field Guide\nThe e\uFB03cient con-\ntroller.\n6",
  ];
  const reference = (() => {
    const c = emptyCleanCounts();
    const text = dropRunningLines(pages, c).map((p) => p.trim()).filter(Boolean).join("\n\n");
    return { text: joinHyphenated(fixLigatures(text, c), c), counts: c };
  })();
  const owned = [...pages];
  const counts = emptyCleanCounts();
  const text = cleanDocument({ pages: owned }, new Set(CLEANUPS), counts);
  assert.equal(text, reference.text);
  assert.deepEqual(counts, reference.counts);
  assert.ok(reference.counts.hyphenJoins >= 2 && reference.counts.headerLines > 0 && reference.counts.softHyphens === 1, JSON.stringify(reference.counts));
  assert.equal(owned.length, 0, "the page list is consumed");
});
