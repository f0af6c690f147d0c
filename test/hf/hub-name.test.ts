// Which strings are Hugging Face names: `model info ./Missing-Folder` (a typo in a path) must not become a
// download of the repository "./Missing-Folder" from the Hub.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseHubName } from "../../src/hf/hub.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));

test("org/repo[@revision] is a Hub name; ./x, ../x and .org/x are paths", () => {
  assert.deepEqual(parseHubName("Qwen/Qwen2.5-0.5B-Instruct"), { repo: "Qwen/Qwen2.5-0.5B-Instruct", revision: "main" });
  assert.deepEqual(parseHubName("org/repo@v1.0"), { repo: "org/repo", revision: "v1.0" });
  for (const path of ["./Qwen2.5-0.5B-Instruct", "../models/x", ".hidden/x", "-x/y", "org/.repo", "a/b/c"]) assert.equal(parseHubName(path), undefined, path);
});

test("model info on a missing ./folder says to check the path and asks no server", () => {
  const cwd = mkdtempSync(join(tmpdir(), "hub-name-"));
  const r = spawnSync(process.execPath, [bin, "model", "info", "./Qwen2.5-0.5B-Instruct"], {
    cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: join(cwd, "hub") },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /Qwen2\.5-0\.5B-Instruct.*check the path/);
  assert.doesNotMatch(r.stderr, /download|127\.0\.0\.1:9|hf download/);
});

test("a GPT-2-family name (the seed's microsoft/DialoGPT-medium, gpt2, distilgpt2) is refused by name with what to use, before the Hub or Ollama advice", async () => {
  const { resolveBaseModel } = await import("../../src/model/base-model.ts");
  const dir = mkdtempSync(join(tmpdir(), "gpt2-name-"));
  // An empty Ollama store and HF cache, and no network: nothing may be asked of either.
  const env = { ...process.env, OLLAMA_MODELS: join(dir, "ollama"), HF_HUB_CACHE: join(dir, "hub"), HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_OFFLINE: "1" };
  for (const name of ["microsoft/DialoGPT-medium", "openai-community/gpt2@main", "gpt2", "distilgpt2", "gpt2-xl"]) {
    await assert.rejects(resolveBaseModel(name, { env }), (e: Error) => {
      assert.match(e.message, /GPT-2-family models \(gpt2, DialoGPT, distilgpt2\) are not trained here/, name);
      assert.match(e.message, /Qwen\/Qwen2\.5-0\.5B-Instruct/, name);
      assert.doesNotMatch(e.message, /ollama pull|hf download/, name);
      return true;
    });
  }
  // Names that only look alike are left to the usual lookups.
  await assert.rejects(resolveBaseModel("gpt2xl-like", { env }), /no Ollama model "gpt2xl-like"/);
});
