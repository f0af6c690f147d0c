// Error classification, Retry-After parsing, backoff bounds and the token-rate limiter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isRetryableStatus, retryAfterFromHeaders, toProviderError } from "../../src/providers/errors.ts";
import { RateLimiter } from "../../src/providers/rate-limit.ts";
import { backoffDelay, DEFAULT_BACKOFF } from "../../src/providers/retry.ts";
import { TEST_KEY } from "./vendors.ts";

test("retryable: 408, 409, 429, 5xx; final: 400, 401, 403, 404, 422", () => {
  for (const s of [408, 409, 429, 500, 502, 503, 504, 529]) assert.equal(isRetryableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 413, 422]) assert.equal(isRetryableStatus(s), false, String(s));
});

test("Retry-After as seconds, HTTP date and retry-after-ms", () => {
  assert.equal(retryAfterFromHeaders(new Headers({ "retry-after": "3" })), 3000);
  assert.equal(retryAfterFromHeaders({ "retry-after-ms": "250", "retry-after": "3" }), 250);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterFromHeaders({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }, now), 5000);
  assert.equal(retryAfterFromHeaders({ "retry-after": "soon" }), undefined);
  assert.equal(retryAfterFromHeaders(undefined), undefined);
});

test("backoff doubles up to the cap, with jitter, and never undercuts Retry-After", () => {
  const lo = { ...DEFAULT_BACKOFF, random: () => 0 };
  const hi = { ...DEFAULT_BACKOFF, random: () => 0.999 };
  assert.equal(backoffDelay(0, lo), 250);
  assert.ok(backoffDelay(0, hi) <= 500);
  assert.equal(backoffDelay(3, lo), 2000);
  assert.ok(backoffDelay(20, hi) <= DEFAULT_BACKOFF.maxDelayMs);
  assert.ok(backoffDelay(0, lo, 7000) >= 7000);
  assert.ok(backoffDelay(0, hi, 10 * 3600_000) <= DEFAULT_BACKOFF.maxRetryAfterMs + 1000, "absurd Retry-After is capped");
});

test("a vendor message echoing the key is scrubbed", () => {
  const err = toProviderError(
    Object.assign(new Error(`401 Incorrect API key provided: ${TEST_KEY}`), { status: 401 }),
    { provider: "openai", model: "m", keyVar: "OPENAI_API_KEY", apiKey: TEST_KEY },
  );
  assert.equal(err.code, "E_AUTH");
  assert.ok(!err.message.includes(TEST_KEY), err.message);
  assert.match(err.message, /OPENAI_API_KEY/);
});

test("network failures and timeouts are retryable; aborts are not", () => {
  const net = toProviderError(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }), { provider: "ollama", model: "m", urlVar: "OLLAMA_HOST" });
  assert.deepEqual([net.kind, net.retryable], ["network", true]);
  assert.match(net.message, /OLLAMA_HOST/);
  const ac = new AbortController();
  ac.abort(new DOMException("t", "TimeoutError"));
  assert.deepEqual([toProviderError(new Error("x"), { provider: "openai", model: "m" }, ac.signal).kind], ["timeout"]);
  const user = new AbortController();
  user.abort();
  const aborted = toProviderError(new Error("x"), { provider: "openai", model: "m" }, user.signal);
  assert.deepEqual([aborted.kind, aborted.retryable, aborted.fatal], ["abort", false, true]);
});

test("--tpm: a request that does not fit the token bucket waits for it to refill", async () => {
  const rl = new RateLimiter({ tpm: 6000 }); // 100 tokens/s, bucket of 6000
  try {
    let t0 = Date.now();
    await rl.acquire(5950);
    await rl.acquire(40);
    assert.ok(Date.now() - t0 < 200, "fits the full bucket at once");
    t0 = Date.now();
    await rl.acquire(60); // 10 left: waits for the next refill
    assert.ok(Date.now() - t0 >= 300, `waited ${Date.now() - t0} ms`);
  } finally {
    await rl.stop();
  }
});
