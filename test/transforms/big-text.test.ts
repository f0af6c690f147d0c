import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { mulberry32 } from "../../src/random.ts";
import { docId, type ChunkRecord } from "../../src/records.ts";
import { collectResult } from "../../src/streams/as-transform.ts";
import { planTextParts, readTextPart, PART_SEQ_STRIDE } from "../../src/transforms/big-text.ts";
import { chunker } from "../../src/transforms/chunk.ts";
import { decodeText } from "../../src/transforms/decode-text.ts";

const SIZES = { bigBytes: 100_000, partBytes: 40_000, cutWindow: 8_000 };
const ctx = { index: 0, signal: new AbortController().signal };

function words(seed: number, n: number, sep: () => string): string {
  const r = mulberry32(seed);
  const vocab = ["river", "mill", "stone", "wheel", "grain", "flour", "water", "Müller", "été", "水車", "🌾"];
  let out = "";
  for (let i = 0; i < n; i++) out += vocab[Math.floor(r() * vocab.length)] + sep();
  return out;
}

/** Parts of the file, their texts joined, and every chunk of every part. */
async function partsOf(path: string) {
  const parts = (await planTextParts(path, "text", SIZES))!;
  assert.ok(parts && parts.length > 1, "the file is read in parts");
  const texts: string[] = [];
  const chunks: ChunkRecord[] = [];
  const chunk = chunker({ size: 500, overlap: 50 });
  for (const p of parts) {
    const doc = await readTextPart(p);
    texts.push(doc.text);
    chunks.push(...(await collectResult(await chunk(doc, ctx))));
  }
  return { parts, whole: texts.join(""), texts, chunks };
}

function checkChunks(whole: string, chunks: ChunkRecord[]): void {
  assert.ok(chunks.length > 10);
  for (const c of chunks) assert.equal(whole.slice(c.start, c.end), c.text, "offsets index the whole file's text");
  for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i]!.seq > chunks[i - 1]!.seq && chunks[i]!.start >= chunks[i - 1]!.start, "document order");
}

test("a big text file in parts: same text and doc id as in one piece, cuts after blank lines, chunk offsets into the whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "big-text-"));
  const r = mulberry32(7);
  const path = join(dir, "paragraphs.txt");
  writeFileSync(path, words(1, 40_000, () => (r() < 0.02 ? "\r\n\r\n" : r() < 0.05 ? "\r\n" : " ")));
  const { parts, whole, texts, chunks } = await partsOf(path);
  const onePiece = decodeText(readFileSync(path))!.text;
  assert.equal(whole, onePiece, "parts join to the one-piece text (CRLF normalized alike)");
  assert.equal(parts[0]!.docId, docId(path, onePiece), "the same doc id as the one-piece path");
  for (const t of texts.slice(0, -1)) assert.ok(t.endsWith("\n\n"), "cut after a blank line");
  checkChunks(whole, chunks);
  assert.equal(chunks.find((c) => c.seq >= PART_SEQ_STRIDE)?.seq !== undefined, true, "later parts number from part × 2^24");
});

test("one long line is cut at spaces, and text with no spaces at character boundaries", async () => {
  const dir = mkdtempSync(join(tmpdir(), "big-line-"));
  const spaced = join(dir, "line.txt");
  writeFileSync(spaced, words(2, 40_000, () => " "));
  const a = await partsOf(spaced);
  assert.equal(a.whole, readFileSync(spaced, "utf8"));
  for (const t of a.texts.slice(0, -1)) assert.ok(t.endsWith(" "));
  checkChunks(a.whole, a.chunks);

  const dense = join(dir, "dense.txt");
  writeFileSync(dense, words(3, 40_000, () => ""));
  const b = await partsOf(dense);
  assert.equal(b.whole, readFileSync(dense, "utf8"), "no character is split between parts");
  checkChunks(b.whole, b.chunks);
});

test("small, binary and non-UTF-8 files stay whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "big-other-"));
  writeFileSync(join(dir, "small.txt"), "short");
  assert.equal(await planTextParts(join(dir, "small.txt"), "text", SIZES), undefined);
  writeFileSync(join(dir, "latin1.txt"), Buffer.from("caf\xe9 ".repeat(40_000), "latin1"));
  assert.equal(await planTextParts(join(dir, "latin1.txt"), "text", SIZES), undefined);
  writeFileSync(join(dir, "bin.txt"), Buffer.alloc(200_000));
  assert.equal(await planTextParts(join(dir, "bin.txt"), "text", SIZES), undefined);
});
