// Dequantization against known values: hand-computed blocks, and a GGUF written byte by byte in python.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openGguf } from "../../src/gguf/reader.ts";
import { createHash } from "node:crypto";
import { dequantize, floatToBf16, floatToHalf, halfToFloat, quantize } from "../../src/gguf/quant.ts";
import type { WritableTensorType } from "../../src/gguf/types.ts";
import { seededNormal } from "../../src/model/tiny.ts";

const dir = mkdtempSync(join(tmpdir(), "deq-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("half floats: exact values, rounding to nearest even, overflow, subnormals", () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(70000), 0x7c00);
  assert.equal(floatToHalf(2 ** -24), 0x0001);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, "tie rounds to even (down)");
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, "tie rounds to even (up)");
  assert.equal(floatToHalf(-0), 0x8000);
  for (let h = 0; h < 0x7c00; h += 7) assert.equal(floatToHalf(halfToFloat(h)), h, `half ${h} round trips`);
  assert.equal(floatToBf16(1), 0x3f80);
  assert.equal(floatToBf16(1 + 2 ** -8), 0x3f80, "bf16 tie to even");
  assert.equal(floatToBf16(1 + 3 * 2 ** -8), 0x3f82);
});

test("Q8_0 block by hand: d = 0.5, q = -128..", () => {
  const block = new Uint8Array(34);
  block[0] = 0x00; block[1] = 0x38; // f16 0.5
  const qs = [-128, -1, 0, 1, 127, 5, -7, 100];
  qs.forEach((q, i) => (block[2 + i] = q & 0xff));
  const out = dequantize("Q8_0", block, 32);
  assert.deepEqual([...out.slice(0, 8)], qs.map((q) => q * 0.5));
  assert.equal(out[31], 0);
});

test("Q4_0 block by hand: d = 0.25, low nibbles first half, high nibbles second", () => {
  const block = new Uint8Array(18);
  block[0] = 0x00; block[1] = 0x34; // f16 0.25
  block[2] = 0xf0; // x[0] = (0 - 8) * 0.25 = -2, x[16] = (15 - 8) * 0.25 = 1.75
  block[3] = 0x98; // x[1] = 0, x[17] = 0.25
  const out = dequantize("Q4_0", block, 32);
  assert.equal(out[0], -2);
  assert.equal(out[16], 1.75);
  assert.equal(out[1], 0);
  assert.equal(out[17], 0.25);
  assert.equal(out[2], -2, "zero byte is -8 * d");
});

test("Q4_K block by hand: scales/mins of sub-blocks 0 and 4 (the split 6-bit packing)", () => {
  const b = new Uint8Array(144);
  b[0] = 0x00; b[1] = 0x3c; // d = 1
  b[2] = 0x00; b[3] = 0x38; // dmin = 0.5
  b[4 + 0] = 3;            // sub-block 0 scale 3
  b[4 + 4] = 2;            // sub-block 0 min 2
  // sub-block 4: scale = (s[8] & 0xF) | ((s[0] >> 6) << 4), min = (s[8] >> 4) | ((s[4] >> 6) << 4)
  b[4 + 8] = 0x21;                 // low bits: scale 1, min 2
  b[4 + 0] |= 1 << 6;              // scale += 16 → 17
  b[4 + 4] |= 2 << 6;              // min += 32 → 34
  b[16] = 0x05;                    // q for y[0] = 5 (low nibble), y[32] = 0 (high nibble, sub-block 1)
  b[16 + 64] = 0x07;               // y[128] (sub-block 4) = 7
  const out = dequantize("Q4_K", b, 256);
  assert.equal(out[0], 1 * 3 * 5 - 0.5 * 2);
  assert.equal(out[1], -1);
  assert.equal(out[128], 1 * 17 * 7 - 0.5 * 34);
});

test("Q6_K block by hand: 6-bit value from ql low nibble + qh bits, int8 scales", () => {
  const b = new Uint8Array(210);
  b[208] = 0x00; b[209] = 0x38; // d = 0.5
  b[192] = 2;                    // scale of y[0..15]
  b[192 + 2] = (-3) & 0xff;      // scale of y[32..47]
  b[0] = 0x0a;                   // ql low nibble of y[0] = 10, high nibble of y[64] = 0
  b[128] = 0b00000110;           // qh bits: y[0] += 2<<4 = 32, y[32] += 1<<4 = 16
  const out = dequantize("Q6_K", b, 256);
  assert.equal(out[0], 0.5 * 2 * (10 + 32 - 32));
  assert.equal(out[32], 0.5 * -3 * (0 + 16 - 32));
  assert.equal(out[1], 0.5 * 2 * -32);
});

// Measured with ggml's reference algorithms (the same bytes as ggml, test below) on these two inputs, then
// given ~25% headroom: relative RMS error over the tensor, and the worst error in a block of 32 relative to
// the block's largest value. A swapped nibble, lost high bit or wrong scale is far outside these.
const QUALITY: Record<string, [rmse: number, worst: number]> = {
  Q8_0: [0.006, 0.005], Q6_K: [0.022, 0.02], Q5_1: [0.048, 0.04], Q5_0: [0.053, 0.078], Q5_K: [0.046, 0.08],
  Q4_1: [0.1, 0.083], Q4_0: [0.105, 0.156], Q4_K: [0.09, 0.135], IQ4_NL: [0.095, 0.135], IQ4_XS: [0.095, 0.14],
  Q3_K: [0.19, 0.26], Q2_K: [0.39, 0.5],
};

test("quantizers stay within each format's error", () => {
  const sin = new Float32Array(1024).map((_, i) => Math.sin(i * 1.7) * (1 + (i % 13)));
  const normal = seededNormal(5);
  const gauss = new Float32Array(8192).map(() => normal());
  for (const [type, [rmseMax, worstMax]] of Object.entries(QUALITY) as [WritableTensorType, [number, number]][]) {
    for (const x of [sin, gauss]) {
      const y = dequantize(type, quantize(type, x), x.length);
      let se = 0, ss = 0, worst = 0;
      for (let i = 0; i < x.length; i++) { se += (x[i]! - y[i]!) ** 2; ss += x[i]! ** 2; }
      for (let b = 0; b < x.length; b += 32) {
        let amax = 0, e = 0;
        for (let i = b; i < b + 32; i++) { amax = Math.max(amax, Math.abs(x[i]!)); e = Math.max(e, Math.abs(x[i]! - y[i]!)); }
        worst = Math.max(worst, e / amax);
      }
      assert.ok(Math.sqrt(se / ss) <= rmseMax, `${type}: relative RMS error ${Math.sqrt(se / ss)} > ${rmseMax}`);
      assert.ok(worst <= worstMax, `${type}: worst error ${worst} of a block's max > ${worstMax}`);
    }
  }
});

/** Blocks of every kind ggml's searches branch on: small and unit Gaussians, zero sub-blocks and blocks, outliers, one sign, constant runs, ties. */
function goldenInput(): Float32Array {
  const normal = seededNormal(2024);
  const x = new Float32Array(256 * 16);
  for (let i = 0; i < x.length; i++) {
    const block = i >> 8;
    let v = normal() * (block < 8 ? 0.02 : 1);
    if (block === 1 && (i & 255) < 32) v = 0;
    if (block === 2) v = 0;
    if (block === 3 && i % 17 === 0) v *= 30;
    if (block === 4) v = Math.abs(v);
    if (block === 5) v = -Math.abs(v) - 0.01;
    if (block === 6 && (i & 31) < 16) v = 0.5;
    if (block === 7) v = Math.round(v * 1000) / 1000;
    x[i] = v;
  }
  return x;
}

// SHA-256 (first 16 hex digits) of ggml's own quantize_<type>(…, quant_weights = NULL) — what llama-quantize
// writes without an imatrix — on goldenInput(), from ggml-quants.c of the llama.cpp that node-llama-cpp 3.21.1
// bundles, compiled with gcc -O2 for x86-64 (2026-12-03). Ours must give the same bytes.
const GGML_QUANT_SHA256: Record<string, string> = {
  Q4_0: "cbc626b552df69ec", Q4_1: "f83b97552a37ff77", Q5_0: "ad620afd27ed7631", Q5_1: "8521d601cf83070e",
  Q8_0: "91c780bcf360378e", Q2_K: "ff6106c889cb9f2d", Q3_K: "3430a25a8d50b5b5", Q4_K: "8fe14ea310aa6388",
  Q5_K: "2188c6f80df83c50", Q6_K: "0c2abaed1a357c9f", IQ4_NL: "696ff00d5a25c560", IQ4_XS: "1d4279d371af802a",
};

test("quantizers write the bytes ggml's reference quantizers write", () => {
  const x = goldenInput();
  for (const [type, want] of Object.entries(GGML_QUANT_SHA256)) {
    const got = createHash("sha256").update(quantize(type as WritableTensorType, x)).digest("hex").slice(0, 16);
    assert.equal(got, want, `${type}: our bytes differ from ggml's`);
  }
});

test("a GGUF written by hand in python: metadata of every type and all block types dequantize to ggml's values", async () => {
  const gguf = join(dir, "handmade.gguf"), json = join(dir, "handmade.json");
  execFileSync("python3", [fileURLToPath(new URL("../fixtures/gguf/handmade.py", import.meta.url)), gguf, json]);
  const expected = JSON.parse(readFileSync(json, "utf8")) as Record<string, { dims: number[]; values: number[] }>;
  const f = await openGguf(gguf);
  try {
    assert.equal(f.version, 3);
    assert.deepEqual(f.metadata.get("handmade.u8"), { type: "u8", value: 200 });
    assert.deepEqual(f.metadata.get("handmade.i16"), { type: "i16", value: -300 });
    assert.deepEqual(f.metadata.get("handmade.f64"), { type: "f64", value: 2.5 });
    assert.deepEqual(f.metadata.get("handmade.i64"), { type: "i64", value: -(2 ** 40) });
    assert.deepEqual(f.metadata.get("handmade.bool"), { type: "bool", value: true });
    assert.deepEqual(f.metadata.get("handmade.arr"), { type: "array", itemType: "u32", value: [1, 2, 3] });
    assert.deepEqual(f.meta("handmade.nested"), [["a", "é"]]);
    assert.deepEqual(f.tensors.map((t) => t.type), ["F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]);
    for (const t of f.tensors) {
      const want = expected[t.name]!;
      assert.deepEqual(t.dims, want.dims);
      const got = await f.readTensorF32(t.name);
      assert.equal(got.length, want.values.length);
      want.values.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= 1e-6 * Math.abs(v) + 1e-9, `${t.name}[${i}] ${got[i]} ≠ ${v}`));
    }
  } finally {
    await f.close();
  }
});
