// Training from a base that lives in an Ollama store (named as `ollama run` names it): qa-train renders
// with the base's template and tokenizer found through the store, finetune trains a LoRA on the blob,
// and llama.cpp runs the blob with the adapter we wrote.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openGguf } from "../../src/gguf/reader.ts";
import { qaTrain } from "../../src/train/qa-train.ts";
import { readTokenRows } from "../../src/train/qa-train-files.ts";
import { finetune } from "../../src/train/trainer-run.ts";
import { writeTestModel } from "../model/fixture.ts";
import { blobPath, layOutOllamaStore } from "./ollama-store-fixture.ts";

const previous = process.env.OLLAMA_MODELS;
after(() => { if (previous === undefined) delete process.env.OLLAMA_MODELS; else process.env.OLLAMA_MODELS = previous; });

test("qa-train and finetune take an Ollama model name as the base; llama.cpp runs the blob with our adapter", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-ollama-base-"));
  const base = await writeTestModel("qwen2", { std: 0.1 });
  const store = join(dir, "ollama");
  const [modelLayer] = layOutOllamaStore(store, base.path, "registry.ollama.ai", "library", "qwen-test", "mini");
  process.env.OLLAMA_MODELS = store;

  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ instruction: `Where is mill ${i}?`, input: "", output: `Mill ${i} stands by the river.` })).join("\n");
  writeFileSync(join(dir, "final.jsonl"), lines);
  const tokens = join(dir, "tokens");
  await qaTrain({ input: join(dir, "final.jsonl"), outDir: tokens, modelName: "qwen-test:mini", modelType: "chatml", seqLen: 48 });
  const out = join(dir, "ft");
  const result = await finetune({ tokensDir: tokens, outDir: out, epochs: 1, lr: 3e-3, rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"], batch: 2, gradAccum: 1, backend: "wasm", resume: false, checkpointEvery: 0, evalEvery: 0, seed: 1 });
  assert.equal(result.status, "completed");
  assert.equal(result.method, "lora");
  assert.ok(result.steps.done > 0);

  const adapterPath = join(out, "adapter.gguf");
  const adapter = await openGguf(adapterPath);
  assert.equal(adapter.meta("general.type"), "adapter");
  assert.equal(adapter.meta("docs2model.base_model"), blobPath(store, modelLayer!), "the adapter names the blob it was trained on");
  await adapter.close();

  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: blobPath(store, modelLayer!) });
  const context = await model.createContext({ contextSize: 128, threads: 2, lora: { adapters: [{ filePath: adapterPath }] } });
  const seq = context.getSequence();
  const prompt = model.tokenize("Where is mill 3?");
  let generated = 0;
  for await (const _ of seq.evaluate(prompt, { temperature: 0 })) if (++generated >= 4) break;
  assert.equal(generated, 4, "llama.cpp generates with the blob + adapter");
  await context.dispose(); await model.dispose();
});

test("a store base's SYSTEM layer is in the training prompts of examples that have none (Ollama will send it)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-ollama-system-"));
  const base = await writeTestModel("qwen2", { std: 0.1 });
  const store = join(dir, "ollama");
  layOutOllamaStore(store, base.path, "registry.ollama.ai", "library", "qwen-sys", "mini", { system: "Answer about mills." });
  process.env.OLLAMA_MODELS = store;
  const lines = [
    JSON.stringify({ instruction: "Where is the mill?", input: "", output: "By the river." }),
    JSON.stringify({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Who counts the sacks?" }, { role: "assistant", content: "The miller." }] }),
  ].join("\n");
  writeFileSync(join(dir, "final.jsonl"), lines);
  await qaTrain({ input: join(dir, "final.jsonl"), outDir: join(dir, "tokens"), modelName: "qwen-sys:mini", modelType: "chatml", seqLen: 64 });
  const rows = await readTokenRows(join(dir, "tokens", "train.tokens"));
  const valid = await readTokenRows(join(dir, "tokens", "valid.tokens"));
  const text = [rows, valid].flatMap((r) => Array.from({ length: r.rows }, (_, i) => base.tokenizer.decode([...r.inputs(i)], { special: true }))).join("\n");
  assert.match(text, /system\nAnswer about mills\.<\|im_end\|>\n<\|im_start\|>user\nWhere is the mill\?/);
  assert.match(text, /system\nBe brief\.<\|im_end\|>/, "an example's own system prompt stays");
  assert.equal(text.match(/Answer about mills/g)?.length, 1, "only the example without a system prompt gets the store's");
});
