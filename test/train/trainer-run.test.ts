// finetune end to end: tiny from scratch, LoRA on a GGUF base (adapter checked by llama.cpp), interrupt + resume.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { Lora } from "../../src/train/lora.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { qaTrain } from "../../src/train/qa-train.ts";
import { finetune, writeAdapter, type FinetuneOptions } from "../../src/train/trainer-run.ts";
import { SAMPLE_TEXT, writeTestModel } from "../model/fixture.ts";

const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ instruction: `Where is mill ${i}?`, input: "", output: `Mill ${i} stands by the river.` })).join("\n");

function options(tokensDir: string, outDir: string, over: Partial<FinetuneOptions> = {}): FinetuneOptions {
  return { tokensDir, outDir, epochs: 2, lr: 3e-3, rank: 4, alpha: 8, dropout: 0.1, targets: ["q", "k", "v", "o", "gate", "up", "down"], batch: 2, gradAccum: 1, backend: "wasm", resume: false, checkpointEvery: 2, evalEvery: 3, seed: 1, ...over };
}

async function loadInLlamaCpp(path: string, lora?: string) {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 256, threads: 2, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  return { model, context };
}

test("tiny trains from scratch and writes a model llama.cpp loads, loss curve, report, checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-ft-tiny-"));
  writeFileSync(join(dir, "final.jsonl"), lines);
  await qaTrain({ input: join(dir, "final.jsonl"), outDir: join(dir, "tokens"), modelName: "tiny", seqLen: 64 });
  const out = join(dir, "out");
  const report = await finetune(options(join(dir, "tokens"), out, { lr: 3e-3 }));
  assert.equal(report.status, "completed");
  assert.equal(report.method, "full");
  assert.ok(Number.isFinite(report.finalTrainLoss) && report.evals.length >= 1 && Number.isFinite(report.finalEvalLoss));
  const csv = readFileSync(join(out, "loss_curve.csv"), "utf8").trim().split("\n");
  assert.equal(csv.length, report.steps.done + 1);
  assert.ok(Number(csv.at(-1)!.split(",")[1]) < Number(csv[1]!.split(",")[1]), "loss went down");
  assert.match(readFileSync(join(out, "loss_curve.svg"), "utf8"), /^<svg[^]*<path d="M/);
  assert.ok(existsSync(join(out, "checkpoint", "state.json")));
  const { model, context } = await loadInLlamaCpp(join(out, "model.gguf"));
  const seq = context.getSequence();
  const tokens = model.tokenize("Where is mill 3?");
  let n = 0;
  for await (const t of seq.evaluate(tokens)) { void t; if (++n >= 3) break; }
  assert.equal(n, 3, "llama.cpp generates with the trained model");
  await context.dispose(); await model.dispose();
});

test("a LoRA adapter we write gives the same next tokens in llama.cpp as in our model", async () => {
  await useBackend("cpu");
  const base = await writeTestModel("llama", { std: 0.1 });
  const { model, config } = await loadGgufModel(base.path);
  const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 3 });
  let seed = 40;
  for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.3, "float32", seed++));
  const adapter = join(mkdtempSync(join(tmpdir(), "d2m-adapter-")), "adapter.gguf");
  await writeAdapter(adapter, lora, config, base.path);
  const f = await openGguf(adapter);
  assert.equal(f.meta("general.type"), "adapter");
  assert.equal(f.meta("adapter.type"), "lora");
  assert.deepEqual(f.tensor("blk.1.ffn_down.weight.lora_b")?.dims, [4, config.dim]);
  await f.close();

  const tokens = [base.tokenizer.bos, ...base.tokenizer.encode(SAMPLE_TEXT)];
  const logits = tf.tidy(() => model.forward(Int32Array.from(tokens), 1, tokens.length, { hook: lora }).arraySync() as number[][]);
  const ours = logits.map((row) => row.indexOf(Math.max(...row)));
  const plain = tf.tidy(() => Array.from(tf.argMax(model.forward(Int32Array.from(tokens), 1, tokens.length), 1).dataSync()));
  const { model: lm, context } = await loadInLlamaCpp(base.path, adapter);
  const seq = context.getSequence();
  type Item = Parameters<typeof seq.controlledEvaluate>[0][number];
  const res = await seq.controlledEvaluate(tokens.map((t): Item => [t as Extract<Item, number>, { generateNext: { token: true, options: { temperature: 0 } } }]));
  const ref = res.map((r) => Number(r?.next?.token));
  await context.dispose(); await lm.dispose();
  // llama.cpp applies the adapter in its own order of float operations: a pick within 5e-3 of our best
  // logit (a near-tie; seen at 2 of 162 positions, gaps 2e-4 and 1e-3) counts as the same choice.
  const same = ours.filter((t, i) => t === ref[i] || logits[i]![t]! - logits[i]![ref[i]!]! < 5e-3).length;
  const exact = ours.filter((t, i) => t === ref[i]).length;
  assert.ok(exact / tokens.length >= 0.97, `${exact}/${tokens.length} exact agreements`);
  const changed = ours.filter((t, i) => t !== plain[i]).length;
  assert.ok(changed > tokens.length * 0.2, `the adapter changes predictions (${changed}/${tokens.length})`);
  assert.ok(same / tokens.length >= 0.99, `${same}/${tokens.length} positions agree with llama.cpp + adapter`);
  lora.dispose(); model.dispose();
});

test("finetune interrupted and resumed writes the same adapter as an uninterrupted run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-ft-lora-"));
  const base = await writeTestModel("qwen2", { std: 0.1 });
  writeFileSync(join(dir, "final.jsonl"), lines);
  await qaTrain({ input: join(dir, "final.jsonl"), outDir: join(dir, "tokens"), modelName: base.path, modelType: "chatml", seqLen: 48 });
  const tokens = join(dir, "tokens");
  const whole = await finetune(options(tokens, join(dir, "whole")));
  assert.equal(whole.method, "lora");
  let steps = 0;
  const cut = await finetune(options(tokens, join(dir, "cut"), { onStep: () => { steps++; }, shouldStop: () => steps >= 3 }));
  assert.equal(cut.status, "interrupted");
  assert.ok(!existsSync(join(dir, "cut", "adapter.gguf")));
  await assert.rejects(finetune(options(tokens, join(dir, "cut"), { resume: true, lr: 1e-3 })), /different training settings/);
  const resumed = await finetune(options(tokens, join(dir, "cut"), { resume: true }));
  assert.equal(resumed.status, "completed");
  assert.equal(resumed.steps.done, whole.steps.done);
  assert.equal(resumed.finalTrainLoss, whole.finalTrainLoss);
  assert.deepEqual(readFileSync(join(dir, "cut", "adapter.gguf")), readFileSync(join(dir, "whole", "adapter.gguf")));
});

// qwen2.5:0.5b's Q4_K_M blob holds Q5_0 and Q8_0 (its 896-wide rows do not fit 256-value blocks), and
// other bases carry Q4_1, Q5_1, IQ4_NL…: finetune reads the frozen weights through our dequantizers.
test("finetune trains on a base whose matrices are Q5_0, Q4_1, Q5_1, IQ4_NL, Q4_0 and Q8_0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-ft-quant-"));
  const f32 = await writeTestModel("qwen2", { std: 0.1 });
  const src = await openGguf(f32.path);
  const types = ["Q5_0", "Q4_1", "Q5_1", "IQ4_NL", "Q4_0", "Q8_0"] as const;
  const basePath = join(dir, "mixed.gguf");
  let m = 0;
  await writeGguf(basePath, {
    metadata: src.metadata,
    tensors: src.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length < 2 ? "F32" : types[m++ % types.length]!, data: () => src.readTensorF32(t.name) })),
  });
  await src.close();
  const base = await openGguf(basePath);
  assert.deepEqual(new Set(base.tensors.filter((t) => t.dims.length > 1).map((t) => t.type)), new Set(types));
  await base.close();
  writeFileSync(join(dir, "final.jsonl"), lines);
  await qaTrain({ input: join(dir, "final.jsonl"), outDir: join(dir, "tokens"), modelName: basePath, modelType: "chatml", seqLen: 48 });
  const report = await finetune(options(join(dir, "tokens"), join(dir, "out"), { epochs: 1 }));
  assert.equal(report.status, "completed");
  assert.equal(report.method, "lora");
  assert.ok(Number.isFinite(report.finalTrainLoss));
  assert.ok(existsSync(join(dir, "out", "adapter.gguf")));
});
