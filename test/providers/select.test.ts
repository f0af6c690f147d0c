// Choosing a backend from flags, environment and config.env; failing before any work when it cannot run.
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { z } from "zod";
import { loadSettings } from "../../src/config.ts";
import { PipelineError } from "../../src/errors.ts";
import { openClient } from "../../src/providers/client.ts";
import { resolveSelection, selectProvider } from "../../src/providers/select.ts";
import { startOllamaServer } from "../fixtures/servers/ollama.ts";
import { startOpenAiServer } from "../fixtures/servers/openai.ts";
import { QA_SCHEMA, TEST_KEY } from "./vendors.ts";

const DEAD = "http://127.0.0.1:9"; // discard port: nothing listens
const settings = (env: Record<string, string>, flags: Record<string, unknown> = {}, cwd?: string) => loadSettings({ env, flags, cwd: cwd ?? tmpdir() });

async function rejects(p: Promise<unknown>, re: RegExp): Promise<PipelineError> {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${err}`);
  assert.match(err.message, re);
  assert.ok(!err.message.includes(TEST_KEY));
  return err;
}

test("a chosen hosted backend with no key fails before any work, naming the variable", async () => {
  const env = { OLLAMA_HOST: DEAD };
  await rejects(selectProvider(settings(env, { provider: "openai" })), /OPENAI_API_KEY/);
  await rejects(selectProvider(settings(env, { provider: "claude" })), /ANTHROPIC_API_KEY/);
  await rejects(selectProvider(settings(env, { provider: "gemini" })), /GEMINI_API_KEY/);
  const e = await rejects(selectProvider(settings(env, { provider: "llama-cpp" })), /PIPELINE_LLM_MODEL/);
  assert.equal(e.exitCode, 2);
});

test("an unreachable host fails before any work, naming what to set", async () => {
  await rejects(selectProvider(settings({ OLLAMA_HOST: DEAD }, { provider: "local", model: "llama2:7b" })), /OLLAMA_HOST/);
  await rejects(selectProvider(settings({ OPENAI_API_KEY: TEST_KEY, OPENAI_BASE_URL: `${DEAD}/v1` }, { provider: "openai" })), /OPENAI_BASE_URL/);
  await rejects(selectProvider(settings({ ANTHROPIC_API_KEY: TEST_KEY }, { provider: "claude", baseUrl: DEAD })), /ANTHROPIC_BASE_URL/);
});

test("--provider local means Ollama; a missing model says how to pull it", async () => {
  const server = await startOllamaServer({ models: ["llama3.2:latest"] });
  try {
    const s = settings({ OLLAMA_HOST: server.url }, { provider: "local", model: "llama2:7b" });
    await rejects(selectProvider(s), /ollama pull llama2:7b/);
    const p = await selectProvider(settings({ OLLAMA_HOST: server.url.replace("http://", "") }, { provider: "local" }));
    assert.equal(p.name, "ollama");
    assert.equal(p.model, "llama3.2:latest", "no --model: the first installed model");
  } finally {
    await server.close();
  }
});

test("auto-selection: key in env › reachable Ollama › GGUF › extractive", async () => {
  const noOllama = { OLLAMA_HOST: DEAD };
  assert.equal((await resolveSelection(settings({ ...noOllama, OPENAI_API_KEY: TEST_KEY }))).provider, "openai");
  assert.equal((await resolveSelection(settings({ ...noOllama, ANTHROPIC_API_KEY: TEST_KEY }))).provider, "claude");
  const g = await resolveSelection(settings({ ...noOllama, GOOGLE_API_KEY: TEST_KEY }));
  assert.equal(g.provider, "gemini");
  assert.match(g.reason, /GOOGLE_API_KEY/);
  const server = await startOllamaServer({ models: ["qwen2.5:0.5b"] });
  try {
    const o = await resolveSelection(settings({ OLLAMA_HOST: server.url }));
    assert.deepEqual([o.provider, o.model], ["ollama", "qwen2.5:0.5b"]);
  } finally {
    await server.close();
  }
  const dir = await mkdtemp(join(tmpdir(), "gguf-sel-"));
  const gguf = join(dir, "m.gguf");
  await writeFile(gguf, "GGUF");
  const l = await resolveSelection(settings({ ...noOllama, PIPELINE_LLM_MODEL: gguf }));
  assert.deepEqual([l.provider, l.model], ["llama-cpp", gguf]);
  const x = await selectProvider(settings(noOllama));
  assert.equal(x.name, "extractive");
  await rejects(x.generate({ messages: [{ role: "user", content: "hi" }] }), /client\.provider === "extractive"/);
});

test("keys come from config.env when the environment lacks them", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cfg-"));
  await writeFile(join(dir, "config.env"), `ANTHROPIC_API_KEY=${TEST_KEY}\nPIPELINE_LLM_MODEL=claude-3-5-haiku-latest\n`);
  const sel = await resolveSelection(settings({ OLLAMA_HOST: DEAD }, {}, dir));
  assert.deepEqual([sel.provider, sel.model], ["claude", "claude-3-5-haiku-latest"]);
});

test("unknown provider name is a config error listing the choices", async () => {
  const e = await rejects(resolveSelection(settings({}, { provider: "gpt" })), /openai, claude, gemini, ollama, llama-cpp, extractive/);
  assert.equal(e.code, "E_CONFIG");
});

test("openClient end to end: settings → OpenAI-compatible loopback server, cache under the output dir", async () => {
  const server = await startOpenAiServer({ apiKey: TEST_KEY });
  const out = await mkdtemp(join(tmpdir(), "out-"));
  try {
    const s = settings({ OPENAI_API_KEY: TEST_KEY, OPENAI_BASE_URL: server.baseURL, PIPELINE_LLM_PROVIDER: "openai", PIPELINE_LLM_MODEL: "loopback-model", PIPELINE_TEMPERATURE: "0.4" });
    const client = await openClient(s, { step: "generate-qa", defaultCacheDir: join(out, ".llm-cache") });
    assert.equal(client.provider, "openai");
    assert.equal(client.config.cacheDir, join(out, ".llm-cache"));
    const r = await client.generateJson({ messages: [{ role: "user", content: "Q&A please" }], schema: QA_SCHEMA }, z.object({ pairs: z.array(z.object({ question: z.string(), answer: z.string() })) }));
    assert.ok(r.ok);
    const req = server.requests.find((q) => q.path.endsWith("/chat/completions"))!;
    assert.equal(req.temperature, 0.4, "settings temperature is the default");
    assert.equal(req.model, "loopback-model");
    await client.close();
    const noCache = await openClient(settings({ OPENAI_API_KEY: TEST_KEY, OPENAI_BASE_URL: server.baseURL, PIPELINE_LLM_PROVIDER: "openai", PIPELINE_CACHE: "false" }), { step: "x", defaultCacheDir: out });
    assert.equal(noCache.config.cacheDir, undefined);
    await noCache.close();
  } finally {
    await server.close();
  }
});
