// `pipeline pipeline`: steps 1-4 in one streaming run — against a loopback OpenAI server, equal to the
// steps run one by one, and resumable after SIGKILL with identical files.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runCli, type CliRun } from "../fixtures/cli-run.ts";
import type { RecordedRequest } from "../fixtures/servers/loopback.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { guideText } from "../transforms/qa-fixtures.ts";

const KEY = "sk-test-pipeline-SECRET-0123456789";

const run = (args: string[], cwd: string, env: Record<string, string> = {}, killWhen?: (kill: () => void) => void): Promise<CliRun> =>
  runCli(args, { cwd, env, ...(killWhen ? { killWhen } : {}) });

function project(sections: number): string {
  const dir = mkdtempSync(join(tmpdir(), "pipeline-cmd-"));
  mkdirSync(join(dir, "data", "documents"), { recursive: true });
  writeFileSync(join(dir, "data", "documents", "guide.md"), guideText(sections));
  writeFileSync(join(dir, "data", "documents", "more.md"), guideText(Math.ceil(sections / 2), 7));
  return dir;
}

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), "utf8");
const QA = "data/document_training_data/training_data.json";
const REPORT = "data/document_training_data/validation_report.json";
const SCORED = "data/document_training_data/validation_report.scored.ndjson";
const FINAL = "data/document_training_data/training_data_final.jsonl";
const CHUNKS = "data/document_chunks/chunks.ndjson";

function reply(req: RecordedRequest): string {
  const prompt = req.messages.map((m) => m.content).join("\n");
  if (prompt.includes("Score the question-answer pair")) {
    const n = prompt.length % 4;
    return JSON.stringify({ accuracy: 7 + n, relevance: 8, clarity: 8, completeness: 8, overall: 6.5 + n, reason: "ok" });
  }
  const quote = /(To change [^,]+,)/.exec(prompt)?.[1] ?? "the matching flag";
  const topic = /Section (\d+): ([^\n]+)/.exec(prompt);
  return JSON.stringify({ pairs: [
    { question: `How do you change ${topic?.[2] ?? "it"} in section ${topic?.[1] ?? "?"}?`, answer: "Pass the matching flag on the command line or set its key in config.env.", evidence: quote },
  ] });
}

test("against a loopback OpenAI server: all four seed files, judged by the server, summary printed", async () => {
  const server = await startOpenAiServer({ defaultReply: reply, apiKey: KEY });
  try {
    const dir = project(6);
    const r = await run(["pipeline", "--provider", "openai", "--model", "gpt-test", "--base-url", server.baseURL, "--questions-per-chunk", "2", "--chunk-size", "800", "--format-threshold", "7", "--no-cache"], dir, { OPENAI_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    const chunks = read(dir, CHUNKS).trim().split("\n");
    const qa = JSON.parse(read(dir, QA));
    const report = JSON.parse(read(dir, REPORT));
    const final = read(dir, FINAL).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(chunks.length >= 3);
    assert.equal(qa.length, chunks.length, "one pair per chunk from the server");
    assert.ok(qa.every((p: { provider: string; model: string }) => p.provider === "openai" && p.model === "gpt-test"));
    assert.equal(report.pairs.length, qa.length);
    assert.ok(report.pairs.every((p: { judge: { provider: string } }) => p.judge.provider === "openai"));
    const keep = report.pairs.filter((p: { scores: { overall: number }; checks: { duplicateOf: string | null; grounded: boolean } }) => p.scores.overall >= 7 && !p.checks.duplicateOf && p.checks.grounded).length;
    assert.equal(final.length, keep, "format kept exactly the pairs at or above 7 that are grounded and not duplicates");
    assert.match(r.stdout, /^={50}\nVALIDATION SUMMARY\n={50}\nTotal Q&A pairs: \d+\n/);
    assert.equal(server.calls, chunks.length + qa.length, "one call per chunk and one per pair");
    assert.ok(!(r.stdout + r.stderr).includes(KEY));

    const dry = await run(["pipeline", "--provider", "openai", "--model", "gpt-test", "--base-url", server.baseURL, "--questions-per-chunk", "2", "--chunk-size", "800", "--dry-run"], dir, { OPENAI_API_KEY: KEY });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, new RegExp(`dry run of generate-qa[\\s\\S]*calls: +${chunks.length}\\n`));
    assert.match(dry.stderr, new RegExp(`dry run of validate[\\s\\S]*calls: +${chunks.length * 2}\\n`));
    assert.equal(server.calls, chunks.length + qa.length, "a dry run calls nothing");
  } finally {
    await server.close();
  }
});

test("one streaming run writes the same files as the four steps run one by one (extractive)", async () => {
  const a = project(10);
  const b = project(10);
  const one = await run(["pipeline", "--provider", "extractive", "--chunk-size", "700"], a);
  assert.equal(one.code, 0, one.stderr);
  for (const step of [
    ["chunk", "-i", "data/documents", "-o", "data/document_chunks", "--chunk-size", "700"],
    ["generate-qa", "-i", "data/document_chunks", "-o", "data/document_training_data", "--provider", "extractive"],
    ["validate", "-i", QA, "-o", REPORT, "--provider", "extractive"],
    ["format", "-i", REPORT, "-o", FINAL],
  ]) {
    const r = await run(step, b);
    assert.equal(r.code, 0, `${step[0]}: ${r.stderr}`);
  }
  for (const f of [CHUNKS, QA, SCORED, FINAL]) assert.equal(read(a, f), read(b, f), `${f} differs`);
  assert.ok(JSON.parse(read(a, QA)).length > 10);
});

test("SIGKILL mid-run, then --resume: byte-identical files", async () => {
  const server = await startOpenAiServer({ defaultReply: reply, latencyMs: 20 });
  try {
    const args = ["pipeline", "--provider", "openai", "--model", "gpt-test", "--base-url", server.baseURL, "--chunk-size", "400", "--concurrency", "2", "--no-cache"];
    const env = { OPENAI_API_KEY: KEY };
    const ref = project(30);
    const r0 = await run(args, ref, env);
    assert.equal(r0.code, 0, r0.stderr);

    const dir = project(30);
    const ledger = join(dir, SCORED + ".ledger.json");
    const killed = await run(args, dir, env, (kill) => {
      const poll = setInterval(() => {
        try {
          const l = JSON.parse(readFileSync(ledger, "utf8"));
          if (l.inputs > 0 && !l.complete) { clearInterval(poll); setTimeout(kill, Math.floor(Math.random() * 200)); }
        } catch { /* not yet */ }
      }, 10);
    });
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    const resumed = await run([...args, "--resume"], dir, env);
    assert.equal(resumed.code, 0, resumed.stderr);
    for (const f of [CHUNKS, QA, SCORED, FINAL]) assert.equal(read(dir, f), read(ref, f), `${f} differs after resume`);
  } finally {
    await server.close();
  }
});
