// Every malformed GGUF gets a clear E_GGUF message naming the file and the problem.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { PipelineError } from "../../src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "bad-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const good = join(dir, "good.gguf");
const NAME = "the.tensor";
await writeGguf(good, {
  metadata: { "general.architecture": "llama", "general.name": "bad-file-test" },
  tensors: [
    { name: NAME, dims: [32, 4], type: "F32", data: new Float32Array(128).fill(1) },
    { name: "iq2", dims: [512], type: "IQ2_XXS", raw: new Uint8Array(132) },
  ],
});
const bytes = readFileSync(good);
/** Where the tensor info of NAME starts after its name: n_dims u32, dims u64 × n, type u32, offset u64. */
const afterName = bytes.indexOf(Buffer.from(NAME)) + NAME.length;

async function expectError(buf: Buffer, re: RegExp, name: string) {
  const p = join(dir, name);
  writeFileSync(p, buf);
  await assert.rejects(openGguf(p), (e: unknown) => {
    assert.ok(e instanceof PipelineError, String(e));
    assert.equal(e.code, "E_GGUF");
    assert.match(e.message, re);
    assert.ok(e.message.includes(p), "names the file");
    return true;
  });
}

test("bad magic", async () => {
  const b = Buffer.from(bytes);
  b.write("GGML", 0, "latin1");
  await expectError(b, /not a GGUF file: bad magic "GGML" \(expected "GGUF"\)/, "magic.gguf");
  await expectError(Buffer.from("hi"), /file is truncated: 2 bytes is too short/, "tiny.gguf");
});

test("unsupported version", async () => {
  const b = Buffer.from(bytes);
  b.writeUInt32LE(9, 4);
  await expectError(b, /unsupported GGUF version 9/, "version.gguf");
});

test("truncated: in the header, in metadata, in tensor infos, in tensor data", async () => {
  await expectError(bytes.subarray(0, 10), /file is truncated: tensor count needs 8 bytes at offset 8/, "t1.gguf");
  await expectError(bytes.subarray(0, 40), /file is truncated/, "t2.gguf");
  await expectError(bytes.subarray(0, afterName + 6), /file is truncated: dimension 0 of tensor "the.tensor"/, "t3.gguf");
  await expectError(bytes.subarray(0, bytes.length - 100), /file is truncated: tensor "iq2" data ends at byte \d+ but the file has \d+ bytes/, "t4.gguf");
});

test("unknown tensor type", async () => {
  const b = Buffer.from(bytes);
  b.writeUInt32LE(99, afterName + 4 + 16);
  await expectError(b, /tensor "the.tensor" has unknown ggml type 99/, "type.gguf");
});

test("misaligned tensor offset", async () => {
  const b = Buffer.from(bytes);
  b.writeBigUInt64LE(4n, afterName + 4 + 16 + 4);
  await expectError(b, /tensor "the.tensor" offset 4 is misaligned: not a multiple of the alignment 32/, "align.gguf");
});

test("unknown metadata value type", async () => {
  const b = Buffer.from(bytes);
  const key = b.indexOf(Buffer.from("general.name")) + "general.name".length;
  b.writeUInt32LE(77, key);
  await expectError(b, /unknown metadata value type 77 for metadata "general.name"/, "mtype.gguf");
});

test("a type we cannot dequantize, a missing tensor, a missing file", async () => {
  const f = await openGguf(good);
  await assert.rejects(f.readTensorF32("iq2"), /tensor "iq2" is IQ2_XXS, which cannot be dequantized here \(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS\)/);
  assert.equal((await f.readTensorRaw("iq2")).length, 132, "raw bytes still readable");
  await assert.rejects(f.readTensorF32("nope"), /no tensor named "nope"/);
  await f.close();
  await assert.rejects(openGguf(join(dir, "missing.gguf")), /cannot open model file: ENOENT.*; check the path/);
});
