import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf, type GgufTensorInput } from "../../src/gguf/writer.ts";
import { quantize } from "../../src/gguf/quant.ts";
import { mergeToGguf, writeLoraAdapter } from "../../src/export/merge.ts";

const dir = mkdtempSync(join(tmpdir(), "merge-test-"));
function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2);
}
const IN = 64, OUT = 96, R = 4, ALPHA = 8;
const W = rand(IN * OUT, 1), A = rand(IN * R, 2), B = rand(R * OUT, 3), N = rand(IN, 4);

async function fixtures() {
  const base = join(dir, "base.gguf"), adapter = join(dir, "adapter.gguf");
  await writeGguf(base, {
    metadata: { "general.architecture": "llama", "general.name": "base", "tokenizer.chat_template": "{{ x }}" },
    tensors: [
      { name: "blk.0.attn_q.weight", dims: [IN, OUT], type: "F32", data: W },
      { name: "blk.0.attn_norm.weight", dims: [IN], type: "F32", data: N },
      { name: "blk.0.ffn_up.weight", dims: [IN, OUT], type: "F32", data: W },
    ],
  });
  await writeGguf(adapter, {
    metadata: { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": { type: "f32", value: ALPHA } },
    tensors: [
      { name: "blk.0.attn_q.weight.lora_a", dims: [IN, R], type: "F32", data: A },
      { name: "blk.0.attn_q.weight.lora_b", dims: [R, OUT], type: "F32", data: B },
    ],
  });
  return { base, adapter };
}

test("merge adds (alpha/r)·B·A to the adapted weight only, keeps metadata and norms, adds provenance", async () => {
  const { base, adapter } = await fixtures();
  const out = join(dir, "merged.gguf");
  const r = await mergeToGguf({ basePath: base, adapterPath: adapter, outPath: out, quant: "f32", extraMetadata: { "docs2model.dataset_sha256": "abc" } });
  assert.deepEqual(r.merged, ["blk.0.attn_q.weight"]);
  const f = await openGguf(out);
  try {
    assert.equal(f.meta("tokenizer.chat_template"), "{{ x }}");
    assert.equal(f.meta("docs2model.dataset_sha256"), "abc");
    assert.equal(f.meta("general.file_type"), 0);
    const q = await f.readTensorF32("blk.0.attn_q.weight");
    // Independent check: torch convention W[out][in] + s · (B[out][r] @ A[r][in]).
    let maxErr = 0;
    for (let o = 0; o < OUT; o++) for (let i = 0; i < IN; i++) {
      let d = 0;
      for (let k = 0; k < R; k++) d += B[o * R + k]! * A[k * IN + i]!;
      maxErr = Math.max(maxErr, Math.abs(q[o * IN + i]! - (W[o * IN + i]! + (ALPHA / R) * d)));
    }
    assert.ok(maxErr < 1e-6, `max error ${maxErr}`);
    assert.deepEqual(await f.readTensorF32("blk.0.ffn_up.weight"), W);
    assert.deepEqual(await f.readTensorF32("blk.0.attn_norm.weight"), N);
  } finally {
    await f.close();
  }
});

test("q8_0 export quantizes matrices, keeps 1-D tensors f32, within Q8_0's error bound", async () => {
  const { base, adapter } = await fixtures();
  const out = join(dir, "merged-q8.gguf");
  const r = await mergeToGguf({ basePath: base, adapterPath: adapter, outPath: out, quant: "q8_0" });
  assert.equal(r.tensorTypes["blk.0.attn_q.weight"], "Q8_0");
  assert.equal(r.tensorTypes["blk.0.attn_norm.weight"], "F32");
  const f = await openGguf(out);
  try {
    assert.equal(f.tensor("blk.0.ffn_up.weight")!.type, "Q8_0");
    assert.equal(f.meta("general.file_type"), 7);
    const up = await f.readTensorF32("blk.0.ffn_up.weight");
    const bound = 0.1 / 127; // |w| ≤ 0.1 here: Q8_0's step is max|w|/127 per block of 32
    assert.ok(up.every((v, i) => Math.abs(v - W[i]!) <= bound));
  } finally {
    await f.close();
  }
});

// llama.cpp's mixes: each tensor gets llama-quantize's type, its bytes are our (ggml-equal) quantizer's on the
// merged f32 weights; a base already quantized is re-quantized only when the mix is smaller.
test("q4_k_m / q5_k_m / q6_k exports type each tensor as llama-quantize does and quantize the merged weights", async () => {
  const W2 = rand(256 * 256, 5), A2 = rand(256 * R, 6), B2 = rand(R * 256, 7);
  const base = join(dir, "base-mix.gguf"), adapter = join(dir, "adapter-mix.gguf");
  const layers = 8;
  const tensors: GgufTensorInput[] = [{ name: "token_embd.weight", dims: [256, 256], type: "F32", data: W2 }, { name: "output.weight", dims: [256, 256], type: "Q8_0", data: W2 }];
  for (let l = 0; l < layers; l++) {
    tensors.push({ name: `blk.${l}.attn_v.weight`, dims: [256, 256], type: "F32", data: W2 });
    tensors.push({ name: `blk.${l}.ffn_down.weight`, dims: [96, 256], type: "F32", data: W2.subarray(0, 96 * 256) });
    tensors.push({ name: `blk.${l}.attn_norm.weight`, dims: [256], type: "F32", data: W2.subarray(0, 256) });
  }
  await writeGguf(base, { metadata: { "general.architecture": "llama", "llama.block_count": layers }, tensors });
  await writeGguf(adapter, {
    metadata: { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": { type: "f32", value: ALPHA } },
    tensors: [
      { name: "blk.1.attn_v.weight.lora_a", dims: [256, R], type: "F32", data: A2 },
      { name: "blk.1.attn_v.weight.lora_b", dims: [R, 256], type: "F32", data: B2 },
    ],
  });
  const f32 = join(dir, "merged-mix-f32.gguf");
  await mergeToGguf({ basePath: base, adapterPath: adapter, outPath: f32, quant: "f32" });
  const ref = await openGguf(f32);
  for (const [quant, baseType, fileType] of [["q4_k_m", "Q4_K", 15], ["q5_k_m", "Q5_K", 17], ["q6_k", "Q6_K", 18]] as const) {
    const out = join(dir, `merged-${quant}.gguf`);
    const r = await mergeToGguf({ basePath: base, adapterPath: adapter, outPath: out, quant });
    const more = (l: number) => quant === "q6_k" || [0, 3, 6, 7].includes(l);
    assert.equal(r.tensorTypes["output.weight"], "Q6_K", `${quant}: output (a Q8_0 base tensor, re-quantized because Q6_K is smaller)`);
    assert.equal(r.tensorTypes["token_embd.weight"], baseType);
    for (let l = 0; l < layers; l++) {
      assert.equal(r.tensorTypes[`blk.${l}.attn_v.weight`], more(l) ? "Q6_K" : baseType, `${quant} attn_v ${l}`);
      // 96-wide rows: llama.cpp's fallbacks Q6_K → Q8_0, Q4_K → Q5_0, Q5_K → Q5_1
      assert.equal(r.tensorTypes[`blk.${l}.ffn_down.weight`], more(l) ? "Q8_0" : baseType === "Q4_K" ? "Q5_0" : "Q5_1", `${quant} ffn_down ${l}`);
      assert.equal(r.tensorTypes[`blk.${l}.attn_norm.weight`], "F32");
    }
    const f = await openGguf(out);
    try {
      assert.equal(f.meta("general.file_type"), fileType);
      for (const t of f.tensors) {
        assert.equal(t.type, r.tensorTypes[t.name], t.name);
        assert.deepEqual(await f.readTensorRaw(t.name), quantize(t.type, await ref.readTensorF32(t.name)), `${quant} ${t.name}: our quantizer on the merged f32 weights`);
      }
    } finally {
      await f.close();
    }
  }
  await ref.close();
});

test("bad adapters are refused with a reason", async () => {
  const { base, adapter } = await fixtures();
  await assert.rejects(mergeToGguf({ basePath: base, adapterPath: base, outPath: join(dir, "x.gguf"), quant: "f16" }), /not a LoRA adapter GGUF/);
  const wrong = join(dir, "wrong.gguf");
  await writeGguf(wrong, {
    metadata: { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora" },
    tensors: [
      { name: "blk.0.attn_k.weight.lora_a", dims: [IN, R], type: "F32", data: A },
      { name: "blk.0.attn_k.weight.lora_b", dims: [R, OUT], type: "F32", data: B },
    ],
  });
  await assert.rejects(mergeToGguf({ basePath: base, adapterPath: wrong, outPath: join(dir, "y.gguf"), quant: "f16" }), /adapts blk\.0\.attn_k\.weight, which the base model does not have/);
  const norm = join(dir, "adapter-out.gguf");
  await writeLoraAdapter(adapter, norm, { arch: "llama" });
  const f = await openGguf(norm);
  assert.equal(f.meta("adapter.lora.alpha"), ALPHA);
  assert.equal(f.metadata.get("adapter.lora.alpha")!.type, "f32");
  await f.close();
});
