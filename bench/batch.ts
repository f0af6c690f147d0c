// --batch against a synchronous run: generate-qa over N chunks on loopback OpenAI servers — the synchronous one
// answers each request after --latency ms, the batch one ends a batch after --polls status requests (polled every
// --poll-sec s: the simulated batch latency). Prints wall time, HTTP requests the client made, and the cost of the
// tokens both runs spent at gpt-4o-mini's list and batch prices. Both outputs must be byte-identical.
//   node --import tsx bench/batch.ts [--chunks 1000] [--latency 200] [--concurrency 8] [--polls 10] [--poll-sec 0.5]
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadSettings } from "../src/config.ts";
import { setLogLevel } from "../src/log.ts";
import { batchPriceFor, costOf, DEFAULT_PRICES, priceFor } from "../src/providers/prices.ts";
import { runGenerateQa } from "../src/steps/generate-qa.ts";
import { replyFor } from "../test/fixtures/batch-replies.ts";
import { startOpenAiServer } from "../test/fixtures/servers/openai.ts";
import { chunksOf, guideText } from "../test/transforms/qa-fixtures.ts";

const { values } = parseArgs({ options: {
  chunks: { type: "string", default: "1000" }, latency: { type: "string", default: "200" }, concurrency: { type: "string", default: "8" },
  polls: { type: "string", default: "10" }, "poll-sec": { type: "string", default: "0.5" },
} });
setLogLevel("quiet");
const KEY = "sk-bench-batch-0123456789";
const MODEL = "gpt-4o-mini";
const want = Number(values.chunks);

const dir = mkdtempSync(join(tmpdir(), "bench-batch-"));
mkdirSync(join(dir, "chunks"));
let sections = Math.ceil(want / 2);
let chunks = chunksOf(guideText(sections), 400);
while (chunks.length < want) chunks = chunksOf(guideText(++sections), 400);
chunks = chunks.slice(0, want);
writeFileSync(join(dir, "chunks", "chunks.ndjson"), chunks.map((c) => JSON.stringify(c)).join("\n") + "\n");

async function timed(batch: boolean) {
  const server = await startOpenAiServer({ defaultReply: replyFor, apiKey: KEY, latencyMs: batch ? 0 : Number(values.latency), batch: { polls: Number(values.polls) } });
  const out = join(dir, batch ? "batch" : "sync", "training_data.json");
  const settings = loadSettings({ env: { OPENAI_API_KEY: KEY }, cwd: tmpdir(), flags: {
    provider: "openai", model: MODEL, baseUrl: server.baseURL, cache: false, concurrency: Number(values.concurrency), batch, batchPollSec: Number(values["poll-sec"]),
  } });
  const t0 = performance.now();
  await runGenerateQa(settings, { input: join(dir, "chunks", "chunks.ndjson"), output: out, resume: false });
  const seconds = (performance.now() - t0) / 1000;
  await server.close();
  const records = JSON.parse(readFileSync(out, "utf8")) as Array<{ usage: { inputTokens: number; outputTokens: number } }>;
  const tokens = records.reduce((t, r) => ({ input: t.input + r.usage.inputTokens, output: t.output + r.usage.outputTokens }), { input: 0, output: 0 });
  return { seconds, requests: server.requests.length, creates: server.batches.creates, text: readFileSync(out, "utf8"), tokens, records: records.length };
}

const sync = await timed(false);
const batch = await timed(true);
assert.equal(batch.text, sync.text, "byte-identical outputs");
const list = costOf(priceFor("openai", MODEL, DEFAULT_PRICES), sync.tokens.input, sync.tokens.output);
const half = costOf(batchPriceFor("openai", MODEL, DEFAULT_PRICES), batch.tokens.input, batch.tokens.output);
console.log(`| run | chunks | records | HTTP requests | batches | wall time | tokens in / out | cost at ${MODEL} list prices |`);
console.log("|---|---|---|---|---|---|---|---|");
console.log(`| synchronous (latency ${values.latency} ms, concurrency ${values.concurrency}) | ${want} | ${sync.records} | ${sync.requests} | – | ${sync.seconds.toFixed(1)} s | ${sync.tokens.input} / ${sync.tokens.output} | $${list.toFixed(4)} |`);
console.log(`| --batch (${values.polls} polls × ${values["poll-sec"]} s) | ${want} | ${batch.records} | ${batch.requests} | ${batch.creates} | ${batch.seconds.toFixed(1)} s | ${batch.tokens.input} / ${batch.tokens.output} | $${half.toFixed(4)} (batch prices) |`);
rmSync(dir, { recursive: true, force: true });
