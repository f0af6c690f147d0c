import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { mergeToGguf } from "../../src/export/merge.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { measureLlamaParity, measureParity, modelfileStops, PARITY_POSITIONS, parityTokens, verifyExport } from "../../src/export/verify.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { writeTinyLoraFixture } from "./export-fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "verify-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const probes = [{ question: "How long is the warranty?", answer: "Two years from the date of purchase." }, { question: "Who pays shipping?" }];

test("a LoRA on a tiny base: merged (f32) and base + adapter give the same greedy output in llama.cpp", async () => {
  const f = await writeTinyLoraFixture(dir);
  const merged = join(dir, "merged.gguf");
  await mergeToGguf({ basePath: f.base, adapterPath: f.adapter, outPath: merged, quant: "f32" });
  const r = await verifyExport({ modelPath: merged, stop: ["<|im_end|>"], probes, basePath: f.base, adapterPath: f.adapter, maxTokens: 24, backend: "cpu" });
  const check = (name: RegExp) => r.checks.find((c) => name.test(c.name))!;
  assert.equal(check(/loads/).ok, true);
  assert.equal(check(/base \+ adapter/).ok, true, check(/base \+ adapter/).detail);
  assert.equal(check(/base \+ adapter/).required, true);
  assert.equal(check(/next token/).ok, true, check(/next token/).detail);
  // The check means something: the adapter changes what the model says.
  const base = await openLlamaRunner(f.base);
  try {
    const plain = await base.generate([{ role: "user", content: probes[0]!.question }], { maxTokens: 24 });
    assert.notEqual(plain.text, r.samples[0]!.answer, "the adapter must change the greedy answer");
  } finally {
    await base.dispose();
  }
  // A random model never ends its answer: the stop check must say so, and fail verify.
  assert.equal(check(/stops/).ok, false);
  assert.match(check(/stops/).detail, /ran to 24 tokens/);
  assert.equal(r.ok, false);
});

test("merging with the wrong scale is caught by the base + adapter comparison", async () => {
  const f = await writeTinyLoraFixture(join(dir), { seed: 5 });
  // Half-strength adapter: what a merge that forgot alpha/rank would produce.
  const wrong = await writeTinyLoraFixture(mkdtempSync(join(dir, "w-")), { seed: 5, alpha: 4 });
  const merged = join(dir, "merged-wrong.gguf");
  await mergeToGguf({ basePath: f.base, adapterPath: wrong.adapter, outPath: merged, quant: "f32" });
  const r = await verifyExport({ modelPath: merged, stop: [], probes, basePath: f.base, adapterPath: f.adapter, maxTokens: 16, parity: false });
  const c = r.checks.find((x) => /base \+ adapter/.test(x.name))!;
  assert.equal(c.ok, false, c.detail);
});

test("Modelfile stops are read back as written", async () => {
  const p = join(dir, "Modelfile");
  writeFileSync(p, 'FROM ./model.gguf\nTEMPLATE """x"""\nPARAMETER stop "<|im_start|>"\nPARAMETER stop "### Instruction:"\nPARAMETER num_ctx 512\n');
  assert.deepEqual(await modelfileStops(p), ["<|im_start|>", "### Instruction:"]);
});

test("a q8_0 model with its base and adapter: verify makes the f16 twin itself, reports both KLs, and removes it", async () => {
  const sub = mkdtempSync(join(dir, "q8-"));
  const f = await writeTinyLoraFixture(sub, { seed: 9 });
  const merged = join(sub, "model.gguf");
  await mergeToGguf({ basePath: f.base, adapterPath: f.adapter, outPath: merged, quant: "q8_0" });
  const r = await verifyExport({ modelPath: merged, stop: [], probes, basePath: f.base, adapterPath: f.adapter, quantized: true, maxTokens: 8, backend: "cpu" });
  assert.ok(r.quantization && r.quantization.positions === 256 && r.quantization.meanKl > 0, JSON.stringify(r.quantization));
  assert.ok(r.parity && r.parityF16, "our forward is compared on the q8_0 file and on the f16 twin");
  const onTwin = r.checks.find((c) => /on the f16 merge/.test(c.name))!;
  assert.equal(onTwin.ok, true, onTwin.detail);
  assert.equal(existsSync(join(sub, ".verify-f16.gguf")), false);

  // verify walks the token sequence once for all three comparisons: each measured on its own gives the same figures.
  const twin = join(sub, "twin.gguf");
  await mergeToGguf({ basePath: f.base, adapterPath: f.adapter, outPath: twin, quant: "f16", dequantize: true });
  const again = await verifyExport({ modelPath: merged, stop: [], probes, referencePath: twin, maxTokens: 8, backend: "cpu" });
  const [m, t] = [await openLlamaRunner(merged), await openLlamaRunner(twin)];
  const [oursM, oursT] = [await loadGgufModel(merged), await loadGgufModel(twin)];
  try {
    const tokens = parityTokens(m, probes.slice(0, 3), (p) => [{ role: "user", content: p.question }], PARITY_POSITIONS);
    assert.deepEqual(again.parity, await measureParity(m, oursM.model, tokens));
    assert.deepEqual(again.quantization, await measureLlamaParity(t, m, tokens));
    assert.deepEqual(again.parityF16, await measureParity(t, oursT.model, tokens));
    assert.deepEqual([again.parity, again.quantization, again.parityF16], [r.parity, r.quantization, r.parityF16]);
  } finally {
    oursM.model.dispose(); oursT.model.dispose();
    await m.dispose(); await t.dispose();
  }
});
