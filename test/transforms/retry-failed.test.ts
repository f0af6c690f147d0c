import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { chunkId, docId, type ChunkRecord } from "../../src/records.ts";
import { checkFailures, pairWithPrevious, retryFailedStage } from "../../src/transforms/retry-failed.ts";
import type { RecordedRequest, Step } from "../fixtures/servers/loopback.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));

async function* from<T>(items: T[]): AsyncGenerator<T> { yield* items; }

test("pairWithPrevious walks inputs and old records in step; retryFailedStage reuses all but the failed", async () => {
  const old = [{ c: 1, v: "a" }, { c: 1, v: "b" }, { c: 3, v: "x", error: "bad" }, { c: 4, v: "d" }];
  const paired = [];
  for await (const p of pairWithPrevious(from([1, 2, 3, 4]), from(old), (r, c) => r.c === c)) paired.push(p);
  assert.deepEqual(paired.map((p) => p.previous.length), [2, 0, 1, 1]);
  const stage = retryFailedStage((c: number) => [{ c, v: "new" }], (r: { error?: string }) => !!r.error);
  const ctx = { index: 0, signal: new AbortController().signal };
  assert.equal(stage(paired[0]!, ctx), paired[0]!.previous, "kept as the very same objects");
  assert.deepEqual(stage(paired[2]!, ctx), [{ c: 3, v: "new" }]);
  assert.throws(() => checkFailures("s", 2, 2, undefined, "chunk(s)"), /2 of 2 chunk\(s\) failed \(every one failed\)/);
  assert.doesNotThrow(() => checkFailures("s", 1, 2, undefined, "chunk(s)"));
  assert.throws(() => checkFailures("s", 2, 6, 1, "chunk(s)"), (e: Error & { code?: string }) => e.code === "E_FAILURES" && /more than --max-failures 1/.test(e.message));
});

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, OPENAI_API_KEY: "sk-test-0123456789abcdef" }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d; });
  return new Promise((done) => child.on("close", (code) => done({ code, stderr })));
}

/** One grounded pair per chunk, decided by the chunk's section number; `mode` picks broken or refused sections. */
function replyFor(broken: Set<number>, refused: Set<number>, asked: number[]) {
  return (_call: number, req: RecordedRequest): Step => {
    // The passage is in the first user turn (a repair request adds turns after it).
    const prompt = req.messages.find((m) => m.role === "user")?.content ?? "";
    const section = Number(/Section (\d+)/.exec(prompt)?.[1]);
    asked.push(section);
    if (refused.has(section)) return { status: 401, message: "key revoked" };
    if (broken.has(section)) return { reply: "not json at all" };
    if (prompt.includes("Score the question-answer pair")) {
      return { reply: JSON.stringify({ accuracy: 9, relevance: 9, clarity: 8, completeness: 8, overall: 8.5, reason: "supported" }) };
    }
    const first = `Section ${section} sets how part ${section} of a run behaves.`;
    return { reply: JSON.stringify({ pairs: [{ question: `How does setting ${section} behave?`, answer: first, evidence: first }] }) };
  };
}

test("CLI: generate-qa --retry-failed asks again only for failed chunks, keeps the rest byte for byte, works with --resume; --max-failures", async () => {
  const dir = mkdtempSync(join(tmpdir(), "retry-failed-"));
  mkdirSync(join(dir, "chunks"));
  const doc = docId("guide.md", "guide");
  const chunks: ChunkRecord[] = Array.from({ length: 8 }, (_, i) => {
    const text = `Section ${i} sets how part ${i} of a run behaves. It is read at start-up.`;
    return { type: "chunk", id: chunkId(doc, i, text), docId: doc, source: "guide.md", seq: i, start: i * 100, end: i * 100 + text.length, text };
  });
  writeFileSync(join(dir, "chunks", "chunks.ndjson"), chunks.map((c) => JSON.stringify(c)).join("\n") + "\n");
  const state = { broken: new Set([2, 5]), refused: new Set<number>(), asked: [] as number[] };
  const server = await startOpenAiServer({ script: (call, req) => replyFor(state.broken, state.refused, state.asked)(call, req) });
  const qa = (out: string, ...more: string[]) => cli(["qa", "-i", join(dir, "chunks"), "-o", join(dir, out), "--provider", "openai", "--model", "m", "--base-url", server.baseURL, "--questions-per-chunk", "1", "--concurrency", "2", ...more]);
  try {
    const first = await qa("out", "--max-failures", "1");
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /error \[E_FAILURES\] stage generate-qa: 2 of 8 chunk\(s\) asked this run failed \(more than --max-failures 1\)/);
    const before = readFileSync(join(dir, "out", "training_data.json"), "utf8");
    assert.equal(JSON.parse(before).filter((r: { error?: string }) => r.error).length, 2, "the output is complete, failures recorded");

    // The server is fixed for section 2 but refuses section 5 (a fatal 401): the retry stops after committing what it did.
    state.broken = new Set(); state.refused = new Set([5]);
    state.asked = [];
    const stopped = await qa("out", "--retry-failed", "--no-cache");
    assert.equal(stopped.code, 1, stopped.stderr);
    assert.equal(readFileSync(join(dir, "out", "training_data.json"), "utf8"), before, "a failed retry leaves the output as it was");
    state.refused = new Set();
    const resumed = await qa("out", "--retry-failed", "--resume", "--no-cache");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual([...new Set(state.asked)].sort(), [2, 5], "only the failed chunks were asked again");

    const fresh = await qa("fresh", "--no-cache");
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(readFileSync(join(dir, "out", "training_data.json"), "utf8"), readFileSync(join(dir, "fresh", "training_data.json"), "utf8"),
      "retried output is byte-identical to a clean run");

    // validate: the judge fails on section 3's pair; --retry-failed scores just that one again.
    const pairs = join(dir, "fresh", "training_data.json");
    const validate = (report: string, ...more: string[]) => cli(["validate", "-i", pairs, "-o", join(dir, report), "--provider", "openai", "--model", "m", "--base-url", server.baseURL, "--no-cache", ...more]);
    state.broken = new Set([3]);
    assert.equal((await validate("report.json")).code, 0);
    assert.match(readFileSync(join(dir, "report.scored.ndjson"), "utf8"), /"error":"reply is not JSON/);
    state.broken = new Set(); state.asked = [];
    const rescored = await validate("report.json", "--retry-failed");
    assert.equal(rescored.code, 0, rescored.stderr);
    assert.deepEqual(state.asked, [3], "only the pair the judge failed on was judged again");
    assert.equal((await validate("clean.json")).code, 0);
    assert.equal(readFileSync(join(dir, "report.scored.ndjson"), "utf8"), readFileSync(join(dir, "clean.scored.ndjson"), "utf8"));
  } finally {
    await server.close();
  }
});
