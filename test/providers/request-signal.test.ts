// The per-request signal: times out, follows the caller's signal, and lets a finished request be collected.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { setLogLevel } from "../../src/log.ts";
import { createClient } from "../../src/providers/client.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { openaiProvider } from "../../src/providers/openai.ts";
import { DEFAULT_PRICES } from "../../src/providers/prices.ts";
import { withRequestSignal } from "../../src/providers/request-signal.ts";
import type { Provider } from "../../src/providers/types.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { TEST_KEY } from "./vendors.ts";

setLogLevel("quiet");
after(() => setLogLevel("normal"));

// A GC we can force, without a command-line flag (the test runner starts this file).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const waitFor = (signal: AbortSignal) => new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));

test("aborts with a TimeoutError after timeoutMs; the caller's signal keeps no listener afterwards", async () => {
  const outer = new AbortController();
  let seen: AbortSignal | undefined;
  const t0 = performance.now();
  await withRequestSignal(50, outer.signal, async (signal) => {
    seen = signal;
    await waitFor(signal);
  });
  assert.ok(performance.now() - t0 >= 45);
  assert.equal((seen!.reason as DOMException).name, "TimeoutError");
  assert.equal(outer.signal.aborted, false);
  assert.equal(getEventListeners(outer.signal, "abort").length, 0);
});

test("follows the caller's signal with its reason, also when it was aborted before the start", async () => {
  const outer = new AbortController();
  const reason = new Error("stop");
  const inner = withRequestSignal(10_000, outer.signal, async (signal) => {
    await waitFor(signal);
    return signal.reason;
  });
  outer.abort(reason);
  assert.equal(await inner, reason);
  assert.equal(await withRequestSignal(10_000, outer.signal, async (signal) => (signal.aborted ? signal.reason : "not aborted")), reason);
});

test("the timer is cleared when the request settles (the process is not held open, nothing fires later)", async () => {
  let signal!: AbortSignal;
  await assert.rejects(withRequestSignal(30, undefined, async (s) => { signal = s; throw new Error("failed fast"); }), /failed fast/);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(signal.aborted, false);
});

// The leak this guards against: with AbortSignal.timeout()/any(), Node keeps a signal alive while it has an
// "abort" listener and its timer has not fired; the OpenAI SDK never removes its listener, so every finished
// request (≈ 2 KB with the SDK's controller) stayed in memory for --timeout seconds.
test("finished requests through the real OpenAI SDK leave their signals collectable (with and without a caller's signal)", async () => {
  const server = await startOpenAiServer({ apiKey: TEST_KEY });
  try {
    const inner = openaiProvider({ model: "gpt-test", apiKey: TEST_KEY, baseURL: server.baseURL });
    const signals: Array<WeakRef<AbortSignal>> = [];
    const provider: Provider = { name: inner.name, model: inner.model, generate: (req) => { signals.push(new WeakRef(req.signal!)); return inner.generate(req); } };
    const client = createClient(provider, { step: "test", concurrency: 8, timeoutMs: 60_000, maxRetries: 0, prices: DEFAULT_PRICES });
    const caller = new AbortController();
    await Promise.all(Array.from({ length: 200 }, (_, i) =>
      client.generate({ messages: [{ role: "user", content: `item ${i}` }], ...(i % 2 ? { signal: caller.signal } : {}) })));
    await client.close();
    // WeakRefs made in this turn stay alive until it ends; let it end, then collect.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    const alive = signals.filter((w) => w.deref() !== undefined).length;
    assert.equal(signals.length, 200);
    assert.ok(alive <= 10, `${alive} of 200 finished requests' signals are still reachable`);
    assert.equal(getEventListeners(caller.signal, "abort").length, 0);
  } finally {
    await server.close();
  }
});

test("a caller's abort stops a hung request at once, without retries, with the caller's reason", async () => {
  const caller = new AbortController();
  const reason = new Error("interrupted");
  // Abort once the server holds the request (a fixed delay can fire before it arrives on a loaded machine).
  const server = await startOpenAiServer({ apiKey: TEST_KEY, script: () => { setTimeout(() => caller.abort(reason), 20); return { hang: true }; } });
  try {
    const client = createClient(openaiProvider({ model: "gpt-test", apiKey: TEST_KEY, baseURL: server.baseURL }), { step: "test", concurrency: 2, timeoutMs: 10_000, maxRetries: 3, prices: DEFAULT_PRICES });
    const t0 = performance.now();
    const err = await client.generate({ messages: [{ role: "user", content: "hi" }], signal: caller.signal }).then(() => null, (e: unknown) => e);
    assert.equal(err, reason);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(server.calls, 1);
    assert.equal(client.usage().total.retries, 0);
    await client.close();
  } finally {
    await server.close();
  }
});

test("the client's timeout still surfaces as a retryable E_TIMEOUT", async () => {
  const server = await startOpenAiServer({ apiKey: TEST_KEY, script: () => ({ hang: true }) });
  try {
    const client = createClient(openaiProvider({ model: "gpt-test", apiKey: TEST_KEY, baseURL: server.baseURL }), { step: "test", concurrency: 2, timeoutMs: 100, maxRetries: 1, prices: DEFAULT_PRICES, backoff: { baseDelayMs: 10, maxDelayMs: 20 } });
    const err = await client.generate({ messages: [{ role: "user", content: "hi" }] }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ProviderError, String(err));
    assert.equal(err.code, "E_TIMEOUT");
    assert.equal(err.kind, "timeout");
    assert.equal(server.calls, 2);
    await client.close();
  } finally {
    await server.close();
  }
});
