// --batch through the real SDKs against loopback servers that speak each vendor's batch routes: the same records
// as a synchronous run whatever the result order, failed and expired lines retried, limits, budget, the plan.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadSettings, type Settings } from "../../src/config.ts";
import { PipelineError } from "../../src/errors.ts";
import { setLogLevel } from "../../src/log.ts";
import { splitBatches } from "../../src/providers/batch/plan.ts";
import { batchVendorFor } from "../../src/providers/batch/vendor.ts";
import { runGenerateQa } from "../../src/steps/generate-qa.ts";
import { runValidate } from "../../src/steps/validate.ts";
import { runPipeline } from "../../src/steps/pipeline.ts";
import type { BatchServerOptions } from "../fixtures/servers/batch-book.ts";
import { replyFor } from "../fixtures/batch-replies.ts";
import { startAnthropicServer } from "../fixtures/servers/anthropic.ts";
import { startGeminiServer } from "../fixtures/servers/gemini.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { chunksOf, guideText } from "../transforms/qa-fixtures.ts";

setLogLevel("quiet");
const KEY = "sk-test-batch-SECRET-0123456789";

const VENDORS = [
  { name: "openai", start: startOpenAiServer, model: "gpt-4o-mini", keyVar: "OPENAI_API_KEY" },
  { name: "claude", start: startAnthropicServer, model: "claude-3-5-haiku-test", keyVar: "ANTHROPIC_API_KEY" },
  { name: "gemini", start: startGeminiServer, model: "gemini-2.0-flash", keyVar: "GEMINI_API_KEY" },
] as const;

type Server = Awaited<ReturnType<(typeof VENDORS)[number]["start"]>>;

function project(chunks = 8): { dir: string; chunks: string } {
  const dir = mkdtempSync(join(tmpdir(), "batch-"));
  mkdirSync(join(dir, "chunks"));
  const file = join(dir, "chunks", "chunks.ndjson");
  writeFileSync(file, chunksOf(guideText(chunks), 400).map((c) => JSON.stringify(c)).join("\n") + "\n");
  return { dir, chunks: file };
}

function settingsFor(v: (typeof VENDORS)[number], server: Server, flags: Record<string, unknown> = {}): Settings {
  return loadSettings({
    env: { [v.keyVar]: KEY },
    cwd: tmpdir(),
    flags: { provider: v.name, model: v.model, baseUrl: server.baseURL, cache: false, concurrency: 2, batchPollSec: 0.005, batchSyncBelow: 0, maxRetries: 2, ...flags },
  });
}

/** Requests that reached the synchronous route (the batch routes are not counted). */
const syncCalls = (s: Server) => s.requests.filter((r) => /chat\/completions|\/v1\/messages$|:generateContent$/.test(r.path)).length;

async function both(v: (typeof VENDORS)[number], batch: BatchServerOptions) {
  const sync = await v.start({ defaultReply: replyFor, apiKey: KEY });
  const bat = await v.start({ defaultReply: replyFor, apiKey: KEY, batch });
  return { sync, bat, close: async () => { await sync.close(); await bat.close(); } };
}

for (const v of VENDORS) {
  test(`${v.name}: generate-qa and validate with --batch write the same bytes as synchronous runs; results come back reversed`, async () => {
    const s = await both(v, { polls: 2 });
    try {
      const { dir, chunks } = project();
      const qa = (d: string) => join(dir, d, "training_data.json");
      await runGenerateQa(settingsFor(v, s.sync), { input: chunks, output: qa("sync"), resume: false });
      await runGenerateQa(settingsFor(v, s.bat, { batch: true }), { input: chunks, output: qa("batch"), resume: false });
      const ref = readFileSync(qa("sync"), "utf8");
      assert.ok(JSON.parse(ref).length >= 8, "pairs were made");
      assert.equal(readFileSync(qa("batch"), "utf8"), ref, "byte-identical records");
      assert.equal(syncCalls(s.bat), 0, "every request went through the batch");
      assert.equal(s.bat.batches.creates, 1);
      assert.equal(s.bat.batches.lines, syncCalls(s.sync), "one batch line per synchronous request");

      const report = (d: string) => join(dir, d, "validation_report.json");
      await runValidate(settingsFor(v, s.sync), { input: qa("sync"), output: report("vsync"), resume: false });
      await runValidate(settingsFor(v, s.bat, { batch: true }), { input: qa("sync"), output: report("vbatch"), resume: false });
      const scored = (d: string) => readFileSync(join(dir, d, "validation_report.scored.ndjson"), "utf8");
      assert.equal(scored("vbatch"), scored("vsync"));
      assert.equal(syncCalls(s.bat), 0);
      assert.equal(s.bat.batches.creates, 2);
      const ledger = JSON.parse(readFileSync(join(dir, "vbatch", "validation_report.scored.ndjson.batches.json"), "utf8"));
      assert.equal(ledger.batches.length, 1);
      assert.ok(ledger.batches[0].id && ledger.batches[0].collected);
      assert.match(ledger.batches[0].customIds[0], /^[A-Za-z0-9_]+-[0-9a-f]{24}$/, "custom_id: record id, then request key");
    } finally {
      await s.close();
    }
  });

  test(`${v.name}: failed and expired lines are retried in a follow-up batch; a line that keeps failing is recorded with error`, async () => {
    const bad = new Set<string>();
    const s = await both(v, {
      fail: (customId, attempt) => {
        const n = parseInt(customId.slice(-2), 16);
        if (n % 5 === 0 && attempt === 1) return "expired";
        if (n % 5 === 1 && attempt <= 2) return { status: 500, message: "overloaded" };
        if (n % 7 === 2) { bad.add(customId); return { status: 400, message: "bad request" }; }
        return undefined;
      },
    });
    try {
      const { dir, chunks } = project(12);
      const qa = (d: string) => join(dir, d, "training_data.json");
      await runGenerateQa(settingsFor(v, s.sync), { input: chunks, output: qa("sync"), resume: false });
      await runGenerateQa(settingsFor(v, s.bat, { batch: true }), { input: chunks, output: qa("batch"), resume: false, maxFailures: 100 });
      const ref = JSON.parse(readFileSync(qa("sync"), "utf8")) as Array<{ chunkId: string; error?: string; id: string }>;
      const got = JSON.parse(readFileSync(qa("batch"), "utf8")) as typeof ref;
      assert.ok(s.bat.batches.creates >= 2, "a follow-up batch was made");
      const retried = [...s.bat.batches.attempts.values()].filter((n) => n > 1).length;
      assert.ok(retried > 0, "some lines were submitted again");
      // Every chunk is there once: its pairs as in the synchronous run, or one record with the error.
      assert.ok(bad.size > 0, "some lines fail for good");
      const failed = got.filter((r) => r.error);
      assert.equal(failed.length, bad.size, "each line that kept failing is one record with error");
      for (const f of failed) assert.match(f.error!, /bad request/);
      const failedChunks = new Set(failed.map((r) => r.chunkId));
      assert.deepEqual(got.filter((r) => !r.error).map((r) => r.id), ref.filter((r) => !failedChunks.has(r.chunkId)).map((r) => r.id), "none lost, none duplicated, same order");
      assert.equal(syncCalls(s.bat), 0);
    } finally {
      await s.close();
    }
  });
}

test("openai: --max-cost below the batch estimate refuses before anything is submitted; --dry-run prints the batch plan", async () => {
  const v = VENDORS[0];
  const server = await v.start({ defaultReply: replyFor, apiKey: KEY, batch: {} });
  try {
    const { dir, chunks } = project(30);
    await assert.rejects(
      runGenerateQa(settingsFor(v, server, { batch: true, maxCost: 0.000001 }), { input: chunks, output: join(dir, "qa", "training_data.json"), resume: false }),
      (e: unknown) => e instanceof PipelineError && e.code === "E_BUDGET" && /nothing was submitted/.test(e.message),
    );
    assert.equal(server.batches.creates, 0);
    assert.equal(server.requests.length, 0, "no request at all");

    let out = "";
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((t: string) => { out += t; return true; }) as typeof process.stderr.write;
    try {
      await runGenerateQa(settingsFor(v, server, { batch: true }), { input: chunks, output: join(dir, "qa", "training_data.json"), resume: false, dryRun: true });
    } finally {
      process.stderr.write = write;
    }
    const n = readFileSync(chunks, "utf8").trim().split("\n").length;
    assert.match(out, /dry run of generate-qa --batch: openai \/ gpt-4o-mini/);
    assert.match(out, new RegExp(`requests: ${n}\\b`));
    assert.match(out, /batches: {2}1/);
    const [, batchCost, syncCost] = /cost: +\$(\d+\.\d+) at batch prices \(\$(\d+\.\d+) one by one\)/.exec(out)!.map(Number);
    assert.ok(Math.abs(batchCost! * 2 - syncCost!) < 1e-4, "batch price is half the list price");
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test("requests are split by each vendor's request and byte limits, in order", () => {
  const vendor = batchVendorFor({ name: "claude", model: "claude-3-5-haiku-latest", baseURL: "http://127.0.0.1:9" }, { ANTHROPIC_API_KEY: KEY });
  const line = (i: number, size: number) => ({ customId: `r${i}-${"0".repeat(24)}`, request: { messages: [{ role: "user" as const, content: "x".repeat(size) }] } });
  const lines = Array.from({ length: 10 }, (_, i) => line(i, 1000));
  const one = vendor.lineBytes(lines[0]!);
  const byBytes = splitBatches(lines, { maxRequests: 100, maxBytes: one * 3 + 10 }, (l) => vendor.lineBytes(l));
  assert.deepEqual(byBytes.map((p) => p.lines.length), [3, 3, 3, 1]);
  assert.ok(byBytes.every((p) => p.bytes <= one * 3 + 10));
  const byCount = splitBatches(lines, { maxRequests: 4, maxBytes: 1e9 }, (l) => vendor.lineBytes(l));
  assert.deepEqual(byCount.map((p) => p.lines.length), [4, 4, 2]);
  assert.deepEqual(byCount.flatMap((p) => p.lines.map((l) => l.customId)), lines.map((l) => l.customId), "input order kept");
  assert.throws(() => splitBatches([line(0, 5000)], { maxRequests: 10, maxBytes: 100 }, (l) => vendor.lineBytes(l)), /over the vendor's 100-byte batch limit/);
  assert.deepEqual(
    [batchVendorFor({ name: "openai", model: "m" }, {}).limits, vendor.limits],
    [{ maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 }, { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 }],
  );
});

test("--batch with a backend that has no batch service is refused by name", async () => {
  const { dir, chunks } = project(2);
  for (const provider of ["extractive", "ollama", "local", "gguf"]) {
    await assert.rejects(
      runGenerateQa(loadSettings({ env: {}, cwd: tmpdir(), flags: { provider, batch: true } }), { input: chunks, output: join(dir, "qa", "training_data.json"), resume: false }),
      (e: unknown) => e instanceof PipelineError && e.code === "E_USAGE" && /--batch uses a vendor's batch service, and (extractive|ollama|llama-cpp) has none/.test(e.message),
    );
  }
});

test("openai: `pipeline --batch` (steps in turn) writes the files the streaming pipeline writes", async () => {
  const v = VENDORS[0];
  const s = await both(v, {});
  try {
    const dir = mkdtempSync(join(tmpdir(), "batch-pipeline-"));
    mkdirSync(join(dir, "docs"));
    writeFileSync(join(dir, "docs", "guide.md"), guideText(6));
    const folders = (d: string) => ({ inputDir: join(dir, "docs"), chunksDir: join(dir, d, "chunks"), qaDir: join(dir, d, "qa"), chunkSize: 400, chunkOverlap: 0 });
    await runPipeline(settingsFor(v, s.sync, folders("sync")), { formatThreshold: 0, resume: false });
    await runPipeline(settingsFor(v, s.bat, { ...folders("batch"), batch: true }), { formatThreshold: 0, resume: false });
    for (const f of ["training_data.json", "validation_report.scored.ndjson", "training_data_final.jsonl"]) {
      assert.equal(readFileSync(join(dir, "batch", "qa", f), "utf8"), readFileSync(join(dir, "sync", "qa", f), "utf8"), f);
    }
    assert.equal(s.bat.batches.creates, 2, "one batch for generate-qa, one for validate");
    assert.equal(syncCalls(s.bat), 0);
  } finally {
    await s.close();
  }
});

test("--batch needs files on both ends: stdin input or stdout output is refused by name", async () => {
  const { dir, chunks } = project(2);
  const server = await startOpenAiServer({ apiKey: KEY, batch: {} });
  try {
    const s = settingsFor(VENDORS[0], server, { batch: true });
    await assert.rejects(runGenerateQa(s, { input: chunks, output: undefined, resume: false }), /--batch keeps its batch ledger beside the output file/);
    await assert.rejects(runGenerateQa(s, { input: undefined, output: join(dir, "qa", "training_data.json"), resume: false }), /--batch reads the chunks more than once/);
    await assert.rejects(runValidate(s, { input: undefined, output: join(dir, "qa", "validation_report.json"), resume: false }), /--batch reads the pairs more than once/);
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test("`pipeline all --batch` with the offline default is refused before any step runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "batch-all-"));
  const { runAll } = await import("../../src/steps/all.ts");
  const settings = loadSettings({ env: {}, cwd: dir, flags: { batch: true, inputDir: join(dir, "docs"), qaDir: join(dir, "qa"), chunksDir: join(dir, "chunks") } });
  await assert.rejects(runAll(settings, { validFraction: 0.2, ollama: false, resume: false }), /--batch uses a vendor's batch service, and extractive has none/);
  assert.deepEqual(readdirSync(dir), [], "nothing written");
});
