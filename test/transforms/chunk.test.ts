import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { chunk, chunker, type ChunkRecord, type DocRecord, ChunkRecord as ChunkSchema } from "docs2model"; // the package entry, as a user imports it
import { makeDoc } from "../../src/transforms/ingest.ts";

const ctx = { index: 0, signal: new AbortController().signal };
async function chunksOf(doc: DocRecord, size: number, overlap: number, warn?: (m: string) => void): Promise<ChunkRecord[]> {
  const out: ChunkRecord[] = [];
  for await (const c of (await chunker({ size, overlap, warn })(doc, ctx)) as AsyncIterable<ChunkRecord>) out.push(c);
  return out;
}

/** Deterministic pseudo-random text with the shapes that trouble splitters. */
function randomText(seed: number, length: number): string {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const words = ["llama", "the", "a", "gradient", "Ünïcödé", "日本語", "emoji😀", "x", "repeat", "repeat", "LoRA-adapter", "https://example.com/a?b=c"];
  const seps = [" ", " ", " ", "\n", "\n\n", "  ", "\t", "\n\n\n", ". ", ""];
  let out = "";
  while (out.length < length) {
    const r = rnd();
    if (r < 0.02) out += "z".repeat(Math.floor(rnd() * 3000)); // a word longer than any chunk
    else if (r < 0.04) out += " ".repeat(Math.floor(rnd() * 50)) + "\n"; // whitespace runs
    else if (r < 0.06) out += out.slice(Math.max(0, out.length - 400)); // repeated passages
    else out += words[Math.floor(rnd() * words.length)]! + seps[Math.floor(rnd() * seps.length)]!;
  }
  return out.slice(0, length);
}

test("property: doc.text.slice(start, end) === chunk.text on varied text, sizes and overlaps", async () => {
  const configs = [[1500, 200], [100, 20], [50, 0], [300, 299], [20, 5], [1000, 999]] as const;
  let checked = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const text = randomText(seed, 200 + seed * 250);
    const doc = makeDoc(text, `seed-${seed}.txt`);
    const [size, overlap] = configs[seed % configs.length]!;
    const chunks = await chunksOf(doc, size, overlap);
    assert.ok(chunks.length > 0, `seed ${seed}`);
    let prevStart = -1;
    chunks.forEach((c, seq) => {
      ChunkSchema.parse(c);
      assert.equal(doc.text.slice(c.start, c.end), c.text, `seed ${seed} chunk ${seq}`);
      assert.equal(c.seq, seq);
      assert.equal(c.docId, doc.id);
      assert.ok(c.start >= prevStart, "chunks never move back");
      assert.ok(c.text.length <= size || !/\s/.test(c.text.trim()), `seed ${seed}: chunk ${seq} of ${c.text.length} > ${size}`);
      prevStart = c.start;
      checked++;
    });
    // Every non-space character of the document lands in some chunk.
    const covered = new Uint8Array(text.length);
    for (const c of chunks) covered.fill(1, c.start, c.end);
    for (let i = 0; i < text.length; i++) if (!covered[i]) assert.match(text[i]!, /\s/, `seed ${seed}: char ${i} lost`);
  }
  assert.ok(checked > 500);
});

test("ids are stable and differ between chunks", async () => {
  const doc = makeDoc(randomText(7, 5000), "s.txt");
  const a = await chunksOf(doc, 500, 50);
  const b = await chunksOf(doc, 500, 50);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((c) => c.id)).size, a.length);
});

test("an empty or blank document gives no chunks and a warning naming it", async () => {
  for (const text of ["", "  \n\t\n "]) {
    const warnings: string[] = [];
    assert.deepEqual(await chunksOf(makeDoc(text, "blank.md"), 100, 10, (m) => warnings.push(m)), []);
    assert.deepEqual(warnings, ["blank.md: empty document (no text); no chunks"]);
  }
});

test("bad sizes are usage errors that say what to do", () => {
  assert.throws(() => chunker({ size: 100, overlap: 100 }), (e: Error & { code?: string }) => e.code === "E_USAGE" && /--chunk-overlap \(100\) must be smaller than --chunk-size \(100\)/.test(e.message));
  assert.throws(() => chunker({ size: 0 }), /--chunk-size must be a whole number ≥ 1 \(got 0\)/);
  assert.throws(() => chunker({ size: 10, overlap: -1 }), /--chunk-overlap must be a whole number ≥ 0/);
});

test("library: chunk() from the package entry works inside stream.pipeline", async () => {
  const docs = [makeDoc("alpha ".repeat(100), "a"), makeDoc("", "empty"), makeDoc("beta ".repeat(10), "b")];
  const out: ChunkRecord[] = [];
  await pipeline(Readable.from(docs), chunk({ size: 120, overlap: 10, warn: () => {} }), async (src: AsyncIterable<ChunkRecord>) => {
    for await (const c of src) out.push(c);
  });
  assert.deepEqual([...new Set(out.map((c) => c.source))], ["a", "b"]);
  for (const c of out) assert.equal(docs.find((d) => d.id === c.docId)!.text.slice(c.start, c.end), c.text);
});
