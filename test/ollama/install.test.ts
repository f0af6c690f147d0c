import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileDigest, pushBlob } from "../../src/ollama/blobs.ts";
import { ollamaBaseUrl } from "../../src/ollama/host.ts";
import { installInOllama, ollamaReachable } from "../../src/ollama/install.ts";
import { startLoopbackOllama } from "./loopback-ollama.ts";

const dir = mkdtempSync(join(tmpdir(), "ollama-test-"));
const model = join(dir, "model.gguf");
const adapter = join(dir, "adapter.gguf");
const modelBytes = randomBytes(300_000);
const adapterBytes = randomBytes(20_000);
writeFileSync(model, modelBytes);
writeFileSync(adapter, adapterBytes);
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

test("OLLAMA_HOST forms resolve like the ollama CLI", () => {
  assert.equal(ollamaBaseUrl(undefined), "http://127.0.0.1:11434");
  assert.equal(ollamaBaseUrl("0.0.0.0"), "http://127.0.0.1:11434");
  assert.equal(ollamaBaseUrl("gpu-box:8080"), "http://gpu-box:8080");
  assert.equal(ollamaBaseUrl("https://ollama.example.com/"), "https://ollama.example.com");
});

test("merged model: blob uploaded once with the right sha256, create gets files, template, stops, system", async () => {
  const srv = await startLoopbackOllama();
  try {
    assert.equal(await ollamaReachable(srv.baseUrl), "0.12.0");
    const statuses: string[] = [];
    const { request } = await installInOllama({
      baseUrl: srv.baseUrl, name: "docs-tiny", modelPath: model,
      template: "{{ .Prompt }}", system: "Be brief.", parameters: { stop: ["<|im_end|>"], num_ctx: 512 },
      onStatus: (s) => statuses.push(s),
    });
    assert.equal(await fileDigest(model), sha(modelBytes));
    assert.deepEqual([...srv.blobs.keys()], [sha(modelBytes)]);
    assert.ok(srv.blobs.get(sha(modelBytes))!.equals(modelBytes));
    assert.deepEqual(srv.creates, [{ model: "docs-tiny", files: { "model.gguf": sha(modelBytes) }, template: "{{ .Prompt }}", system: "Be brief.", parameters: { stop: ["<|im_end|>"], num_ctx: 512 }, stream: true }]);
    assert.deepEqual(request.files, { "model.gguf": sha(modelBytes) });
    assert.equal(statuses.at(-1), "success");
    // A second install finds the blob there (HEAD 200) and uploads nothing.
    await installInOllama({ baseUrl: srv.baseUrl, name: "docs-tiny", modelPath: model });
    assert.equal(srv.requests.filter((r) => r.startsWith("POST /api/blobs")).length, 1);
  } finally {
    await srv.close();
  }
});

test("adapter variant sends base files and adapters", async () => {
  const srv = await startLoopbackOllama();
  try {
    await installInOllama({ baseUrl: srv.baseUrl, name: "docs-lora", modelPath: model, adapterPath: adapter });
    assert.deepEqual(srv.creates[0]!.files, { "model.gguf": sha(modelBytes) });
    assert.deepEqual(srv.creates[0]!.adapters, { "adapter.gguf": sha(adapterBytes) });
    assert.ok(srv.blobs.get(sha(adapterBytes))!.equals(adapterBytes));
  } finally {
    await srv.close();
  }
});

test("server errors surface with their message; an absent server is simply unreachable", async () => {
  const srv = await startLoopbackOllama({ failCreate: "unsupported architecture" });
  try {
    await assert.rejects(installInOllama({ baseUrl: srv.baseUrl, name: "x", modelPath: model }), /could not create x: unsupported architecture/);
    await assert.rejects(pushBlob(model, { baseUrl: srv.baseUrl, digest: sha(adapterBytes) }), /refused blob .* HTTP 400 .*digest mismatch/);
  } finally {
    await srv.close();
  }
  assert.equal(await ollamaReachable(srv.baseUrl, { timeoutMs: 500 }), undefined);
});
