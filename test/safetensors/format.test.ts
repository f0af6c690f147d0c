import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openSafetensors, writeSafetensors } from "../../src/safetensors/format.ts";
import { floatToBf16, floatToHalf } from "../../src/gguf/quant.ts";

const dir = mkdtempSync(join(tmpdir(), "d2m-st-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file built byte by byte from the spec, with F16 and BF16 tensors as transformers saves half-precision checkpoints. */
function handMade(path: string, values: number[]): void {
  const f16 = Buffer.alloc(values.length * 2), bf16 = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => { f16.writeUInt16LE(floatToHalf(v), i * 2); bf16.writeUInt16LE(floatToBf16(v), i * 2); });
  const header = Buffer.from(JSON.stringify({
    __metadata__: { format: "pt" },
    "model.a": { dtype: "F16", shape: [2, values.length / 2], data_offsets: [0, f16.length] },
    "model.b": { dtype: "BF16", shape: [values.length], data_offsets: [f16.length, f16.length + bf16.length] },
  }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([len, header, f16, bf16]));
}

test("reads F16 and BF16 tensors as a checkpoint holds them, on demand, with their metadata", async () => {
  const path = join(dir, "half.safetensors");
  handMade(path, [1, -2, 0.5, 3.25]);
  const f = await openSafetensors(path);
  try {
    assert.deepEqual(f.metadata, { format: "pt" });
    assert.deepEqual(f.entries.get("model.a")!.shape, [2, 2]);
    assert.deepEqual([...(await f.read("model.a"))], [1, -2, 0.5, 3.25]);
    assert.deepEqual([...(await f.read("model.b"))], [1, -2, 0.5, 3.25]);
    await assert.rejects(f.read("model.c"), /not in this safetensors file/);
  } finally { await f.close(); }
});

test("writes f32 tensors that read back bit for bit, the data 8-byte aligned", async () => {
  const path = join(dir, "w.safetensors");
  const data = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 1e-3);
  await writeSafetensors(path, [{ name: "z", shape: [3, 4], data }, { name: "a", shape: [2], data: Float32Array.of(1, 2) }], { format: "pt" });
  const f = await openSafetensors(path);
  try {
    assert.deepEqual([...f.entries.keys()], ["a", "z"], "name order");
    assert.equal(f.entries.get("a")!.begin % 8, 0);
    assert.deepEqual(await f.read("z"), data);
  } finally { await f.close(); }
});

test("a truncated or foreign file is refused by name", async () => {
  const path = join(dir, "t.safetensors");
  handMade(path, [1, 2, 3, 4]);
  const cut = join(dir, "cut.safetensors");
  const { readFileSync } = await import("node:fs");
  writeFileSync(cut, readFileSync(path).subarray(0, readFileSync(path).length - 3));
  await assert.rejects(openSafetensors(cut), /run past the file's end/);
  const foreign = join(dir, "x.safetensors");
  writeFileSync(foreign, "GGUF and then some bytes");
  await assert.rejects(openSafetensors(foreign), /not a safetensors file/);
});
