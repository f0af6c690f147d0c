// Preflight: the real-layout bases train ("trainable: yes"); rope, metadata, tensors and types we do not implement
// are refused by name — by `model info`, and by qa-train and `pipeline all` before any output or LLM request.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import type { GgufValue } from "../../src/gguf/types.ts";
import { architectureMetadata } from "../../src/model/gguf-meta.ts";
import { checkGgufFile, checkSupported } from "../../src/model/preflight.ts";
import { spmVocabMetadata } from "../../src/tokenizer/load.ts";
import { archConfig, archTensors, VOCAB, writeArchModel, type ArchCase } from "./arch-fixture.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "d2m-preflight-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A case's file with metadata replaced/added and tensors added (f32, small). */
async function variant(name: string, kind: ArchCase, meta: Record<string, GgufValue>, extra: Array<{ name: string; dims: number[] }> = []): Promise<string> {
  const config = archConfig(kind);
  const path = join(dir, `${name}.gguf`);
  const tensors = archTensors(config).map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length >= 2 ? "F16" as const : "F32" as const, data: t.data }));
  for (const e of extra) tensors.push({ name: e.name, dims: e.dims, type: "F32", data: new Float32Array(e.dims.reduce((a, b) => a * b, 1)) });
  await writeGguf(path, { metadata: { ...architectureMetadata(config, name), ...spmVocabMetadata(VOCAB), ...meta }, tensors });
  return path;
}
const str = (value: string): GgufValue => ({ type: "string", value });
const f32 = (value: number): GgufValue => ({ type: "f32", value });
const u32 = (value: number): GgufValue => ({ type: "u32", value });

test("the real-layout bases are trainable: llama3 with rope_freqs, linear rope, qwen3, gemma3, gemma2, phi3, phi4-mini", async () => {
  for (const kind of ["llama3", "llama-linear", "qwen3", "gemma3", "gemma2", "phi3", "phi4-mini"] as ArchCase[]) {
    const p = await checkGgufFile((await writeArchModel(kind)).path);
    assert.deepEqual([p.trainable, p.reason], [true, ""], kind);
  }
  // gemma3 as Ollama's converter writes it: the pattern as one bool per layer, the local base as rope.local.freq_base.
  const ollama = await variant("gemma3-ollama", "gemma3", {
    "gemma3.attention.sliding_window_pattern": { type: "array", itemType: "bool", value: [true, true, true, true, true, false] },
    "gemma3.rope.local.freq_base": f32(10000),
  });
  const p = await checkGgufFile(ollama);
  assert.deepEqual([p.trainable, p.reason, p.config?.swaPattern], [true, "", 6]);
});

test("refused by name: yarn, longrope outside phi3, NTK alpha, partial rope outside phi3, half of phi3's long/short factors, gemma, unknown and misplaced tensors", async () => {
  const cases: Array<[string, Promise<string>, RegExp]> = [
    ["yarn", variant("yarn", "llama3", { "llama.rope.scaling.type": str("yarn"), "llama.rope.scaling.factor": f32(4) }), /llama\.rope\.scaling\.type.*rope scaling "yarn" is not implemented/],
    ["longrope", variant("longrope", "llama-linear", { "llama.rope.scaling.type": str("longrope") }), /rope scaling "longrope"/],
    ["NTK alpha", variant("alpha", "qwen3", { "qwen3.rope.scaling.alpha": f32(1000) }), /qwen3\.rope\.scaling\.alpha.*NTK-alpha rope scaling is not implemented/],
    ["yarn on phi3", variant("phi3-yarn", "phi3", { "phi3.rope.scaling.type": str("yarn") }), /phi3\.rope\.scaling\.type.*"yarn" is not implemented \(only linear and none, and longrope\)/],
    ["longrope on llama", variant("llama-long", "llama-linear", { "llama.rope.scaling.type": str("longrope") }), /rope scaling "longrope" is not implemented/],
    ["phi3 with one of the long/short factors", variant("phi3-half", "phi3", {}, [{ name: "rope_factors_long.weight", dims: [6] }]), /only one of rope_factors_short\.weight \/ rope_factors_long\.weight/],
    ["partial rope on qwen3", variant("qpartial", "qwen3", { "qwen3.rope.dimension_count": u32(16) }), /partial rope \(32 dims per head\) is not implemented for qwen3/],
    ["gemma2 with its own output matrix", variant("g2out", "gemma2", {}, [{ name: "output.weight", dims: [64, 320] }]), /unknown tensor output\.weight for gemma2/],
    ["gemma (the first)", variant("gemma1", "llama-linear", { "general.architecture": str("gemma") }), /gemma \(the first Gemma\) is not implemented/],
    ["unknown tensor", variant("bias", "llama3", {}, [{ name: "blk.0.attn_output.bias", dims: [64] }]), /unknown tensor blk\.0\.attn_output\.bias for llama/],
    ["rope_freqs on qwen3", variant("qfreqs", "qwen3", {}, [{ name: "rope_freqs.weight", dims: [16] }]), /rope_freqs\.weight is not read by llama\.cpp for qwen3/],
    ["gemma3 local base", variant("glocal", "gemma3", { "gemma3.rope.local.freq_base": f32(20000) }), /gemma3\.rope\.local\.freq_base.*differs from the local rope base/],
    ["gemma3 pattern", variant("gpattern", "gemma3", { "gemma3.attention.sliding_window_pattern": { type: "array", itemType: "bool", value: [true, false, true, true, true, false] } }), /sliding_window_pattern.*other than every 6th layer global/],
    ["vision tensors", variant("gvision", "gemma3", {}, [{ name: "v.patch_embd.weight", dims: [4, 4] }, { name: "mm.input_projection.weight", dims: [4, 4] }]), /2 vision tensors \(v\.patch_embd\.weight, mm\.input_projection\.weight\).*multimodal layout/],
    ["value length", variant("vlen", "qwen3", { "qwen3.attention.value_length": u32(16) }), /value_length.*differs/],
  ];
  for (const [label, file, want] of cases) {
    const p = await checkGgufFile(await file);
    assert.equal(p.trainable, false, label);
    assert.match(p.reason, want, label);
  }
});

test("tensor types we cannot dequantize are refused with the tensor named; a model past the memory budget too", async () => {
  const { path } = await writeArchModel("qwen3");
  const f = await openGguf(path);
  const meta = Object.fromEntries([...f.metadata.keys()].map((k) => [k, f.meta(k)]));
  const tensors = f.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type as string }));
  await f.close();
  assert.equal(checkSupported(meta, tensors).trainable, true);
  const q5 = tensors.map((t) => (t.name === "blk.1.attn_v.weight" ? { ...t, type: "IQ2_XXS" } : t));
  const r = checkSupported(meta, q5);
  assert.equal(r.trainable, false);
  assert.match(r.reason, /1 tensor is IQ2_XXS \(blk\.1\.attn_v\.weight\), which cannot be dequantized here/);
  const huge = checkSupported({ ...meta, "qwen3.vocab_size": 4_000_000, "qwen3.embedding_length": 4096 }, tensors);
  assert.equal(huge.trainable, false);
});

function cli(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const env: Record<string, string | undefined> = { ...process.env, OLLAMA_HOST: "127.0.0.1:9", PIPELINE_CACHE: "false" };
    for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "PIPELINE_LLM_MODEL", "FINETUNE_MODEL_NAME"]) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

test("CLI: model info says trainable yes / no — reason; qa-train and `pipeline all` refuse a yarn base before any output", async () => {
  const good = (await writeArchModel("gemma3")).path;
  const bad = await variant("cli-yarn", "llama3", { "llama.rope.scaling.type": str("yarn"), "llama.rope.scaling.factor": f32(4) });
  const yes = await cli(["model", "info", good], dir);
  assert.equal(yes.status, 0, yes.stderr);
  assert.match(yes.stdout, /^trainable: yes$/m);
  const no = await cli(["model", "info", bad], dir);
  assert.equal(no.status, 0, no.stderr);
  assert.match(no.stdout, /^trainable: no — llama\.rope\.scaling\.type = "yarn": rope scaling "yarn" is not implemented/m);
  const json = JSON.parse((await cli(["model", "info", bad, "--json"], dir)).stdout);
  assert.equal(json.trainable, false);

  const project = join(dir, "project");
  mkdirSync(join(project, "docs"), { recursive: true });
  writeFileSync(join(project, "docs", "kettle.md"), "# Kettle\n\nThe kettle boils water in two minutes and switches itself off.\n");
  const all = await cli(["all", "-i", "docs", "--base", bad], project);
  assert.equal(all.status, 1, all.stderr);
  assert.match(all.stderr, /E_MODEL.*cannot be fine-tuned here: .*rope scaling "yarn"/);
  assert.equal(existsSync(join(project, "data", "document_chunks")), false, "no chunking happened");
  assert.equal(existsSync(join(project, "data", "qa_results")), false, "no Q&A was generated");
  const qa = await cli(["qa-train", "-i", join(project, "missing.jsonl"), "-o", join(project, "tokens"), "--model", bad], project);
  assert.equal(qa.status, 1, qa.stderr);
  assert.match(qa.stderr, /E_MODEL.*rope scaling "yarn"/);
  assert.equal(existsSync(join(project, "tokens")), false);
});
