// The batch engine on its own (src/providers/batch/run.ts): a kill between the vendor's create and the ledger
// write is found again on --resume — by the batch's label (OpenAI), or by its time and size where the vendor keeps
// no label (Anthropic) — so its requests are not submitted twice; an Anthropic batch that cannot be told apart from
// another is not guessed at.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setLogLevel } from "../../src/log.ts";
import { claudeBatch } from "../../src/providers/batch/claude.ts";
import { openaiBatch } from "../../src/providers/batch/openai.ts";
import { withRecordId } from "../../src/providers/batch/replay.ts";
import { ignoreDeferred, runBatches, type BatchRunOptions } from "../../src/providers/batch/run.ts";
import { createClient, type ClientConfig } from "../../src/providers/client.ts";
import { claudeProvider } from "../../src/providers/claude.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import type { GenerateRequest, Provider } from "../../src/providers/types.ts";
import { startAnthropicServer } from "../fixtures/servers/anthropic.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";

setLogLevel("quiet");
const KEY = "sk-test-engine-SECRET-0123456789";
const config: ClientConfig = { step: "test", concurrency: 2, timeoutMs: 10_000, maxRetries: 1, prices: DEFAULT_PRICES };
const requests: GenerateRequest[] = Array.from({ length: 6 }, (_, i) => ({ messages: [{ role: "user", content: `question number ${i}` }] }));

async function askAll(backend: Provider): Promise<Array<{ text: string; batch?: boolean }>> {
  const c = createClient(backend, config);
  try {
    const out: Array<{ text: string; batch?: boolean }> = [];
    for (const [i, r] of requests.entries()) out.push(await withRecordId(`rec${i}`, () => c.generate(r)));
    return out;
  } finally {
    await c.close();
  }
}

test("a kill after the batch was created but before its id was written: --resume finds it by label and submits nothing again", async () => {
  const server = await startOpenAiServer({ apiKey: KEY, defaultReply: (req) => `answer to ${req.messages.at(-1)!.content}`, batch: { polls: 2 } });
  try {
    const target = join(mkdtempSync(join(tmpdir(), "batch-engine-")), "out.json");
    const vendor = openaiBatch({ model: "gpt-4o-mini", apiKey: KEY, baseURL: server.baseURL });
    const backend = openaiProvider({ model: "gpt-4o-mini", apiKey: KEY, baseURL: server.baseURL });
    const o: BatchRunOptions = {
      step: "test", target, vendor, backend, settingsHash: "h", resume: false, maxRetries: 1, syncBelow: 0, pollMs: 5, prices: DEFAULT_PRICES, outputTokensPerCall: 10,
      collect: async (b) => { for (const [i, r] of requests.entries()) await withRecordId(`rec${i}`, () => createClient(b, config).generate(r)).catch(ignoreDeferred); },
    };
    const dies = { ...vendor, submit: async (lines: Parameters<typeof vendor.submit>[0], label: string) => { await vendor.submit(lines, label); throw new Error("killed right after the create"); } };
    await assert.rejects(runBatches({ ...o, vendor: dies }), /killed right after the create/);
    assert.equal(server.batches.creates, 1);
    const ledger = JSON.parse(readFileSync(`${target}.batches.json`, "utf8"));
    assert.equal(ledger.batches[0].state, "submitting");
    assert.equal(ledger.batches[0].id, undefined);

    const run = await runBatches({ ...o, resume: true });
    assert.equal(server.batches.creates, 1, "found by its label, not created again");
    assert.equal(run.submitted, 0);
    const replies = await askAll(run.replay);
    assert.deepEqual(replies.map((r) => r.text), requests.map((r) => `answer to ${r.messages[0]!.content}`));
    assert.ok(replies.every((r) => r.batch), "every reply came from the batch");
    assert.equal(server.requests.filter((r) => r.path.endsWith("/chat/completions")).length, 0);
  } finally {
    await server.close();
  }
});

for (const rival of [false, true]) {
  test(rival
    ? "Anthropic (no labels): a second batch of the same size made at the same time is not guessed at — the lost one is submitted again, with a warning"
    : "Anthropic (no labels): the lost batch is recognised by its creation time and size; --resume submits nothing again", async () => {
    const server = await startAnthropicServer({ apiKey: KEY, defaultReply: (req) => `answer to ${req.messages.at(-1)!.content}`, batch: { polls: 2 } });
    try {
      const target = join(mkdtempSync(join(tmpdir(), "batch-engine-claude-")), "out.json");
      const model = "claude-3-5-haiku-latest";
      const vendor = claudeBatch({ model, apiKey: KEY, baseURL: server.baseURL });
      const backend = claudeProvider({ model, apiKey: KEY, baseURL: server.baseURL });
      const o: BatchRunOptions = {
        step: "test", target, vendor, backend, settingsHash: "h", resume: false, maxRetries: 1, syncBelow: 0, pollMs: 5, prices: DEFAULT_PRICES, outputTokensPerCall: 10,
        collect: async (b) => { for (const [i, r] of requests.entries()) await withRecordId(`rec${i}`, () => createClient(b, config).generate(r)).catch(ignoreDeferred); },
      };
      const dies = { ...vendor, submit: async (lines: Parameters<typeof vendor.submit>[0], label: string) => {
        await vendor.submit(lines, label);
        if (rival) await vendor.submit(lines, "someone else's"); // same key, same size, same minute
        throw new Error("killed right after the create");
      } };
      await assert.rejects(runBatches({ ...o, vendor: dies }), /killed right after the create/);
      assert.equal(server.batches.creates, rival ? 2 : 1);

      const run = await runBatches({ ...o, resume: true });
      assert.equal(server.batches.creates, rival ? 3 : 1, rival ? "submitted again, not guessed" : "recognised, not created again");
      assert.equal(run.submitted, rival ? requests.length : 0);
      const replies = await askAll(run.replay);
      assert.deepEqual(replies.map((r) => r.text), requests.map((r) => `answer to ${r.messages[0]!.content}`));
      assert.ok(replies.every((r) => r.batch), "every reply came from a batch");
      const ledger = JSON.parse(readFileSync(`${target}.batches.json`, "utf8")) as { batches: Array<{ id?: string; state: string }> };
      assert.equal(ledger.batches.filter((b) => b.id).length, 1, "one batch in the ledger carries the answers");
    } finally {
      await server.close();
    }
  });
}
