// The client layer over real SDKs and loopback servers: retries, Retry-After, timeouts, repair, AIMD, cache, budget.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { z } from "zod";
import { PipelineError } from "../../src/errors.ts";
import { setLogLevel } from "../../src/log.ts";
import { createClient, type ClientConfig } from "../../src/providers/client.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import type { Provider } from "../../src/providers/types.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { QA_SCHEMA, TEST_KEY, VENDORS } from "./vendors.ts";

const Pairs = z.object({ pairs: z.array(z.object({ question: z.string().min(1), answer: z.string().min(1) })).min(1) });
const GOOD = JSON.stringify({ pairs: [{ question: "What is the capital of France?", answer: "Paris." }] });
const ask = { messages: [{ role: "user" as const, content: "Make one Q&A pair about Paris." }], schema: QA_SCHEMA };

const config = (over: Partial<ClientConfig> = {}): ClientConfig => ({
  step: "test",
  concurrency: 4,
  timeoutMs: 5000,
  maxRetries: 3,
  prices: DEFAULT_PRICES,
  backoff: { baseDelayMs: 10, maxDelayMs: 50 },
  ...over,
});

// Everything the layer prints (verbose, so retries are logged too) must be free of the key.
const written: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);
before(() => {
  setLogLevel("verbose");
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(String(chunk));
    return (realWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
});
after(() => {
  process.stderr.write = realWrite;
  setLogLevel("normal");
  assert.ok(written.length > 0, "the layer logged something");
  assert.ok(!written.join("").includes(TEST_KEY), "API key leaked to stderr");
});

for (const v of VENDORS) {
  test(`${v.name}: 429 with Retry-After, 500, 503 are retried until success; the wait is honoured`, async () => {
    const server = await v.start({ script: [{ status: 429, headers: { "retry-after": "1" } }, { status: 500 }, { status: 503 }, { reply: GOOD }] });
    const client = createClient(v.provider(server), config());
    try {
      const t0 = Date.now();
      const out = await client.generateJson(ask, Pairs);
      assert.ok(out.ok, out.ok ? "" : out.error);
      assert.equal(out.value.pairs[0]!.answer, "Paris.");
      assert.equal(server.calls, 4);
      assert.ok(Date.now() - t0 >= 1000, "Retry-After: 1 must delay the retry by a second");
      const row = client.usage().rows[0]!;
      assert.equal(row.retries, 3);
      assert.equal(row.calls, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test(`${v.name}: malformed JSON gets one repair turn carrying the bad reply and the error`, async () => {
    const server = await v.start({ script: [{ reply: '{"pairs": [{"question": "Capital?"' }, { reply: GOOD }] });
    const client = createClient(v.provider(server), config());
    try {
      const out = await client.generateJson(ask, Pairs);
      assert.ok(out.ok && out.repaired, JSON.stringify(out));
      const repair = server.requests[1]!.messages;
      assert.ok(repair.some((m) => m.role === "assistant" && m.content.includes('"Capital?"')), "bad reply sent back");
      assert.match(repair.at(-1)!.content, /not valid JSON|not JSON/);
      assert.ok(out.result.usage.inputTokens > 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test(`${v.name}: hung connection times out and is retried, then fails as a value`, async () => {
    const server = await v.start({ script: [{ hang: true }, { hang: true }] });
    const client = createClient(v.provider(server), config({ timeoutMs: 150, maxRetries: 1 }));
    try {
      const t0 = Date.now();
      const out = await client.generateJson(ask, Pairs);
      assert.equal(out.ok, false);
      assert.match(!out.ok ? out.error : "", /timed out.*gave up after 2 attempts/);
      assert.equal(server.calls, 2);
      assert.ok(Date.now() - t0 < 3000);
      assert.equal(client.usage().rows[0]!.failedCalls, 1);
    } finally {
      await client.close();
      await server.close();
    }
  });

  if (v.hasKey) {
    test(`${v.name}: wrong key → one request, E_AUTH thrown (it stops the run), key never shown`, async () => {
      const server = await v.start({ apiKey: "the-right-key-xyz" });
      const client = createClient(v.provider(server, TEST_KEY), config());
      try {
        const err = await client.generateJson(ask, Pairs).then(() => null, (e) => e);
        assert.ok(err instanceof ProviderError, String(err));
        assert.equal(err.code, "E_AUTH");
        assert.equal(server.requests.length, 1, "401 is never retried");
        assert.ok(!String(err.message).includes(TEST_KEY) && !String(err.stack).includes(TEST_KEY));
        process.stderr.write(`(expected) ${err.message}\n`);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
}

test("400 is not retried and becomes a failed record; 404 stops the run", async () => {
  const server = await startOpenAiServer({ script: [{ status: 400, message: "context too long" }, { status: 404, message: "model not found" }] });
  const v = VENDORS[0]!;
  const client = createClient(v.provider(server), config());
  try {
    const out = await client.generateJson(ask, Pairs);
    assert.equal(out.ok, false);
    assert.match(!out.ok ? out.error : "", /HTTP 400.*context too long/);
    const err = await client.generateJson(ask, Pairs).then(() => null, (e) => e);
    assert.ok(err instanceof ProviderError && err.status === 404 && err.fatal, String(err));
    assert.match(err.message, /--model/);
    assert.equal(server.calls, 2);
  } finally {
    await client.close();
    await server.close();
  }
});

test("still-bad reply after the repair is a failure value with the validation error", async () => {
  const server = await startOpenAiServer({ script: [{ reply: '{"pairs": []}' }, { reply: '{"pairs": [{"question": ""}]}' }] });
  const client = createClient(VENDORS[0]!.provider(server), config());
  try {
    const out = await client.generateJson(ask, Pairs);
    assert.equal(out.ok, false);
    assert.match(!out.ok ? out.error : "", /schema.*after one repair/);
    assert.equal(server.calls, 2);
  } finally {
    await client.close();
    await server.close();
  }
});

test("retries are bounded by --max-retries", async () => {
  const server = await startOpenAiServer({ script: () => ({ status: 500 }) });
  const client = createClient(VENDORS[0]!.provider(server), config({ maxRetries: 2 }));
  try {
    const err = await client.generate({ messages: ask.messages }).then(() => null, (e) => e);
    assert.ok(err instanceof ProviderError && err.status === 500, String(err));
    assert.match(err.message, /gave up after 3 attempts/);
    assert.equal(server.calls, 3);
  } finally {
    await client.close();
    await server.close();
  }
});

test("repeated 429s lower concurrency (AIMD) and it recovers when they stop", async () => {
  // The first 12 requests are refused; then everything succeeds.
  const server = await startOpenAiServer({ script: (n) => (n < 12 ? { status: 429, headers: { "retry-after-ms": "5" } } : { reply: "ok", latencyMs: 5 }) });
  const client = createClient(VENDORS[0]!.provider(server), config({ concurrency: 8, maxRetries: 20, aimdCooldownMs: 0 }));
  try {
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.generate({ messages: [{ role: "user", content: `q${i}` }] })));
    const lowered = client.concurrency;
    assert.ok(lowered < 8, `concurrency lowered (now ${lowered})`);
    for (let i = 0; i < 60 && client.concurrency < 8; i++) await client.generate({ messages: [{ role: "user", content: `more ${i}` }] });
    assert.equal(client.concurrency, 8, "back to --concurrency after 429s stop");
  } finally {
    await client.close();
    await server.close();
  }
});

test("--rpm spaces requests; --concurrency caps requests in flight", async () => {
  let inFlight = 0;
  let peak = 0;
  const server = await startOpenAiServer({
    script: () => ({ reply: (() => { inFlight++; peak = Math.max(peak, inFlight); setTimeout(() => inFlight--, 40); return "ok"; })(), latencyMs: 40 }),
  });
  const c1 = createClient(VENDORS[0]!.provider(server), config({ concurrency: 3 }));
  const c2 = createClient(VENDORS[0]!.provider(server), config({ concurrency: 8, rpm: 600 }));
  try {
    await Promise.all(Array.from({ length: 12 }, (_, i) => c1.generate({ messages: [{ role: "user", content: `a${i}` }] })));
    assert.ok(peak <= 3, `peak in flight ${peak} > 3`);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 6 }, (_, i) => c2.generate({ messages: [{ role: "user", content: `b${i}` }] })));
    assert.ok(Date.now() - t0 >= 480, `6 requests at 600 rpm take ≥ 500 ms (took ${Date.now() - t0})`);
  } finally {
    await c1.close();
    await c2.close();
    await server.close();
  }
});

test("response cache: a repeated run never pays twice; entries hold no key", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llm-cache-"));
  const server = await startOpenAiServer({ apiKey: TEST_KEY, script: [{ reply: GOOD, usage: { input: 100, output: 20 } }] });
  try {
    const first = createClient(VENDORS[0]!.provider(server), config({ cacheDir: dir }));
    const a = await first.generateJson(ask, Pairs);
    const b = await first.generateJson(ask, Pairs);
    assert.ok(a.ok && b.ok);
    await first.close();
    const second = createClient(VENDORS[0]!.provider(server), config({ cacheDir: dir }));
    const c = await second.generateJson(ask, Pairs);
    assert.ok(c.ok);
    assert.equal(server.calls, 1, "only the first request reached the server");
    assert.equal(second.usage().rows[0]!.cachedCalls, 1);
    assert.equal(second.usage().total.inputTokens, 0, "cached answers cost nothing");
    // A different temperature is a different request.
    await second.generate({ ...ask, temperature: 0.01 });
    assert.equal(server.calls, 2);
    await second.close();
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".json"));
    assert.equal(files.length, 2);
    for (const f of files) assert.ok(!(await readFile(join(dir, f), "utf8")).includes(TEST_KEY));
  } finally {
    await server.close();
  }
});

test("--max-cost stops cleanly with E_BUDGET before the next request; usage and cost are summed", async () => {
  const server = await startOpenAiServer({ script: () => ({ reply: GOOD, usage: { input: 1_000_000, output: 100_000 } }) });
  const provider: Provider = { ...VENDORS[0]!.provider(server, TEST_KEY, "gpt-4o-mini") };
  const client = createClient(provider, config({ maxCost: 0.2 }));
  try {
    const out = await client.generateJson(ask, Pairs);
    assert.ok(out.ok);
    const err = await client.generateJson({ ...ask, messages: [{ role: "user", content: "another" }] }, Pairs).then(() => null, (e) => e);
    assert.ok(err instanceof PipelineError && err.code === "E_BUDGET", String(err));
    assert.match(err.message, /--resume/);
    assert.equal(server.calls, 1);
    const s = client.usage();
    assert.equal(s.total.inputTokens, 1_000_000);
    assert.equal(s.total.outputTokens, 100_000);
    assert.ok(Math.abs(s.total.cost - (0.15 + 0.06)) < 1e-9, String(s.total.cost));
    assert.match(client.formatUsage(), /gpt-4o-mini: 1 calls.*\$0\.2100/);
  } finally {
    await client.close();
    await server.close();
  }
});

test("response cache: a reply that failed validation is never cached, and the server is part of the key", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llm-cache-bad-"));
  const bad = await startOpenAiServer({ script: [{ reply: '{"pairs": []}' }, { reply: '{"pairs": []}' }, { reply: GOOD }] });
  const other = await startOpenAiServer({ script: [{ reply: GOOD }] });
  try {
    const first = createClient(VENDORS[0]!.provider(bad), config({ cacheDir: dir }));
    const failed = await first.generateJson(ask, Pairs);
    assert.equal(failed.ok, false);
    await first.close();
    // A plain re-run asks again instead of replaying the bad reply (and then caches the good one).
    const second = createClient(VENDORS[0]!.provider(bad), config({ cacheDir: dir }));
    const retried = await second.generateJson(ask, Pairs);
    assert.ok(retried.ok, retried.ok ? "" : retried.error);
    assert.equal(bad.calls, 3, "the failed request went to the server again");
    await second.close();
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".json"));
    assert.equal(files.length, 1, "only the valid reply is cached");
    // The same model name and prompt on another server is another request.
    const third = createClient(VENDORS[0]!.provider(other), config({ cacheDir: dir }));
    assert.ok((await third.generateJson(ask, Pairs)).ok);
    assert.equal(other.calls, 1, "a cached answer from another server is not replayed");
    await third.close();
  } finally {
    await bad.close();
    await other.close();
  }
});
