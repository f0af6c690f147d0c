// Base-model resolution: tiny, GGUF paths, an Ollama store laid out here, hf: offline, bare HF repos.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOllamaName, resolveBaseModel } from "../../src/model/base-model.ts";
import { createTinyBase } from "../../src/model/tiny.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { trainingText } from "../fixtures/gguf/text.ts";
import { layOutOllamaStore } from "../train/ollama-store-fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "base-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const modelPath = join(dir, "tiny.gguf");
const tiny = await createTinyBase(modelPath, trainingText(1, 2000), { config: { vocab: 400, dim: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 32 } });

const store = join(dir, "ollama");
const layers = layOutOllamaStore(store, modelPath, "registry.ollama.ai", "library", "qwen2.5", "0.5b");
layOutOllamaStore(store, modelPath, "registry.ollama.ai", "someone", "mymodel", "latest");
const env = { OLLAMA_MODELS: store };

test("tiny is the default and is built from the training text", async () => {
  assert.deepEqual(await resolveBaseModel(undefined), { kind: "tiny", spec: "tiny" });
  assert.deepEqual(await resolveBaseModel("tiny"), { kind: "tiny", spec: "tiny" });
  assert.equal(tiny.config.vocab, tiny.vocab.tokens.length);
  const f = await openGguf(modelPath);
  assert.equal(f.meta("llama.embedding_length"), 32);
  assert.equal((f.meta<string[]>("tokenizer.ggml.tokens") ?? []).length, tiny.config.vocab);
  await f.close();
});

test("a GGUF path; missing and non-GGUF files are clear errors", async () => {
  assert.deepEqual(await resolveBaseModel(modelPath), { kind: "gguf", spec: modelPath, path: modelPath });
  await assert.rejects(resolveBaseModel(join(dir, "nope.gguf")), /model file not found; check FINETUNE_MODEL_NAME/);
  const txt = join(dir, "notes.gguf");
  writeFileSync(txt, "just some text, not a model");
  await assert.rejects(resolveBaseModel(txt), /not a GGUF file: bad magic/);
});

test("Ollama names resolve through the store: manifest → model layer → blob, with template and params", async () => {
  const r = await resolveBaseModel("qwen2.5:0.5b", { env });
  assert.equal(r.kind, "ollama");
  if (r.kind !== "ollama") return;
  assert.equal(r.path, join(store, "blobs", layers[0]!.digest.replace(":", "-")));
  assert.equal(r.ollama.template, "{{ .Prompt }}");
  assert.deepEqual(r.ollama.params, { stop: ["<|im_end|>"] });
  assert.deepEqual(r.ollama.license, []);
  assert.equal(r.ollama.system, undefined);
  const ns = await resolveBaseModel("someone/mymodel", { env });
  assert.equal(ns.kind, "ollama");
  assert.deepEqual(parseOllamaName("example.com:5000/team/m:v1"), { host: "example.com:5000", namespace: "team", model: "m", tag: "v1" });
  assert.deepEqual(parseOllamaName("llama3.2"), { host: "registry.ollama.ai", namespace: "library", model: "llama3.2", tag: "latest" });
});

test("Ollama: a missing tag lists the tags there are; a missing model says ollama pull; a missing blob says re-pull", async () => {
  await assert.rejects(resolveBaseModel("qwen2.5:7b", { env }), /Ollama has "qwen2.5" but not the tag "7b" \(have: 0.5b\); run `ollama pull qwen2.5:7b`/);
  await assert.rejects(resolveBaseModel("llama3.2:1b", { env }), /no Ollama model "llama3.2:1b" in .*ollama; run `ollama pull llama3.2:1b`/);
  const broken = join(dir, "broken");
  const l = layOutOllamaStore(broken, modelPath, "registry.ollama.ai", "library", "m", "latest");
  rmSync(join(broken, "blobs", l[0]!.digest.replace(":", "-")));
  await assert.rejects(resolveBaseModel("m", { env: { OLLAMA_MODELS: broken } }), /Ollama model blob sha256:[0-9a-f]+ is missing; re-pull with `ollama pull m`/);
});

test("every layer is read by its media type: system, license(s), params; a projector is noted", async () => {
  const full = join(dir, "full");
  layOutOllamaStore(full, modelPath, "registry.ollama.ai", "library", "qwen2.5", "0.5b", {
    template: "{{ .System }} {{ .Prompt }}", system: "You are a helpful assistant.", license: ["Apache License 2.0", "extra terms"],
    params: { stop: ["<|im_start|>", "<|im_end|>"], temperature: 0.7, top_p: 0.8 }, projector: modelPath,
  });
  const r = await resolveBaseModel("qwen2.5:0.5b", { env: { OLLAMA_MODELS: full } });
  assert.equal(r.kind, "ollama");
  if (r.kind !== "ollama") return;
  assert.equal(r.ollama.system, "You are a helpful assistant.");
  assert.deepEqual(r.ollama.license, ["Apache License 2.0", "extra terms"]);
  assert.deepEqual(r.ollama.params, { stop: ["<|im_start|>", "<|im_end|>"], temperature: 0.7, top_p: 0.8 });
  assert.equal(r.ollama.template, "{{ .System }} {{ .Prompt }}");
  assert.match(r.ollama.projector ?? "", /blobs\/sha256-[0-9a-f]{64}$/);
});

test("a manifest with an adapter layer is refused, saying how to merge it first", async () => {
  const withAdapter = join(dir, "with-adapter");
  const notes = join(dir, "adapter.bin");
  writeFileSync(notes, "lora bytes");
  layOutOllamaStore(withAdapter, modelPath, "registry.ollama.ai", "someone", "tuned", "latest", { adapter: notes });
  await assert.rejects(resolveBaseModel("someone/tuned", { env: { OLLAMA_MODELS: withAdapter } }), (e: Error) => {
    assert.match(e.message, /is a base model plus a LoRA adapter layer \(sha256:[0-9a-f]{64}\)/);
    assert.match(e.message, /fine-tuning the base alone would drop it, so it is refused/);
    assert.match(e.message, /llama-export-lora -m \S+blobs\/sha256-[0-9a-f]+ --lora \S+blobs\/sha256-[0-9a-f]+ -o merged\.gguf/);
    return true;
  });
});

test("org/repo: an Ollama user's model in the store resolves; the same shape not in the store goes to the Hugging Face cache", async () => {
  // In the store: someone/mymodel (tag latest) is an Ollama model.
  assert.equal((await resolveBaseModel("someone/mymodel", { env })).kind, "ollama");
  // Not in the store, not in the (empty) HF cache, and offline: how to fetch it, and the Ollama hint.
  const offline = { ...env, HF_HUB_CACHE: join(dir, "hf-empty"), HF_HUB_OFFLINE: "1" };
  await assert.rejects(resolveBaseModel("HuggingFaceTB/SmolLM2-135M", { env: offline }), (e: Error) => {
    assert.match(e.message, /"HuggingFaceTB\/SmolLM2-135M" is not in the Hugging Face cache \(.*hf-empty\) and HF_HUB_OFFLINE=1 forbids downloading it/);
    assert.match(e.message, /hf download HuggingFaceTB\/SmolLM2-135M --include "\*\.json" "\*\.safetensors"/);
    assert.match(e.message, /If "HuggingFaceTB\/SmolLM2-135M" is an Ollama user's model, run `ollama pull HuggingFaceTB\/SmolLM2-135M` first/);
    return true;
  });
  // With a tag it is an Ollama name: the Ollama advice.
  await assert.rejects(resolveBaseModel("someone/other:7b", { env }), /no Ollama model "someone\/other:7b" in .*; run `ollama pull someone\/other:7b`/);
});

test("a Hugging Face name that is not cached, with the Hub unreachable, says the run is offline and how to fetch it", async () => {
  await assert.rejects(resolveBaseModel("meta-llama/Llama-2-7b-chat-hf@main", { env: { ...env, HF_HUB_CACHE: join(dir, "hf-empty") }, hfEndpoint: "http://127.0.0.1:9" }), (e: Error) => {
    assert.match(e.message, /cannot reach http:\/\/127\.0\.0\.1:9 to download "meta-llama\/Llama-2-7b-chat-hf"/);
    assert.match(e.message, /the run is offline: fetch it on a machine with network with `hf download meta-llama\/Llama-2-7b-chat-hf/);
    return true;
  });
});

test("hf: URIs go through node-llama-cpp's resolver; unreachable → a clear message", async () => {
  // A closed loopback port stands in for "offline" deterministically.
  await assert.rejects(
    resolveBaseModel("hf:someone/Tiny-GGUF:Q8_0", { cacheDir: join(dir, "hf"), hfEndpoint: "http://127.0.0.1:9/" }),
    /cannot resolve hf:someone\/Tiny-GGUF:Q8_0: .*Without network access, download the GGUF elsewhere and set FINETUNE_MODEL_NAME=\/path\/to\/model.gguf/,
  );
});

test("hf: downloads through a Hugging Face endpoint (loopback) into the cache, then resolves offline from it", async () => {
  const file = readFileSync(modelPath);
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    seen.push(u.pathname);
    if (u.pathname === "/v2/someone/Tiny-GGUF/manifests/Q8_0") {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ ggufFile: { rfilename: "tiny.Q8_0.gguf", size: file.length } }));
    }
    if (u.pathname === "/someone/Tiny-GGUF/resolve/main/tiny.Q8_0.gguf") {
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      const a = m ? Number(m[1]) : 0, b = m?.[2] ? Number(m[2]) : file.length - 1;
      res.writeHead(m ? 206 : 200, { "accept-ranges": "bytes", "content-length": b - a + 1, ...(m ? { "content-range": `bytes ${a}-${b}/${file.length}` } : {}) });
      return res.end(req.method === "HEAD" ? undefined : file.subarray(a, b + 1));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const hfEndpoint = `http://127.0.0.1:${(srv.address() as { port: number }).port}/`;
  const cacheDir = join(dir, "hf-cache");
  try {
    const r = await resolveBaseModel("hf:someone/Tiny-GGUF:Q8_0", { cacheDir, hfEndpoint });
    assert.equal(r.kind, "hf");
    if (r.kind !== "hf") return;
    assert.deepEqual(readFileSync(r.path), file);
    assert.ok(seen.includes("/v2/someone/Tiny-GGUF/manifests/Q8_0"));
  } finally {
    srv.close();
  }
  const again = await resolveBaseModel("hf:someone/Tiny-GGUF:Q8_0", { cacheDir, hfEndpoint });
  assert.equal(again.kind, "hf", "found in the cache with the server gone");
});
