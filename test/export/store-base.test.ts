// Export from a base that lives in an Ollama store keeps the store's TEMPLATE (when it renders the trained prompt),
// PARAMS merged with our stops, SYSTEM and LICENSE — in the Modelfile and in the model created in Ollama.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exportModel } from "../../src/export/export.ts";
import { familyTemplate } from "../../src/chat/ollama-template.ts";
import { startLoopbackOllama } from "../ollama/loopback-ollama.ts";
import { blobPath, layOutOllamaStore } from "../train/ollama-store-fixture.ts";
import { writeTinyLoraFixture } from "./export-fixture.ts";

const root = mkdtempSync(join(tmpdir(), "export-store-"));
const previous = process.env.OLLAMA_MODELS;
after(() => {
  if (previous === undefined) delete process.env.OLLAMA_MODELS; else process.env.OLLAMA_MODELS = previous;
  rmSync(root, { recursive: true, force: true });
});

const LICENSE = "Apache License\nVersion 2.0, January 2004";
const SYSTEM = "You answer questions about the manual.";

/** A fine-tune directory whose base is the blob of store model `name` (as finetune leaves it). */
async function fineTuneOnStore(sub: string, template: string) {
  const dir = join(root, sub);
  const ft = join(dir, "ft");
  mkdirSync(ft, { recursive: true });
  const f = await writeTinyLoraFixture(ft, { seed: 21 });
  const store = join(dir, "ollama");
  const [model] = layOutOllamaStore(store, f.base, "registry.ollama.ai", "library", "mini", "q8", {
    template, system: SYSTEM, license: [LICENSE, "Use it kindly."],
    params: { stop: ["<|im_start|>", "<|endoftext|>"], temperature: 0.2, top_p: 0.9, num_ctx: 200 },
  });
  const blob = blobPath(store, model!);
  writeFileSync(join(ft, "training_report.json"), JSON.stringify({ model: { name: "mini:q8", base: blob, arch: "llama", tiny: false } }));
  rmSync(f.base);
  process.env.OLLAMA_MODELS = store;
  return { dir, ft, blob };
}

test("the store's TEMPLATE (checked), PARAMS + our stops, SYSTEM and LICENSE reach the Modelfile and Ollama", async () => {
  // Written differently from our ChatML template (no {{ if .Prompt }}, no .Response) but the same prompt.
  const storeTemplate = "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n";
  assert.notEqual(storeTemplate, familyTemplate("chatml").template);
  const { dir, ft } = await fineTuneOnStore("kept", storeTemplate);
  const srv = await startLoopbackOllama();
  try {
    const r = await exportModel({ modelPath: ft, name: "kept", outputDir: join(dir, "out"), quant: "f16", ollamaBaseUrl: srv.baseUrl, verify: false, eval: false });
    const mf = readFileSync(r.modelfile, "utf8");
    assert.equal(r.template.template, storeTemplate);
    assert.equal(r.template.source, "ollama:mini:q8");
    assert.equal(r.template.verified, true);
    // Our stops (the template's markers and the end token) plus the store's own.
    for (const s of ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]) assert.match(mf, new RegExp(`\\nPARAMETER stop "${s.replace(/\|/g, "\\|")}"\\n`));
    assert.match(mf, /\nPARAMETER num_ctx 200\n/);
    assert.match(mf, /\nPARAMETER temperature 0\.2\nPARAMETER top_p 0\.9\n/);
    assert.match(mf, new RegExp(`\\nSYSTEM """${SYSTEM}"""\\n`));
    assert.ok(mf.includes(`\nLICENSE """${LICENSE}"""\nLICENSE """Use it kindly."""\n`), mf);
    // The adapter variant builds on the store model by name and says the same.
    const mfa = readFileSync(r.modelfileAdapter!, "utf8");
    assert.match(mfa, /\nFROM mini:q8\nADAPTER \.\/adapter\.gguf\n/);
    assert.match(mfa, /\nPARAMETER temperature 0\.2\n/);
    const create = srv.creates[0]!;
    assert.equal(create.template, storeTemplate);
    assert.equal(create.system, SYSTEM);
    assert.deepEqual(create.license, [LICENSE, "Use it kindly."]);
    assert.equal(create.parameters.temperature, 0.2);
    assert.equal(create.parameters.top_p, 0.9);
    assert.equal(create.parameters.num_ctx, 200);
    assert.ok(create.parameters.stop.includes("<|endoftext|>") && create.parameters.stop.includes("<|im_end|>"));
    assert.match(readFileSync(r.card, "utf8"), /the base's own TEMPLATE from the Ollama store \(mini:q8\)/);
  } finally {
    await srv.close();
  }
});

test("a store TEMPLATE that renders another prompt is replaced by the checked one; the rest is kept", async () => {
  const { dir, ft } = await fineTuneOnStore("replaced", "{{ .System }}\nUser: {{ .Prompt }}\nAssistant:");
  const r = await exportModel({ modelPath: ft, name: "replaced", outputDir: join(dir, "out"), quant: "f16", ollamaBaseUrl: "http://127.0.0.1:9", install: "never", verify: false, eval: false });
  const mf = readFileSync(r.modelfile, "utf8");
  assert.notEqual(r.template.source, "ollama:mini:q8");
  assert.equal(r.template.verified, true);
  assert.match(mf, /\nTEMPLATE """\{\{- range \.Messages \}\}<\|im_start\|>\{\{ \.Role \}\}\n/);
  assert.match(mf, new RegExp(`\\nSYSTEM """${SYSTEM}"""\\n`));
  assert.match(mf, /\nPARAMETER top_p 0\.9\n/);
});

test("the system prompt the training data used wins over the store's SYSTEM", async () => {
  const { dir, ft } = await fineTuneOnStore("data-system", familyTemplate("chatml").template);
  const data = join(dir, "training_data_final.jsonl");
  const ex = (i: number, q: string, a: string) => JSON.stringify({ type: "example", id: `e${i}`, qaId: "q", docId: "d", chunkId: "c", source: "doc.md", template: "chatml", split: "train", data: { messages: [{ role: "system", content: "Answer from the warranty booklet." }, { role: "user", content: q }, { role: "assistant", content: a }] } });
  writeFileSync(data, [ex(1, "How long is the warranty?", "Two years."), ex(2, "Who pays shipping?", "The seller.")].join("\n") + "\n");
  const r = await exportModel({ modelPath: ft, name: "data-system", outputDir: join(dir, "out"), quant: "f16", datasetPath: data, ollamaBaseUrl: "http://127.0.0.1:9", install: "never", verify: false, eval: false });
  assert.match(readFileSync(r.modelfile, "utf8"), /\nSYSTEM """Answer from the warranty booklet\."""\n/);
});
