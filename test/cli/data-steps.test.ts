// The data steps as a user runs them: bin/pipeline in a child process, unix pipes, files, resume after SIGKILL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { chunksOf, guideText } from "../transforms/qa-fixtures.ts";
import { replyFor } from "../fixtures/batch-replies.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const KEY = "sk-test-datasteps-SECRET-0123456789";

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Kill with SIGKILL a random moment after the ledger beside `output` has committed some inputs. */
function killMidRun(output: string): (kill: () => void) => void {
  return (kill) => {
    const extra = Math.floor(Math.random() * 300);
    const poll = setInterval(() => {
      try {
        const ledger = JSON.parse(readFileSync(`${output}.ledger.json`, "utf8"));
        if (ledger.inputs > 0 && !ledger.complete) { clearInterval(poll); setTimeout(kill, extra); }
      } catch { /* not there yet */ }
    }, 10);
  };
}

function run(cmd: string[] | string, opts: { stdin?: string; env?: Record<string, string>; cwd?: string; killWhen?: (kill: () => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const shell = typeof cmd === "string";
    const child = spawn(shell ? "sh" : process.execPath, shell ? ["-c", cmd] : [BIN, ...cmd], {
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, PIPELINE_CACHE: "", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", GEMINI_API_KEY: "", GOOGLE_API_KEY: "", OLLAMA_HOST: "http://127.0.0.1:9", ...opts.env },
      cwd: opts.cwd,
    });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (b) => (stdout += b));
    child.stderr!.on("data", (b) => (stderr += b));
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    opts.killWhen?.(() => child.kill("SIGKILL"));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const SUMMARY = /^={50}\nVALIDATION SUMMARY\n={50}\nTotal Q&A pairs: (\d+)\nPASS: (\d+) \(\d+\.\d%\)\nNEEDS_REVIEW: (\d+) \(\d+\.\d%\)\nFAIL: (\d+) \(\d+\.\d%\)\n\nSCORE DISTRIBUTION:\n((?:Overall: \d-\d+: \d+ \(\d+\.\d%\)\n){10})/m;

function summaryCounts(text: string): { total: number; pass: number; review: number; fail: number; buckets: number[] } {
  const m = SUMMARY.exec(text);
  assert.ok(m, `VALIDATION SUMMARY block in:\n${text}`);
  const buckets = m[5]!.trim().split("\n").map((l) => Number(/: (\d+) \(/.exec(l)![1]));
  return { total: +m[1]!, pass: +m[2]!, review: +m[3]!, fail: +m[4]!, buckets };
}

function workdir(): string {
  return mkdtempSync(join(tmpdir(), "data-steps-"));
}

test("unix pipe: cat doc | chunk | qa --provider extractive | validate | format gives loadable training lines", async () => {
  const dir = workdir();
  const doc = join(dir, "guide.md");
  writeFileSync(doc, guideText(6));
  const p = (c: string) => `"${process.execPath}" "${BIN}" ${c}`;
  const r = await run(`cat "${doc}" | ${p("chunk --chunk-size 600 --chunk-overlap 0")} | ${p("qa --provider extractive")} | ${p("validate --provider extractive")} | ${p("format --template openai")}`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.length >= 10, `examples: ${lines.length}`);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ["messages"]);
    assert.deepEqual(l.messages.map((m: { role: string }) => m.role), ["user", "assistant"]);
  }
  const s = summaryCounts(r.stderr);
  assert.equal(s.pass + s.review + s.fail, s.total);
  assert.equal(s.buckets.reduce((a, b) => a + b, 0), s.total);
  assert.ok(lines.length <= s.pass + s.review);
  const questions = lines.map((l) => l.messages[0].content);
  assert.equal(new Set(questions).size, questions.length, "no duplicate questions kept");
});

test("files: generate-qa → validate (report, filtered) → format (+valid split, card) → combine", async () => {
  const dir = workdir();
  const chunksDir = join(dir, "chunks"), qaDir = join(dir, "qa");
  mkdirSync(chunksDir);
  const text = guideText(8);
  writeFileSync(join(chunksDir, "chunks.ndjson"), chunksOf(text).map((c) => JSON.stringify(c)).join("\n") + "\n");

  const g = await run(["generate-qa", "-i", chunksDir, "-o", qaDir, "--provider", "extractive", "--questions-per-chunk", "2"]);
  assert.equal(g.code, 0, g.stderr);
  const qa = JSON.parse(readFileSync(join(qaDir, "training_data.json"), "utf8"));
  assert.ok(Array.isArray(qa) && qa.length > 5);
  for (const r of qa) assert.equal(text.slice(r.start, r.end), r.evidence);

  const report = join(qaDir, "validation_report.json"), filtered = join(qaDir, "filtered.json");
  const v = await run(["validate", "-i", join(qaDir, "training_data.json"), "-o", report, "--filtered-output", filtered, "--provider", "extractive", "--threshold", "9.5", "--filter-threshold", "9"]);
  assert.equal(v.code, 0, v.stderr);
  const s = summaryCounts(v.stdout);
  assert.ok(v.stdout.startsWith("=".repeat(50) + "\n"), "summary on stdout when stdout carries no data");
  const rep = JSON.parse(readFileSync(report, "utf8"));
  assert.equal(rep.pairs.length, qa.length, "every pair scored, none dropped");
  assert.equal(rep.summary.total_pairs, s.total);
  assert.equal(rep.summary.pass + rep.summary.needs_review + rep.summary.fail, qa.length);
  assert.deepEqual(Object.values(rep.distribution), s.buckets);
  assert.equal(rep.settings.threshold, 9.5);
  for (const p of rep.pairs) assert.equal(p.verdict, p.scores.overall >= 9.5 ? "PASS" : p.scores.overall >= 9 ? "NEEDS_REVIEW" : "FAIL");
  const kept = JSON.parse(readFileSync(filtered, "utf8"));
  assert.equal(kept.length, rep.pairs.filter((p: { scores: { overall: number } }) => p.scores.overall >= 9).length);

  const out = join(dir, "final", "train.jsonl");
  const f = await run(["format", "-i", report, "-o", out, "--template", "alpaca", "--threshold", "0", "--valid-split", "0.5", "--keep-duplicates"]);
  assert.equal(f.code, 0, f.stderr);
  const train = readFileSync(out, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const valid = existsSync(join(dir, "final", "train.valid.jsonl")) ? readFileSync(join(dir, "final", "train.valid.jsonl"), "utf8").trim().split("\n").filter(Boolean) : [];
  assert.equal(train.length + valid.length, qa.length, "threshold 0 with --keep-duplicates keeps every pair");
  for (const t of train) assert.deepEqual(Object.keys(t), ["instruction", "input", "output"]);
  const prov = readFileSync(join(dir, "final", "train.provenance.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(prov.length, qa.length);
  for (const p of prov) assert.ok(p.docId && p.chunkId && p.qaId && typeof p.start === "number" && typeof p.end === "number");
  const card = readFileSync(join(dir, "final", "README.md"), "utf8");
  assert.match(card, /path: train\.jsonl/);
  assert.match(card, new RegExp(`\\| pairs read \\| ${qa.length} \\|`));

  // combine: the JSON array plus an NDJSON copy of part of it → each id once, in order.
  const results = join(dir, "qa_results");
  mkdirSync(results);
  writeFileSync(join(results, "a.json"), readFileSync(join(qaDir, "training_data.json")));
  writeFileSync(join(results, "b.ndjson"), qa.slice(0, 3).map((r: unknown) => JSON.stringify(r)).join("\n") + "\n");
  const c = await run(["combine", "-i", results, "-o", join(dir, "results", "training_data.json")]);
  assert.equal(c.code, 0, c.stderr);
  const merged = JSON.parse(readFileSync(join(dir, "results", "training_data.json"), "utf8"));
  assert.deepEqual(merged.map((r: { id: string }) => r.id), qa.map((r: { id: string }) => r.id));
  assert.match(c.stderr, /b\.ndjson: 0 record\(s\), 3 duplicate\(s\) dropped/);
});


test("generate-qa and validate over a loopback OpenAI server: SIGKILL mid-run, --resume gives identical files", async () => {
  const server = await startOpenAiServer({ defaultReply: replyFor, latencyMs: 20 });
  try {
    const dir = workdir();
    const chunksDir = join(dir, "chunks");
    mkdirSync(chunksDir);
    writeFileSync(join(chunksDir, "chunks.ndjson"), chunksOf(guideText(40), 400).map((c) => JSON.stringify(c)).join("\n") + "\n");
    const env = { OPENAI_API_KEY: KEY, PIPELINE_COMMIT_INTERVAL_MS: "20" };
    const llm = ["--provider", "openai", "--model", "gpt-test", "--base-url", server.baseURL, "--concurrency", "2", "--no-cache"];

    const ref = await run(["generate-qa", "-i", chunksDir, "-o", join(dir, "ref"), ...llm], { env });
    assert.equal(ref.code, 0, ref.stderr);
    const refQa = readFileSync(join(dir, "ref", "training_data.json"), "utf8");
    assert.ok(JSON.parse(refQa).length > 60);

    const killed = await run(["generate-qa", "-i", chunksDir, "-o", join(dir, "run"), ...llm], { env, killWhen: killMidRun(join(dir, "run", "training_data.json")) });
    assert.equal(killed.signal, "SIGKILL", `the run was still going when killed: ${killed.stderr}`);
    const resumed = await run(["generate-qa", "-i", chunksDir, "-o", join(dir, "run"), "--resume", ...llm], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming/);
    assert.equal(readFileSync(join(dir, "run", "training_data.json"), "utf8"), refQa, "byte-identical after resume");

    const qaFile = join(dir, "ref", "training_data.json");
    const vref = await run(["validate", "-i", qaFile, "-o", join(dir, "vref", "validation_report.json"), ...llm], { env });
    assert.equal(vref.code, 0, vref.stderr);
    const vkilled = await run(["validate", "-i", qaFile, "-o", join(dir, "vrun", "validation_report.json"), ...llm], { env, killWhen: killMidRun(join(dir, "vrun", "validation_report.scored.ndjson")) });
    assert.equal(vkilled.signal, "SIGKILL");
    const vres = await run(["validate", "-i", qaFile, "-o", join(dir, "vrun", "validation_report.json"), "--resume", ...llm], { env });
    assert.equal(vres.code, 0, vres.stderr);
    const strip = (s: string) => s.replace(/"input": "[^"]*"/g, "");
    assert.equal(readFileSync(join(dir, "vrun", "validation_report.scored.ndjson"), "utf8"), readFileSync(join(dir, "vref", "validation_report.scored.ndjson"), "utf8"));
    assert.equal(strip(readFileSync(join(dir, "vrun", "validation_report.json"), "utf8")), strip(readFileSync(join(dir, "vref", "validation_report.json"), "utf8")));
    assert.equal(summaryCounts(vres.stdout).total, JSON.parse(refQa).length);
    for (const r of [ref, killed, resumed, vref, vkilled, vres]) assert.ok(!(r.stdout + r.stderr).includes(KEY), "key never printed");
  } finally {
    await server.close();
  }
});
