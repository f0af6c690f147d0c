// `pipeline model info|convert` and the converter under them.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { convertGguf } from "../../src/gguf/convert.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { createTinyBase, seededNormal } from "../../src/model/tiny.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { quantize } from "../../src/gguf/quant.ts";
import { FILE_TYPE, GGML_BLOCK, QUANT_TYPES } from "../../src/gguf/types.ts";
import { trainingText } from "../fixtures/gguf/text.ts";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "conv-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const src = join(dir, "tiny-f32.gguf");
await createTinyBase(src, trainingText(2, 2000), { config: { vocab: 300, dim: 64, layers: 1, heads: 2, kvHeads: 2, ffn: 96 } });

// Rows of 256 take every type; 96 is llama.cpp's K-quant fallback case (896 in qwen2.5:0.5b); 40 fits no block.
const mixedSrc = join(dir, "mixed-rows.gguf");
const normal = seededNormal(3);
const rand = (n: number) => new Float32Array(n).map(() => normal() * 0.05);
await writeGguf(mixedSrc, {
  metadata: { "general.architecture": "llama", "general.name": "rows" },
  tensors: [
    { name: "wide.weight", dims: [256, 3], type: "F32", data: rand(768) },
    { name: "narrow.weight", dims: [96, 2], type: "F32", data: rand(192) },
    { name: "odd.weight", dims: [40, 2], type: "F32", data: rand(80) },
    { name: "norm.weight", dims: [256], type: "F16", data: rand(256) },
  ],
});

test("convert f32 → f16 / q8_0: matrices re-encoded, norms stay f32, metadata kept, values within bound", async () => {
  const a = await openGguf(src);
  for (const [type, tol] of [["F16", 1e-3], ["Q8_0", 0.02]] as const) {
    const out = join(dir, `tiny-${type}.gguf`);
    const r = await convertGguf(src, out, type);
    assert.equal(r.converted, 9);
    assert.equal(r.kept, 3);
    assert.deepEqual(r.fallbacks, {});
    const b = await openGguf(out);
    assert.equal(b.tensor("blk.0.ffn_down.weight")?.type, type);
    assert.equal(b.tensor("output_norm.weight")?.type, "F32");
    assert.equal(b.meta("general.file_type"), type === "F16" ? 1 : 7);
    for (const [k, v] of a.metadata) if (k !== "general.file_type") assert.deepEqual(b.metadata.get(k), v, k);
    const x = await a.readTensorF32("blk.0.attn_q.weight"), y = await b.readTensorF32("blk.0.attn_q.weight");
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= tol * 0.1, `${type} [${i}]`);
    await b.close();
  }
  await a.close();
});

test("CLI: model info shows architecture, tensors and chat template; convert writes; bad input exits 1/2", async () => {
  const info = await run(process.execPath, [bin, "model", "info", src]);
  assert.match(info.stdout, /architecture\s+llama/);
  assert.match(info.stdout, /blk\.0\.attn_q\.weight\s+F32\s+\[64, 64\]/);
  assert.match(info.stdout, /attention\.layer_norm_rms_epsilon\s+0\.00001\b/);
  assert.match(info.stdout, /chat template\n\s+\{% for message in messages %\}/);
  const out = join(dir, "cli-q8.gguf");
  const conv = await run(process.execPath, [bin, "model", "convert", src, out, "--type", "q8_0"]);
  assert.match(conv.stderr, /9 tensors converted to Q8_0/);
  const json = JSON.parse((await run(process.execPath, [bin, "model", "info", out, "--json"])).stdout);
  assert.deepEqual(json.tensorTypes, { Q8_0: 9, F32: 3 });
  await assert.rejects(run(process.execPath, [bin, "model", "convert", src, out, "--type", "q5"]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /unknown --type "q5"; use one of f32, f16/);
    return true;
  });
  await assert.rejects(run(process.execPath, [bin, "model", "info", join(dir, "missing.gguf")]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /error \[E_GGUF\] .*missing\.gguf: cannot open model file/);
    return true;
  });
});

test("convert to every type: matrices take it or llama.cpp's fallback, bytes are our quantizer's on the source values", async () => {
  const a = await openGguf(mixedSrc);
  for (const type of QUANT_TYPES) {
    const out = join(dir, `rows-${type}.gguf`);
    const r = await convertGguf(mixedSrc, out, type);
    const b = await openGguf(out);
    const k = GGML_BLOCK[type][0] === 256;
    const narrow = k ? ({ Q2_K: "Q4_0", Q3_K: "Q4_0", Q4_K: "Q5_0", Q5_K: "Q5_1", Q6_K: "Q8_0", IQ4_XS: "IQ4_NL" } as Record<string, string>)[type] : type;
    const float = GGML_BLOCK[type][0] === 1;
    const want: Record<string, string> = { "wide.weight": type, "narrow.weight": narrow!, "odd.weight": float ? type : "F16", "norm.weight": "F32" };
    for (const t of b.tensors) {
      assert.equal(t.type, want[t.name], `${type}: ${t.name}`);
      const expected = quantize(t.type, await a.readTensorF32(t.name));
      assert.deepEqual(await b.readTensorRaw(t.name), expected, `${type}: ${t.name} bytes`);
    }
    assert.equal(b.meta("general.file_type"), FILE_TYPE[type]);
    assert.deepEqual(r.fallbacks, k ? { [narrow!]: 1, F16: 1 } : float ? {} : { F16: 1 });
    await b.close();
  }
  await a.close();
});

test("convert re-encodes every tensor whose type changes (Q5_0 → Q8_0 is not a copy); unreadable types are refused", async () => {
  const src = join(dir, "mixed-types.gguf");
  const types = ["Q5_0", "Q4_K", "IQ4_XS", "Q6_K", "F16", "Q8_0", "Q3_K"] as const;
  await writeGguf(src, {
    metadata: { "general.architecture": "llama" },
    tensors: types.map((type, i) => ({ name: `t${i}.weight`, dims: [256, 2], type, data: rand(512) })),
  });
  const out = join(dir, "mixed-q8.gguf");
  const r = await convertGguf(src, out, "Q8_0");
  assert.equal(r.converted, types.length - 1);
  assert.equal(r.kept, 1, "only the tensor already Q8_0 is copied");
  const a = await openGguf(src), b = await openGguf(out);
  for (const t of b.tensors) {
    assert.equal(t.type, "Q8_0", t.name);
    assert.deepEqual(await b.readTensorRaw(t.name), quantize("Q8_0", await a.readTensorF32(t.name)), `${t.name} re-quantized from its dequantized values`);
  }
  await a.close();
  await b.close();

  const bad = join(dir, "iq2.gguf");
  await writeGguf(bad, { metadata: { "general.architecture": "llama" }, tensors: [{ name: "x.weight", dims: [256, 1], type: "IQ2_XXS", raw: new Uint8Array(66) }] });
  await assert.rejects(convertGguf(bad, join(dir, "iq2-q8.gguf"), "Q8_0"), /tensor "x.weight" is IQ2_XXS, which cannot be converted/);
});
