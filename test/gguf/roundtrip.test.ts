// GGUF writer: every metadata type, read → write → read exact for F32/F16, Q8_0 within bound, alignment,
// tensors produced lazily one at a time.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf, type GgufTensorInput } from "../../src/gguf/writer.ts";
import { seededNormal } from "../../src/model/tiny.ts";

const dir = mkdtempSync(join(tmpdir(), "rt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const randn = (n: number, seed: number, scale = 1) => { const r = seededNormal(seed); return new Float32Array(n).map(() => r() * scale); };

const META = {
  "general.architecture": "llama",
  plain_u32: 7, plain_i32: -7, plain_f32: 0.5, plain_bool: false, plain_u64: 2n ** 40n, plain_i64: -(2n ** 40n),
  plain_strs: ["a", "é", "東京", ""], plain_ints: [1, -2, 3], plain_floats: [0.5, 1.25],
  typed_u8: { type: "u8", value: 255 }, typed_i8: { type: "i8", value: -128 }, typed_u16: { type: "u16", value: 65535 },
  typed_i16: { type: "i16", value: -32768 }, typed_f64: { type: "f64", value: Math.PI }, typed_u64: { type: "u64", value: 2n ** 63n },
  typed_arr: { type: "array", itemType: "u8", value: [1, 2, 3] },
  nested: { type: "array", itemType: "array", value: [{ type: "array", itemType: "string", value: ["x"] }, { type: "array", itemType: "f32", value: [1.5] }] },
} as const;

test("metadata of every type round-trips with its type", async () => {
  const p = join(dir, "meta.gguf");
  await writeGguf(p, { metadata: META as never, tensors: [] });
  const f = await openGguf(p);
  const m = f.metadata;
  assert.deepEqual(m.get("plain_u32"), { type: "u32", value: 7 });
  assert.deepEqual(m.get("plain_i32"), { type: "i32", value: -7 });
  assert.deepEqual(m.get("plain_f32"), { type: "f32", value: 0.5 });
  assert.deepEqual(m.get("plain_bool"), { type: "bool", value: false });
  assert.deepEqual(m.get("plain_u64"), { type: "u64", value: 2 ** 40 });
  assert.deepEqual(m.get("plain_i64"), { type: "i64", value: -(2 ** 40) });
  assert.deepEqual(m.get("plain_strs"), { type: "array", itemType: "string", value: ["a", "é", "東京", ""] });
  assert.deepEqual(m.get("plain_ints"), { type: "array", itemType: "i32", value: [1, -2, 3] });
  assert.deepEqual(m.get("plain_floats"), { type: "array", itemType: "f32", value: [0.5, 1.25] });
  for (const k of ["typed_u8", "typed_i8", "typed_u16", "typed_i16", "typed_f64", "typed_arr", "nested"] as const) assert.deepEqual(m.get(k), META[k], k);
  assert.deepEqual(m.get("typed_u64"), { type: "u64", value: 2n ** 63n }, "unsafe 64-bit integers stay bigint");
  assert.deepEqual([...m.keys()], Object.keys(META), "insertion order kept");
  // Writing what we read gives the same bytes.
  const p2 = join(dir, "meta2.gguf");
  await writeGguf(p2, { metadata: m, tensors: [] });
  await f.close();
  assert.deepEqual(readFileSync(p2), readFileSync(p));
});

test("read → write → read: F32 and F16 exact, Q8_0 within half a step; raw copy byte-identical", async () => {
  const a = randn(64 * 3, 1), b = randn(32 * 5, 2, 10);
  const p1 = join(dir, "one.gguf");
  await writeGguf(p1, {
    metadata: { "general.architecture": "llama" },
    tensors: [
      { name: "a32", dims: [64, 3], type: "F32", data: a },
      { name: "a16", dims: [64, 3], type: "F16", data: a },
      { name: "b8", dims: [32, 5], type: "Q8_0", data: b },
    ],
  });
  const f1 = await openGguf(p1);
  const x32 = await f1.readTensorF32("a32"), x16 = await f1.readTensorF32("a16"), x8 = await f1.readTensorF32("b8");
  assert.deepEqual(x32, a);
  const p2 = join(dir, "two.gguf");
  await writeGguf(p2, {
    metadata: f1.metadata,
    tensors: [
      { name: "a32", dims: [64, 3], type: "F32", data: x32 },
      { name: "a16", dims: [64, 3], type: "F16", data: x16 },
      { name: "b8", dims: [32, 5], type: "Q8_0", data: x8 },
      { name: "b8raw", dims: [32, 5], type: "Q8_0", raw: () => f1.readTensorRaw("b8") },
    ],
  });
  const f2 = await openGguf(p2);
  assert.deepEqual(await f2.readTensorF32("a32"), x32);
  assert.deepEqual(await f2.readTensorF32("a16"), x16, "F16 values re-encode exactly");
  assert.deepEqual(await f2.readTensorRaw("b8raw"), await f1.readTensorRaw("b8"));
  const y8 = await f2.readTensorF32("b8");
  for (let blk = 0; blk < b.length / 32; blk++) {
    let amax = 0;
    for (let i = blk * 32; i < blk * 32 + 32; i++) amax = Math.max(amax, Math.abs(b[i]!));
    for (let i = blk * 32; i < blk * 32 + 32; i++) {
      assert.ok(Math.abs(y8[i]! - b[i]!) <= (amax / 127) * 0.57, `Q8_0 [${i}]`);
      assert.ok(Math.abs(y8[i]! - x8[i]!) <= (amax / 127) * 0.07, "requantizing Q8_0 values is nearly lossless");
    }
  }
  await f1.close();
  await f2.close();
});

test("alignment: default 32, general.alignment honoured", async () => {
  for (const align of [32, 64, 256]) {
    const p = join(dir, `al${align}.gguf`);
    const meta: Record<string, number> = align === 32 ? { x: 1 } : { "general.alignment": align };
    await writeGguf(p, { metadata: meta, tensors: [3, 5, 7].map((n, i) => ({ name: `t${i}`, dims: [n], type: "F32" as const, data: new Float32Array(n).fill(i) })) });
    const f = await openGguf(p);
    assert.equal(f.alignment, align);
    assert.equal(f.dataOffset % align, 0);
    for (const t of f.tensors) assert.equal(t.offset % align, 0, `${t.name} at ${t.offset}`);
    assert.deepEqual([...(await f.readTensorF32("t2"))], new Array(7).fill(2));
    await f.close();
  }
});

test("lazy tensors are produced one at a time, in order; a failure leaves no file", async () => {
  const calls: string[] = [];
  const tensors: GgufTensorInput[] = ["x", "y", "z"].map((name) => ({
    name, dims: [32, 2], type: "F16",
    data: async () => { calls.push(name); return new Float32Array(64).fill(calls.length); },
  }));
  const p = join(dir, "lazy.gguf");
  await writeGguf(p, { metadata: {}, tensors });
  assert.deepEqual(calls, ["x", "y", "z"]);
  const bad = join(dir, "bad.gguf");
  await assert.rejects(writeGguf(bad, { metadata: {}, tensors: [{ name: "w", dims: [32, 2], type: "F32", data: async () => new Float32Array(10) }] }), /tensor "w": data has 10 values, dims \[32,2\] need 64/);
  assert.equal(existsSync(bad) || existsSync(bad + ".partial"), false);
});

test("writer refuses what llama.cpp could not load, with the reason", async () => {
  const p = join(dir, "no.gguf");
  const w = (t: Partial<GgufTensorInput>) => writeGguf(p, { metadata: {}, tensors: [{ name: "t", dims: [48, 2], type: "Q8_0", data: new Float32Array(96), ...t } as GgufTensorInput] });
  await assert.rejects(w({}), /Q8_0 needs rows \(dims\[0\]\) that are a multiple of 32, got 48/);
  await assert.rejects(w({ type: "IQ2_XXS" as never }), /cannot quantize to IQ2_XXS/);
  await assert.rejects(w({ name: "n".repeat(64), type: "F32" }), /longer than 63 bytes/);
  await assert.rejects(writeGguf(p, { metadata: { "general.alignment": 48 }, tensors: [] }), /power of two/);
  await assert.rejects(writeGguf(p, { metadata: { mixed: [1, "a"] as never }, tensors: [] }), /metadata "mixed": an array must hold one kind/);
});

test("GGUF v2 files (same layout as v3) read the same", async () => {
  const p = join(dir, "v3.gguf");
  await writeGguf(p, { metadata: { "general.architecture": "llama", n: 3 }, tensors: [{ name: "w", dims: [32], type: "F16", data: new Float32Array(32).fill(0.5) }] });
  const b = readFileSync(p);
  b.writeUInt32LE(2, 4);
  const p2 = join(dir, "v2.gguf");
  writeFileSync(p2, b);
  const f = await openGguf(p2);
  assert.equal(f.version, 2);
  assert.equal(f.meta("n"), 3);
  assert.deepEqual([...(await f.readTensorF32("w"))], new Array(32).fill(0.5));
  await f.close();
});
