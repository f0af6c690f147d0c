import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import iconv from "iconv-lite";
import type { DocRecord } from "../../src/records.ts";
import { ingest, ingester, listFiles } from "../../src/transforms/ingest.ts";
import { docsFromStream } from "../../src/transforms/ingest-stdin.ts";
import { makeDocx } from "../fixtures/documents/docx.ts";
import { makeCorruptPdf, makePdf } from "../fixtures/documents/pdf.ts";

let dir: string;
const warnings: string[] = [];
const ing = ingester({ warn: (m) => warnings.push(m) });
after(() => ing.close());

async function docsOf(file: string): Promise<DocRecord[]> {
  const r = await ing.stage(join(dir, file), { index: 0, signal: new AbortController().signal });
  return (r ?? []) as DocRecord[];
}
const warningFor = (file: string) => warnings.filter((w) => w.includes(file)).join("\n");

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ingest-"));
  mkdirSync(join(dir, "sub", "deeper"), { recursive: true });
  writeFileSync(join(dir, "b.txt"), "Plain text file.\r\nSecond line.");
  writeFileSync(join(dir, "a.md"), "Intro line\n# The Title\n\nBody *text*.");
  writeFileSync(join(dir, "page.html"), "<html><head><title>Html Title</title><style>p{}</style></head><body><h1>Heading</h1><p>First <a href='http://x'>link</a> para.</p><script>alert(1)</script></body></html>");
  writeFileSync(join(dir, "sub", "latin1.txt"), iconv.encode("Crème brûlée à la façon de grand-mère, déjà servie.", "latin1"));
  writeFileSync(join(dir, "sub", "utf16.txt"), Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode("UTF-16 text: naïve", "utf16le")]));
  writeFileSync(join(dir, "sub", "deeper", "z.txt"), "deep");
  writeFileSync(join(dir, "sub", "binary.txt"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3, 0, 255]));
  writeFileSync(join(dir, "image.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(dir, ".hidden.txt"), "never read");
  writeFileSync(join(dir, "good.pdf"), await makePdf(["Page one about llamas.", "Page two about alpacas."]));
  writeFileSync(join(dir, "locked.pdf"), await makePdf(["Secret"], { userPassword: "hunter2" }));
  writeFileSync(join(dir, "broken.pdf"), await makeCorruptPdf());
  writeFileSync(join(dir, "fake.pdf"), "this is not a pdf at all");
  writeFileSync(join(dir, "report.docx"), await makeDocx(["Quarterly report.", "Revenue grew."]));
  writeFileSync(join(dir, "broken.docx"), "PK\u0003\u0004 not really a zip");
  writeFileSync(join(dir, "docs.ndjson"), '{"text":"first record","title":"One"}\n\n{"text":"second","source":"s2","id":"given"}\n');
  writeFileSync(join(dir, "bad.ndjson"), '{"text":"ok"}\n{"text": 5}\nnot json\n');
});

test("folders are recursed in sorted order; dotfiles are left out", async () => {
  const files = (await listFiles([dir])).map((f) => f.slice(dir.length + 1));
  assert.deepEqual(files, [...files].sort());
  assert.ok(files.includes(join("sub", "deeper", "z.txt")));
  assert.ok(!files.some((f) => f.includes(".hidden")));
  assert.ok(files.indexOf("report.docx") < files.indexOf(join("sub", "latin1.txt")));
});

test("a missing input is an E_INPUT error naming it", async () => {
  await assert.rejects(listFiles([join(dir, "nope")]), (e: Error & { code?: string }) => e.code === "E_INPUT" && e.message.includes("nope") && /--input-dir/.test(e.message));
});

test("txt and md: text kept (CRLF normalised), markdown title from its first heading", async () => {
  const [txt] = await docsOf("b.txt");
  assert.equal(txt!.text, "Plain text file.\nSecond line.");
  assert.equal(txt!.type, "doc");
  assert.match(txt!.id, /^doc_[0-9a-f]{16}$/);
  const [md] = await docsOf("a.md");
  assert.equal(md!.title, "The Title");
  assert.ok(md!.text.includes("Body *text*."));
});

test("html: text without tags, scripts or styles; title from <title>", async () => {
  const [doc] = await docsOf("page.html");
  assert.equal(doc!.title, "Html Title");
  assert.match(doc!.text, /Heading/);
  assert.match(doc!.text, /First link para\./);
  assert.doesNotMatch(doc!.text, /alert|<p>|p\{\}|http:\/\/x/);
});

test("non-UTF-8 text is decoded, not mangled", async () => {
  const [latin] = await docsOf(join("sub", "latin1.txt"));
  assert.equal(latin!.text, "Crème brûlée à la façon de grand-mère, déjà servie.");
  const [utf16] = await docsOf(join("sub", "utf16.txt"));
  assert.equal(utf16!.text, "UTF-16 text: naïve");
});

test("binary and unsupported files are skipped with a warning and counted", async () => {
  const before = ing.stats.skipped;
  assert.deepEqual(await docsOf(join("sub", "binary.txt")), []);
  assert.match(warningFor("binary.txt"), /binary\.txt: looks like binary data, not plain text; skipped/);
  assert.deepEqual(await docsOf("image.png"), []);
  assert.match(warningFor("image.png"), /image\.png: unsupported file type "\.png" \(supported: .*\.pdf.*\); skipped/);
  assert.equal(ing.stats.skipped, before + 2);
});

test("pdf: pages become text in order", async () => {
  const [doc] = await docsOf("good.pdf");
  assert.match(doc!.text, /Page one about llamas\.\s+Page two about alpacas\./);
  assert.equal(doc!.meta?.pages, 2);
});

test("encrypted, corrupt and fake PDFs are reported by name and counted; nothing throws", async () => {
  const before = ing.stats.failed;
  assert.deepEqual(await docsOf("locked.pdf"), []);
  assert.match(warningFor("locked.pdf"), /locked\.pdf: PDF is encrypted \(password-protected\); decrypt it first.*; skipped/);
  assert.deepEqual(await docsOf("broken.pdf"), []);
  assert.match(warningFor("broken.pdf"), /broken\.pdf: PDF is corrupt or truncated .*; skipped/);
  assert.deepEqual(await docsOf("fake.pdf"), []);
  assert.match(warningFor("fake.pdf"), /fake\.pdf: is not a PDF \(no %PDF- header\)/);
  assert.equal(ing.stats.failed, before + 3);
});

test("docx: paragraphs as text; a corrupt docx is reported by name", async () => {
  const [doc] = await docsOf("report.docx");
  assert.match(doc!.text, /Quarterly report\.\s+Revenue grew\./);
  assert.deepEqual(await docsOf("broken.docx"), []);
  assert.match(warningFor("broken.docx"), /broken\.docx: DOCX is corrupt or not a Word document/);
});

test("NDJSON doc records: each line a doc, ids and sources filled in", async () => {
  const docs = await docsOf("docs.ndjson");
  assert.equal(docs.length, 2);
  assert.equal(docs[0]!.title, "One");
  assert.match(docs[0]!.source, /docs\.ndjson#1$/);
  assert.equal(docs[1]!.id, "given");
  assert.equal(docs[1]!.source, "s2");
});

test("a bad NDJSON doc line is an error naming file, line and field; --skip-bad-lines counts it", async () => {
  await assert.rejects(docsOf("bad.ndjson"), (e: Error & { code?: string }) => e.code === "E_BAD_LINE" && /bad\.ndjson:2, field "text": .*--skip-bad-lines/.test(e.message));
  const seen: string[] = [];
  const lenient = ingester({ skipBadLines: true, warn: (m) => seen.push(m) });
  const docs = (await lenient.stage(join(dir, "bad.ndjson"), { index: 0, signal: new AbortController().signal })) as DocRecord[];
  assert.deepEqual(docs.map((d) => d.text), ["ok"]);
  assert.equal(seen.length, 2);
  assert.match(seen[1]!, /bad\.ndjson:3: not valid JSON/);
});

test("ingest() is a Transform: PDFs parse in the pool and output keeps file order", async () => {
  const pdfs: string[] = [];
  for (let i = 0; i < 6; i++) {
    const f = join(dir, `order-${i}.pdf`);
    // Big first, small last: a pool that reordered would put the small ones first.
    writeFileSync(f, await makePdf(Array.from({ length: 6 - i }, (_, p) => `file ${i} page ${p} `.repeat(40))));
    pdfs.push(f);
  }
  const out: DocRecord[] = [];
  await pipeline(Readable.from([...pdfs, join(dir, "b.txt")]), ingest({ warn: () => {} }), async (src: AsyncIterable<DocRecord>) => { for await (const d of src) out.push(d); });
  assert.deepEqual(out.map((d) => d.source), [...pdfs, join(dir, "b.txt")]);
  out.slice(0, 6).forEach((d, i) => assert.match(d.text, new RegExp(`^file ${i} page 0`)));
});

test("stdin: raw text is one document; NDJSON doc records are records", async () => {
  const raw = [];
  for await (const d of docsFromStream(Readable.from([Buffer.from("Just some\n"), Buffer.from("text.")]))) raw.push(d);
  assert.deepEqual(raw.map((d) => [d.source, d.text]), [["<stdin>", "Just some\ntext."]]);
  const recs = [];
  for await (const d of docsFromStream(Readable.from([Buffer.from('{"text":"one"}\n{"te'), Buffer.from('xt":"two"}\n')]))) recs.push(d);
  assert.deepEqual(recs.map((d) => d.text), ["one", "two"]);
  const json = [];
  for await (const d of docsFromStream(Readable.from([Buffer.from('{"not":"a doc"}\n')]))) json.push(d);
  assert.equal(json.length, 1, "a JSON line without text is raw text, one doc");
});

test("stdin: a bad NDJSON line names <stdin> and its line", async () => {
  const run = async () => { for await (const _ of docsFromStream(Readable.from(['{"text":"one"}\n{"text":\n']))) { /* drain */ } };
  await assert.rejects(run(), /<stdin>:2: not valid JSON/);
});
