// Memory limits are enforced from metadata alone, and the backend picker honours --backend.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { useBackend } from "../../src/kernels/backend.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { parameterCount } from "../../src/model/config.ts";
import { architectureMetadata } from "../../src/model/gguf-meta.ts";
import { checkFits, loadGgufModel } from "../../src/model/load.ts";
import { testConfig } from "./fixture.ts";

const llama7b = testConfig("llama", 32000, { dim: 4096, layers: 32, heads: 32, kvHeads: 32, headDim: 128, ffn: 11008, tiedOutput: false, qkvBias: false });

test("a 7B base is refused before any weight is read; a 0.36B one fits on wasm", async () => {
  assert.ok(Math.abs(parameterCount(llama7b) / 1e9 - 6.74) < 0.01, "parameter count matches Llama-2-7B");
  const path = join(mkdtempSync(join(tmpdir(), "d2m-big-")), "big.gguf");
  // Metadata only: if loading tried to read tensors it would fail differently.
  await writeGguf(path, { metadata: { ...architectureMetadata(llama7b, "big"), "llama.vocab_size": { type: "u32", value: 32000 } }, tensors: [] });
  await assert.rejects(loadGgufModel(path, { backend: "wasm" }), (e: Error & { code?: string }) => e.code === "E_MODEL" && /largest that fits: about 0\.43 B parameters/.test(e.message));
  await assert.rejects(loadGgufModel(path, { backend: "tensorflow" }), /largest that fits: about 2\.\d+ B parameters/);
  const smol = testConfig("llama", 49152, { dim: 960, layers: 32, heads: 15, kvHeads: 5, headDim: 64, ffn: 2560, tiedOutput: true });
  assert.doesNotThrow(() => checkFits(smol, "wasm", false, "smollm2-360m"));
  assert.throws(() => checkFits(smol, "wasm", true, "smollm2-360m"), /needs about/);
});

test("--backend picks the named backend and rejects unknown names", async () => {
  assert.equal((await useBackend("cpu")).name, "cpu");
  assert.equal((await useBackend("wasm")).name, "wasm");
  await assert.rejects(useBackend("bogus"), /unknown backend "bogus" \(--backend or FINETUNE_BACKEND\)/);
  // tfjs-node is not installed here: asking for it says so instead of silently falling back.
  await assert.rejects(useBackend("tfjs-node"), /no usable tfjs backend \(tensorflow: not installed\)/);
});
