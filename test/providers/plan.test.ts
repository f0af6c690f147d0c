// --dry-run estimates, prices and the shared provider flags.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { defineCommand, runCommand } from "citty";
import { loadSettings } from "../../src/config.ts";
import { PipelineError } from "../../src/errors.ts";
import { providerArgs, providerFlags } from "../../src/cli/provider-args.ts";
import { dryRun, estimatePlan } from "../../src/providers/plan.ts";
import { DEFAULT_PRICES, loadPrices, priceFor } from "../../src/providers/prices.ts";

test("estimatePlan: cost from the price table, time limited by concurrency or rpm", () => {
  const work = { calls: 1000, inputTokens: 1_000_000, outputTokens: 200_000 };
  const e = estimatePlan(work, "openai", "gpt-4o-mini", { concurrency: 4, prices: DEFAULT_PRICES });
  assert.ok(Math.abs(e.cost! - (0.15 + 0.12)) < 1e-9, String(e.cost));
  assert.equal(e.limitedBy, "concurrency");
  const r = estimatePlan(work, "openai", "gpt-4o-mini", { concurrency: 64, rpm: 60, prices: DEFAULT_PRICES });
  assert.equal(r.limitedBy, "rpm");
  assert.ok(Math.abs(r.seconds - 1000) < 1e-6, String(r.seconds));
  assert.equal(estimatePlan(work, "ollama", "llama3.2", { concurrency: 4, prices: DEFAULT_PRICES }).cost, 0);
  assert.equal(estimatePlan(work, "openai", "my-finetune", { concurrency: 4, prices: DEFAULT_PRICES }).cost, undefined);
});

test("prices: longest prefix wins, PIPELINE_PRICES overrides, bad JSON names the key", () => {
  assert.deepEqual(priceFor("claude", "claude-3-5-haiku-20241022", DEFAULT_PRICES), DEFAULT_PRICES["claude-3-5-haiku"]);
  assert.deepEqual(priceFor("openai", "gpt-4o-mini-2024-07-18", DEFAULT_PRICES), DEFAULT_PRICES["gpt-4o-mini"]);
  const t = loadPrices('{"my-finetune":{"input":1,"output":2}}');
  assert.deepEqual(priceFor("openai", "my-finetune", t), { input: 1, output: 2 });
  assert.throws(() => loadPrices("{nope"), (e: unknown) => e instanceof PipelineError && /PIPELINE_PRICES/.test(e.message));
  assert.throws(() => loadPrices('{"m":{"input":-1,"output":2}}'), /PIPELINE_PRICES entry m\.input/);
});

test("dryRun prints calls, tokens, cost and time without a key check or any request", async () => {
  const s = loadSettings({ env: { PIPELINE_LLM_PROVIDER: "claude", PIPELINE_LLM_MODEL: "claude-3-5-haiku-latest", PIPELINE_CONCURRENCY: "8" }, cwd: tmpdir() });
  let text = "";
  const e = await dryRun(s, { calls: 120, inputTokens: 60_000, outputTokens: 24_000 }, { step: "generate-qa", write: (t) => (text += t) });
  assert.equal(e.calls, 120);
  assert.match(text, /dry run of generate-qa: claude \/ claude-3-5-haiku-latest/);
  assert.match(text, /calls: +120/);
  assert.match(text, /~60,000 in \+ ~24,000 out/);
  assert.match(text, /cost: +\$0\.1440/);
  assert.match(text, /time: +~\d+ (s|min)/);
});

test("providerArgs parse into settings: flags win, --no-cache turns the cache off", async () => {
  let flags: ReturnType<typeof providerFlags> = {};
  let dry = false;
  const cmd = defineCommand({ args: { ...providerArgs }, run({ args }) { flags = providerFlags(args); dry = !!args["dry-run"]; } });
  await runCommand(cmd, { rawArgs: ["--provider", "local", "--model", "llama2:7b", "--rpm", "600", "--max-cost", "1.5", "--timeout", "30", "--no-cache", "--dry-run"] });
  const s = loadSettings({ env: { PIPELINE_RPM: "10" }, flags, cwd: tmpdir() });
  assert.equal(s.provider, "local");
  assert.equal(s.model, "llama2:7b");
  assert.equal(s.rpm, 600);
  assert.equal(s.maxCost, 1.5);
  assert.equal(s.timeoutSec, 30);
  assert.equal(s.cache, false);
  assert.equal(dry, true);
  await runCommand(cmd, { rawArgs: ["--cache", "/tmp/c"] });
  const s2 = loadSettings({ env: {}, flags, cwd: tmpdir() });
  assert.equal(s2.cacheDir, "/tmp/c");
  assert.equal(s2.cache, true);
});
