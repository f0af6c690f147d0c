import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ChunkRecord } from "../../src/records.ts";
import { makeCorruptPdf, makePdf } from "../fixtures/documents/pdf.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
let corpus: string;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function run(args: string[], opts: { stdin?: string; env?: Record<string, string>; killWhen?: (child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (b) => (stdout += b));
    child.stderr!.on("data", (b) => (stderr += b));
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    opts.killWhen?.(child);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Deterministic prose, different per file. */
function prose(seed: number, words: number): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const vocab = ["The", "pipeline", "splits", "documents", "into", "chunks", "and", "each", "chunk", "keeps", "its", "offsets.", "Models", "learn", "from", "questions", "answers", "about", "llamas.\n\n", "résumé", "naïve"];
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(vocab[Math.floor(rnd() * vocab.length)]!);
  return out.join(" ");
}

before(async () => {
  corpus = mkdtempSync(join(tmpdir(), "chunk-cli-"));
  mkdirSync(join(corpus, "docs", "nested"), { recursive: true });
  for (let i = 0; i < 100; i++) writeFileSync(join(corpus, "docs", i % 5 === 0 ? "nested" : "", `doc-${String(i).padStart(3, "0")}.${i % 7 === 0 ? "html" : "md"}`), i % 7 === 0 ? `<html><body><p>${prose(i, 5000)}</p></body></html>` : prose(i, 5000));
  writeFileSync(join(corpus, "docs", "manual.pdf"), await makePdf(["PDF page one. " + prose(1000, 300), "PDF page two. " + prose(1001, 300)]));
  writeFileSync(join(corpus, "docs", "broken.pdf"), await makeCorruptPdf());
  writeFileSync(join(corpus, "docs", "empty.txt"), "");
});

test("directory mode writes <output-dir>/chunks.ndjson with valid chunks and warns about bad files by name", async () => {
  const out = join(corpus, "out-dir");
  const r = await run(["chunk", "-i", join(corpus, "docs"), "-o", out, "--chunk-size", "800", "--chunk-overlap", "100"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "", "data goes to the file, not stdout");
  const lines = readFileSync(join(out, "chunks.ndjson"), "utf8").trim().split("\n").map((l) => ChunkRecord.parse(JSON.parse(l)));
  assert.ok(lines.length > 300);
  assert.ok(lines.every((c) => c.text.length <= 800));
  assert.ok(lines.some((c) => c.source.endsWith("manual.pdf") && c.text.includes("PDF page two.")));
  assert.match(r.stderr, /broken\.pdf: PDF is corrupt or truncated/);
  assert.match(r.stderr, /empty\.txt: empty document \(no text\); no chunks/);
  assert.match(r.stderr, /103 file\(s\) → \d+ chunk\(s\) in .*chunks\.ndjson; 0 skipped, 1 unreadable/);
});

test("stdout when piped and no -o; raw text on stdin is one document; NDJSON records are records; --quiet is quiet", async () => {
  const raw = await run(["chunk", "--chunk-size", "50", "--chunk-overlap", "0"], { stdin: "one two three four five six seven eight nine ten eleven twelve thirteen" });
  assert.equal(raw.code, 0, raw.stderr);
  const chunks = raw.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(chunks.length >= 2);
  assert.ok(chunks.every((c) => c.source === "<stdin>" && c.seq >= 0));
  const recs = await run(["chunk", "-q"], { stdin: '{"text":"first doc","source":"a"}\n{"text":"second doc","source":"b"}\n' });
  assert.equal(recs.code, 0, recs.stderr);
  assert.deepEqual(recs.stdout.trim().split("\n").map((l) => JSON.parse(l).source), ["a", "b"]);
  assert.equal(recs.stderr, "");
});

test("bad input on the command line gives a clear message and the right exit code", async () => {
  const docs = join(corpus, "docs");
  const [size, overlap, missing, badLine, skipped, stdoutResume] = await Promise.all([
    run(["chunk", "-i", docs, "--chunk-size", "abc"]),
    run(["chunk", "-i", docs, "--chunk-size", "100", "--chunk-overlap", "100"]),
    run(["chunk", "-i", join(corpus, "nowhere")]),
    run(["chunk"], { stdin: '{"text":"ok"}\n{oops\n' }),
    run(["chunk", "--skip-bad-lines"], { stdin: '{"text":"ok"}\n{oops\n' }),
    run(["chunk", "--resume"], { stdin: "text" }),
  ]);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /error \[E_CONFIG\] .*PIPELINE_CHUNK_SIZE.*bad value "abc"/);
  assert.equal(overlap.code, 2);
  assert.match(overlap.stderr, /--chunk-overlap \(100\) must be smaller than --chunk-size \(100\)/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error \[E_INPUT\] .*nowhere: input not found; check --input-dir/);
  assert.equal(badLine.code, 1);
  assert.match(badLine.stderr, /<stdin>:2: not valid JSON .*--skip-bad-lines/);
  assert.equal(skipped.code, 0);
  assert.match(skipped.stderr, /<stdin>:2: not valid JSON.*line skipped/);
  assert.equal(skipped.stdout.trim().split("\n").length, 1);
  assert.equal(stdoutResume.code, 2);
  assert.match(stdoutResume.stderr, /--resume needs an output file; name one with -o/);
});

const KILL_ARGS = () => ["chunk", "-i", join(corpus, "docs"), "--chunk-size", "600", "--chunk-overlap", "80", "-q"];
let clean: Buffer | undefined;
/** The uninterrupted run's bytes, made once. */
async function cleanOutput(): Promise<Buffer> {
  if (clean) return clean;
  const cleanDir = join(corpus, "clean");
  const r = await run([...KILL_ARGS(), "-o", cleanDir]);
  assert.equal(r.code, 0, r.stderr);
  return (clean = readFileSync(join(cleanDir, "chunks.ndjson")));
}

test("SIGKILL at random moments, then --resume, gives a file byte-identical to an uninterrupted run", async () => {
  const args = KILL_ARGS();
  const expected = await cleanOutput();

  const outDir = join(corpus, "killed");
  const work = join(outDir, "chunks.ndjson.partial");
  // Commit after every input so kills land between, during and after ledger writes.
  const env = { PIPELINE_COMMIT_INTERVAL_MS: "0" };
  const firstSeed = Number(process.env.TEST_SEED ?? Date.now() % 100000); // rerun a failure with TEST_SEED
  let seed = firstSeed;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const kills: string[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    // Kill once the work file passes a random fraction of the final size (or right away on attempt 0).
    const threshold = attempt === 0 ? 0 : Math.floor(expected.length * (0.1 + 0.8 * rnd()));
    const r = await run([...args, "-o", outDir, ...(attempt ? ["--resume"] : [])], {
      env,
      killWhen: (child) => {
        const timer = setInterval(() => {
          const size = existsSync(work) ? statSync(work).size : 0;
          if (size >= threshold && (attempt > 0 || size > 0)) { child.kill("SIGKILL"); clearInterval(timer); }
        }, 2);
        child.on("close", () => clearInterval(timer));
      },
    });
    kills.push(`${r.signal ?? `exit ${r.code}`}@${threshold}`);
  }
  assert.ok(kills.filter((k) => k.startsWith("SIGKILL")).length >= 2, `at least two runs were really killed: ${kills.join(", ")}`);
  const final = await run([...args, "-o", outDir, "--resume"], { env });
  assert.equal(final.code, 0, final.stderr);
  const got = readFileSync(join(outDir, "chunks.ndjson"));
  assert.equal(got.length, expected.length, `length after kills ${kills.join(", ")} (TEST_SEED=${firstSeed})`);
  assert.ok(got.equals(expected), `bytes differ after kills ${kills.join(", ")} (TEST_SEED=${firstSeed})`);
  assert.equal(existsSync(work), false);
});

test("--resume after a settings change is refused, naming the setting", async () => {
  const outDir = join(corpus, "changed");
  const args = ["chunk", "-i", join(corpus, "docs"), "-o", outDir, "-q"];
  const first = await run([...args, "--chunk-size", "600"], {
    env: { PIPELINE_COMMIT_INTERVAL_MS: "0" },
    killWhen: (child) => {
      const t = setInterval(() => { if (existsSync(join(outDir, "chunks.ndjson.partial")) && statSync(join(outDir, "chunks.ndjson.partial")).size > 1000) { child.kill("SIGKILL"); clearInterval(t); } }, 2);
      child.on("close", () => clearInterval(t));
    },
  });
  assert.equal(first.signal, "SIGKILL");
  const r = await run([...args, "--chunk-size", "700", "--resume"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[E_RESUME\] .*cannot resume: settings changed since the interrupted run \(chunkSize\); rerun with the same settings, or without --resume to start over/);
});

test("Ctrl-C keeps finished inputs and says how to continue; --resume then completes identically", async () => {
  const expected = await cleanOutput();
  const outDir = join(corpus, "interrupted");
  const work = join(outDir, "chunks.ndjson.partial");
  const r = await run([...KILL_ARGS().filter((a) => a !== "-q"), "-o", outDir], {
    killWhen: (child) => {
      const t = setInterval(() => { if (existsSync(work) && statSync(work).size > expected.length / 3) { child.kill("SIGINT"); clearInterval(t); } }, 2);
      child.on("close", () => clearInterval(t));
    },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /error \[E_INTERRUPTED\] stage chunk: interrupted; \d+ input\(s\) are kept in .*chunks\.ndjson\.partial: rerun with --resume to continue/);
  const kept = Number(/interrupted; (\d+) input/.exec(r.stderr)![1]);
  assert.ok(kept > 0);
  const ledger = JSON.parse(readFileSync(join(outDir, "chunks.ndjson.ledger.json"), "utf8"));
  assert.equal(ledger.inputs, kept, "everything finished was committed on Ctrl-C");
  const resumed = await run([...KILL_ARGS(), "-o", outDir, "--resume"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readFileSync(join(outDir, "chunks.ndjson")).equals(expected));
});

test("--pdf-engine: pdf-parse and pdfium give the same chunks; a bad name is refused by the flag; --resume with the other engine is refused", async () => {
  const pdfs = join(corpus, "pdfs");
  mkdirSync(pdfs, { recursive: true });
  writeFileSync(join(pdfs, "a.pdf"), await makePdf(["Engine page one. " + prose(2000, 200), "Engine page two. " + prose(2001, 200)]));
  writeFileSync(join(pdfs, "b.pdf"), await makePdf(["Second file. " + prose(2002, 150)]));
  const [pdfium, pdfParse, bad] = await Promise.all([
    run(["chunk", "-i", pdfs, "-o", join(corpus, "eng-pdfium"), "-q", "--pdf-engine", "pdfium"]),
    run(["chunk", "-i", pdfs, "-o", join(corpus, "eng-pdf-parse"), "-q"], { env: { PIPELINE_PDF_ENGINE: "pdf-parse" } }),
    run(["chunk", "-i", pdfs, "-o", join(corpus, "eng-bad"), "--pdf-engine", "mupdf"]),
  ]);
  assert.equal(pdfium.code, 0, pdfium.stderr);
  assert.equal(pdfParse.code, 0, pdfParse.stderr);
  const chunks = (name: string) => readFileSync(join(corpus, name, "chunks.ndjson"), "utf8");
  assert.match(chunks("eng-pdfium"), /Engine page two\./);
  assert.equal(chunks("eng-pdfium"), chunks("eng-pdf-parse"));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad value "mupdf" for --pdf-engine \(PIPELINE_PDF_ENGINE\).*"pdfium"\|"pdf-parse"/);
  const other = await run(["chunk", "-i", pdfs, "-o", join(corpus, "eng-pdfium"), "--resume", "--pdf-engine", "pdf-parse"]);
  assert.equal(other.code, 1, other.stderr);
  assert.match(other.stderr, /E_RESUME.*cannot resume: settings changed .*\(pdfEngine\)/);
});
