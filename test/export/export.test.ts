import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exportModel } from "../../src/export/export.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { startLoopbackOllama } from "../ollama/loopback-ollama.ts";
import { writeTinyLoraFixture } from "./export-fixture.ts";

const root = mkdtempSync(join(tmpdir(), "export-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

function dataset(path: string) {
  const ex = (i: number, split: string, q: string, a: string) => JSON.stringify({ type: "example", id: `ex${i}`, qaId: `qa${i}`, docId: "d", chunkId: "c", source: "doc.md", template: "chatml", split, data: { messages: [{ role: "user", content: q }, { role: "assistant", content: a }] } });
  writeFileSync(path, [
    ex(1, "train", "How long is the warranty?", "Two years from the date of purchase."),
    ex(2, "train", "Who pays shipping for returns?", "The seller pays shipping for returns."),
    ex(3, "valid", "How fast does support answer?", "Within one business day."),
  ].join("\n") + "\n");
}

test("export: LoRA adapter + base → merged GGUF, adapter GGUF, Modelfiles, card; created in a loopback Ollama", async () => {
  const ft = join(root, "fine_tuned_models", "docs");
  mkdirSync(ft, { recursive: true });
  const f = await writeTinyLoraFixture(ft);
  writeFileSync(join(ft, "training_report.json"), JSON.stringify({ baseModel: "tiny", steps: 40, finalLoss: 0.0812, examples: 2 }));
  const data = join(root, "training_data_final.jsonl");
  dataset(data);
  const srv = await startLoopbackOllama();
  try {
    const r = await exportModel({
      modelPath: ft, name: "docs-test", outputDir: join(root, "merged_models"), quant: "f16", datasetPath: data,
      ollamaBaseUrl: srv.baseUrl, backend: "cpu", now: new Date("2026-01-02T03:04:05Z"),
    });
    // Merged model: f16 matrices, the base's tokenizer and chat template, provenance.
    const g = await openGguf(r.modelGguf);
    try {
      assert.equal(g.tensor("blk.0.attn_q.weight")!.type, "F16");
      assert.equal(g.tensor("blk.0.attn_norm.weight")!.type, "F32");
      assert.ok((g.meta<string>("tokenizer.chat_template") ?? "").includes("<|im_start|>"));
      assert.equal(g.meta("general.name"), "docs-test");
      assert.equal(g.meta("docs2model.dataset_sha256"), createHash("sha256").update(readFileSync(data)).digest("hex"));
      assert.equal(g.meta("docs2model.created_at"), "2026-01-02T03:04:05.000Z");
    } finally {
      await g.close();
    }
    const mf = readFileSync(r.modelfile, "utf8");
    assert.match(mf, /^# docs-test: fine-tuned from tiny by docs2model on 2026-01-02T03:04:05.000Z\n/);
    assert.match(mf, /\nFROM \.\/model\.gguf\nTEMPLATE """\{\{- range \.Messages \}\}<\|im_start\|>\{\{ \.Role \}\}\n/);
    assert.match(mf, /\nPARAMETER stop "<\|im_end\|>"\n/);
    assert.match(mf, /\nPARAMETER num_ctx 256\n/);
    assert.equal(r.template.verified, true);
    assert.match(readFileSync(r.modelfileAdapter!, "utf8"), new RegExp(`\\nFROM ${f.base.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\nADAPTER \\./adapter\\.gguf\\n`));
    const ad = await openGguf(r.adapterGguf!);
    assert.equal(ad.meta("general.type"), "adapter");
    assert.equal(ad.meta("adapter.lora.alpha"), 8);
    await ad.close();
    // Verification ran in llama.cpp: merged f16 = base + adapter, parity with tfjs.
    const merged = r.verify!.checks.find((c) => /base \+ adapter/.test(c.name))!;
    assert.equal(merged.ok, true, merged.detail);
    // Eval: the valid split, base vs fine-tuned, F1.
    assert.deepEqual(r.eval!.models, ["base", "fine-tuned"]);
    assert.equal(r.eval!.rows.length, 1);
    assert.equal(r.eval!.rows[0]!.question, "How fast does support answer?");
    const card = readFileSync(r.card, "utf8");
    assert.match(card, /## Evaluation\n\nScored by token-overlap F1 vs reference on 1 held-out question/);
    assert.match(card, /\| finalLoss \| 0\.0812 \|/);
    assert.match(card, /\| merged model = base \+ adapter \(greedy\) \| pass \|/);
    // Ollama: the exact bytes of model.gguf arrived under their sha256, then the create request.
    const digest = `sha256:${createHash("sha256").update(readFileSync(r.modelGguf)).digest("hex")}`;
    assert.ok(srv.blobs.has(digest));
    assert.equal(r.ollama.installed, true);
    const create = srv.creates[0]!;
    assert.deepEqual(create.files, { "model.gguf": digest });
    assert.equal(create.model, "docs-test");
    assert.equal(create.template, r.template.template);
    assert.deepEqual(create.parameters, { stop: r.template.stop, num_ctx: 256 });
  } finally {
    await srv.close();
  }
});

test("export without a server prints the ollama create command; an adapter without its base is refused", async () => {
  const ft = join(root, "ft2");
  mkdirSync(ft, { recursive: true });
  // A base that records its license and Hugging Face id: the Modelfile's LICENSE and the card's front matter carry them.
  await writeTinyLoraFixture(ft, { seed: 9, baseMetadata: { "general.license": "apache-2.0", "general.source.huggingface.repository": "Org/Tiny-Base" } });
  const srv = await startLoopbackOllama();
  await srv.close(); // a port nobody listens on
  const r = await exportModel({ modelPath: ft, name: "offline", outputDir: join(root, "out2"), quant: "q8_0", ollamaBaseUrl: srv.baseUrl, verify: false, eval: false });
  assert.equal(r.ollama.installed, false);
  assert.match(readFileSync(r.modelfile, "utf8"), /\nLICENSE """apache-2\.0"""\n/);
  assert.match(readFileSync(r.card, "utf8"), /^---\nlicense: apache-2\.0\nbase_model:\n- "?Org\/Tiny-Base"?\nbase_model_relation: finetune\n/);
  assert.deepEqual(r.ollama.commands.slice(1), ["ollama create offline -f Modelfile", "ollama run offline"]);
  renameSync(join(ft, "base.gguf"), join(ft, "elsewhere.gguf.bak"));
  await assert.rejects(exportModel({ modelPath: ft, name: "x", outputDir: join(root, "out3"), quant: "q8_0", ollamaBaseUrl: srv.baseUrl, install: "never" }), /found the adapter .* but not its base model; pass --base/);
});

test("an adapter on a base from the Ollama store: found through the blob path, Modelfile.adapter names the Ollama model", async () => {
  const ft = join(root, "ft-ollama");
  const blobs = join(root, "ollama-models", "blobs");
  mkdirSync(ft, { recursive: true });
  mkdirSync(blobs, { recursive: true });
  const f = await writeTinyLoraFixture(ft, { seed: 13 });
  const blob = join(blobs, "sha256-" + "ab".repeat(32));
  renameSync(f.base, blob);
  writeFileSync(join(ft, "training_report.json"), JSON.stringify({ model: { name: "tinyllama:latest", base: blob, arch: "llama", tiny: false } }));
  const r = await exportModel({ modelPath: ft, name: "from-store", outputDir: join(root, "out4"), quant: "f16", ollamaBaseUrl: "http://127.0.0.1:9", install: "never", verify: false, eval: false });
  assert.match(readFileSync(r.modelfileAdapter!, "utf8"), /\nFROM tinyllama:latest\nADAPTER \.\/adapter\.gguf\n/);
  assert.match(readFileSync(r.card, "utf8"), /Fine-tuned from \*\*tinyllama:latest\*\*/);
});

test("a q8_0 export: verify.json and the card give top-1 and mean KL for our forward and for q8_0 vs the f16 merge", async () => {
  const ft = join(root, "ft-q8");
  mkdirSync(ft, { recursive: true });
  await writeTinyLoraFixture(ft, { seed: 17 });
  const data = join(root, "q8-data.jsonl");
  dataset(data);
  const r = await exportModel({ modelPath: ft, name: "q8", outputDir: join(root, "out-q8"), quant: "q8_0", datasetPath: data, ollamaBaseUrl: "http://127.0.0.1:9", install: "never", eval: false, backend: "cpu" });
  const v = JSON.parse(readFileSync(join(r.dir, "verify.json"), "utf8"));
  for (const k of ["parity", "parityF16", "quantization"]) {
    assert.ok(v[k].positions >= 200, `${k}: ${JSON.stringify(v[k])}`);
    assert.ok(v[k].top1 > 0 && v[k].top1 <= 1 && v[k].meanKl >= 0, `${k}: ${JSON.stringify(v[k])}`);
  }
  // Rounding to q8_0 moves the distribution a little, never not at all.
  assert.ok(v.quantization.meanKl > 0, JSON.stringify(v.quantization));
  const names = v.checks.map((c: { name: string }) => c.name);
  assert.ok(names.includes("llama.cpp next token and distribution = our tfjs model's on the f16 merge"), names.join("; "));
  assert.ok(names.includes("quantized model vs the f16 merge (llama.cpp)"), names.join("; "));
  const f16Check = v.checks.find((c: { name: string }) => /on the f16 merge/.test(c.name));
  assert.equal(f16Check.ok, true, f16Check.detail);
  const card = readFileSync(r.card, "utf8");
  assert.match(card, /Training forward \(tfjs\) vs llama\.cpp: top-1 agreement \*\*[\d.]+%\*\*, mean KL divergence \*\*[\d.e+-]+\*\* nats over \d+ positions/);
  assert.match(card, /Exported model vs the f16 merge, both in llama\.cpp: top-1 agreement \*\*[\d.]+%\*\*, mean KL divergence/);
  assert.equal(existsSync(join(r.dir, ".verify-f16.gguf")), false, "the f16 twin is removed");
});

test("a q4_k_m export: llama-quantize's types (with its fallbacks for 64-wide rows), verify passes and reports the KL against the f16 merge", async () => {
  const ft = join(root, "ft-q4km");
  mkdirSync(ft, { recursive: true });
  await writeTinyLoraFixture(ft, { seed: 19 });
  const data = join(root, "q4km-data.jsonl");
  dataset(data);
  const r = await exportModel({ modelPath: ft, name: "q4km", outputDir: join(root, "out-q4km"), quant: "q4_k_m", datasetPath: data, ollamaBaseUrl: "http://127.0.0.1:9", install: "never", eval: false, backend: "cpu" });
  const f = await openGguf(r.modelGguf);
  try {
    assert.equal(f.meta("general.file_type"), 15);
    // 64- and 128-wide rows fit no 256-value block: Q4_K → Q5_0, Q6_K → Q8_0 (output; attn_v and ffn_down of layer 1,
    // the one of 2 layers use_more_bits picks).
    const types = Object.fromEntries(f.tensors.map((t) => [t.name, t.type]));
    assert.equal(types["output.weight"], "Q8_0");
    assert.equal(types["token_embd.weight"], "Q5_0");
    assert.equal(types["blk.0.attn_q.weight"], "Q5_0");
    assert.equal(types["blk.0.attn_v.weight"], "Q5_0");
    assert.equal(types["blk.1.attn_v.weight"], "Q8_0");
    assert.equal(types["blk.0.ffn_down.weight"], "Q5_0");
    assert.equal(types["blk.1.ffn_down.weight"], "Q8_0");
    assert.equal(types["blk.0.attn_norm.weight"], "F32");
  } finally {
    await f.close();
  }
  assert.equal(r.verify?.ok, true, JSON.stringify(r.verify?.checks));
  const v = JSON.parse(readFileSync(join(r.dir, "verify.json"), "utf8"));
  assert.ok(v.quantization.positions >= 200 && v.quantization.meanKl > 0, JSON.stringify(v.quantization));
});
