// The OpenBLAS BatchMatMul kernel against tfjs's stock kernels (wasm and cpu): random shapes with
// transposes, batches and broadcasting; gradients; a short training run; and the fallbacks when the
// addon is missing or broken.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tf, useBackend } from "../../../src/kernels/backend.ts";
import { Lora } from "../../../src/train/lora.ts";
import type { LlamaConfig } from "../../../src/model/config.ts";
import { LlamaModel } from "../../../src/model/llama.ts";
import { loadKernelAddon, nativeMatMulUnavailableReason } from "../../../src/kernels/native/addon.ts";
import { nativeMatMulActive, planBatchMatMul, registerNativeMatMul, unregisterNativeMatMul } from "../../../src/kernels/native/native-matmul.ts";
import { TokenRows } from "../../../src/train/qa-train-files.ts";
import { Trainer } from "../../../src/train/trainer.ts";
import { maxRelativeError, randomArray } from "./compare.ts";

const addon = loadKernelAddon();
const skip = addon ? false : `native matMul unavailable: ${nativeMatMulUnavailableReason()}`;

const rand = (shape: number[], seed: number) => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed), shape);

/** Runs `f` under the stock kernel and under the native one on the current backend. */
function stockAndNative<T>(f: () => T): { stock: T; native: T } {
  const backend = tf.getBackend();
  unregisterNativeMatMul(backend);
  assert.equal(nativeMatMulActive(backend), false);
  const stock = f();
  assert.equal(registerNativeMatMul(backend, 2).active, true);
  const native = f();
  return { stock, native };
}

test("planBatchMatMul: output shape, transposes and numpy-style batch broadcasting", () => {
  const p = planBatchMatMul([2, 1, 3, 4], [5, 6, 4], false, true);
  assert.deepEqual(p.outShape, [2, 5, 3, 6]);
  assert.deepEqual([p.m, p.n, p.k], [3, 6, 4]);
  // a's batch dims [2, 1] broadcast over 5; b's [5] over 2.
  assert.deepEqual([...p.aOffsets], [0, 0, 0, 0, 0, 12, 12, 12, 12, 12]);
  assert.deepEqual([...p.bOffsets], [0, 24, 48, 72, 96, 0, 24, 48, 72, 96]);
  const t = planBatchMatMul([7, 3], [7, 2], true, false);
  assert.deepEqual([t.outShape, t.m, t.n, t.k, [...t.aOffsets]], [[3, 2], 3, 2, 7, [0]]);
  assert.throws(() => planBatchMatMul([2, 3], [4, 5], false, false), /inner shapes \(3\) and \(4\)/);
  assert.throws(() => planBatchMatMul([2, 2, 3], [3, 3, 5], false, false), /broadcast/i);
});

test("a missing or broken addon is reported, not thrown", () => {
  const dir = mkdtempSync(join(tmpdir(), "native-matmul-"));
  assert.equal(loadKernelAddon(join(dir, "absent.node")), undefined);
  assert.match(nativeMatMulUnavailableReason(join(dir, "absent.node")), /not built/);
  writeFileSync(join(dir, "broken.node"), "not a shared object");
  assert.equal(loadKernelAddon(join(dir, "broken.node")), undefined);
  assert.match(nativeMatMulUnavailableReason(join(dir, "broken.node")), /does not load/);
  assert.deepEqual(registerNativeMatMul("webgl", 2).active, false);
});

test("without the addon (DOCS2MODEL_NO_NATIVE) the wasm backend keeps its stock matMul and still computes", () => {
  const script = `import { tf, useBackend } from ${JSON.stringify(new URL("../../../src/kernels/backend.ts", import.meta.url).href)};
const info = await useBackend("wasm", 1);
const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]), false, true);
console.log(JSON.stringify({ detail: info.detail, y: Array.from(y.dataSync()) }));
process.exit(0);`;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { env: { ...process.env, DOCS2MODEL_NO_NATIVE: "1" }, encoding: "utf8" });
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as { detail: string; y: number[] };
  assert.doesNotMatch(r.detail, /OpenBLAS/);
  assert.deepEqual(r.y, [17, 23, 39, 53]);
});

const CASES: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
  { a: [37, 53], b: [53, 29], tA: false, tB: false },
  { a: [53, 37], b: [53, 29], tA: true, tB: false },
  { a: [37, 53], b: [29, 53], tA: false, tB: true },
  { a: [53, 37], b: [29, 53], tA: true, tB: true },
  { a: [256, 64], b: [64, 256], tA: false, tB: false }, // an attention score matrix
  { a: [4, 17, 9], b: [4, 9, 11], tA: false, tB: false },
  { a: [3, 9, 17], b: [3, 11, 9], tA: true, tB: true },
  { a: [2, 3, 8, 5], b: [5, 6], tA: false, tB: false }, // one matrix broadcast over the batch
  { a: [8, 5], b: [2, 3, 6, 5], tA: false, tB: true },
  { a: [1, 64, 1, 300], b: [1, 1, 300, 1], tA: false, tB: false }, // vectors and unit batch dims
  { a: [2, 1, 6, 4], b: [3, 4, 5], tA: false, tB: false }, // general numpy broadcasting
  { a: [0, 4], b: [4, 3], tA: false, tB: false }, // empty
  { a: [5, 0], b: [0, 3], tA: false, tB: false }, // k = 0: zeros
];

/** The stock wasm kernel only broadcasts a whole batch against a single matrix; tile so it sees equal batches. */
function tiledReference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): Float32Array {
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const full = (t: tf.Tensor) => tf.broadcastTo(t, [...outer, ...t.shape.slice(-2)]);
  return tf.matMul(full(a), full(b), tA, tB).dataSync() as Float32Array;
}

for (const backend of ["wasm", "cpu"] as const) {
  test(`${backend}: native BatchMatMul equals the stock kernel on random shapes (transposes, batches, broadcast)`, { skip }, async () => {
    await useBackend("wasm", 2);
    await tf.setBackend(backend);
    try {
      CASES.forEach((c, i) => {
        tf.tidy(() => {
          const a = rand(c.a, 2 * i + 1), b = rand(c.b, 2 * i + 2);
          const { stock, native } = stockAndNative(() => {
            const y = tf.matMul(a, b, c.tA, c.tB);
            return { shape: y.shape, data: y.dataSync() as Float32Array, tiled: tiledReference(a, b, c.tA, c.tB) };
          });
          assert.deepEqual(native.shape, stock.shape, `case ${i} shape`);
          // k = 0: the product is zeros (the stock wasm kernel leaves its output uninitialised there).
          if (a.shape.at(c.tA ? -2 : -1) === 0) return assert.ok(native.data.every((v) => v === 0), `case ${i}: zeros`);
          assert.ok(maxRelativeError(native.data, stock.tiled) <= 1e-4, `case ${i} ${JSON.stringify(c)}: native vs stock`);
          assert.ok(maxRelativeError(native.tiled, stock.tiled) <= 1e-4, `case ${i} tiled`);
        });
      });
      assert.throws(() => tf.matMul(rand([2, 3], 1), rand([4, 5], 2)), /inner shapes/);
    } finally {
      await tf.setBackend("wasm");
    }
  });
}

test("wasm: gradients through native matMul equal the stock ones", { skip }, async () => {
  await useBackend("wasm", 2);
  const a = rand([3, 20, 12], 11), b = rand([3, 7, 12], 12), w = rand([3, 20, 7], 13);
  const { stock, native } = stockAndNative(() => {
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), w)))([a, b]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
  for (let i = 0; i < 2; i++) assert.ok(maxRelativeError(native[i]!, stock[i]!) <= 1e-4, `gradient ${i}`);
});

test("wasm: two training steps (full and LoRA) give the same losses with and without native matMul", { skip }, async () => {
  await useBackend("wasm", 2);
  const cfg: LlamaConfig = { arch: "llama", vocab: 64, dim: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 48, headDim: 8, normEps: 1e-5, ropeBase: 10000, ropeStyle: "norm", qkvBias: false, tiedOutput: false, contextLength: 16 };
  const seq = 16;
  const data = TokenRows.fromRows(seq, Array.from({ length: 4 }, (_, i) => ({
    inputs: Array.from({ length: seq }, (_, j) => (i * 13 + j * 7) % cfg.vocab),
    targets: Array.from({ length: seq }, (_, j) => (i * 5 + j * 11 + 1) % cfg.vocab),
  })));
  for (const mode of ["full", "lora"] as const) {
    const { stock, native } = stockAndNative(() => {
      const model = LlamaModel.random(cfg, 3, { trainable: mode === "full" });
      const lora = mode === "lora" ? new Lora(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"], seed: 4 }) : undefined;
      const trainer = new Trainer(model, lora, data, undefined, { epochs: 10, lr: 1e-2, batch: 2, gradAccum: 1, warmupSteps: 0, maxGradNorm: 1, weightDecay: 0, evalEvery: 0, seed: 5 });
      const losses = [trainer.trainStep().loss, trainer.trainStep().loss, trainer.trainStep().loss];
      trainer.dispose(); lora?.dispose(); model.dispose();
      return losses;
    });
    // The third loss depends on two optimizer steps, so on the gradients the native kernel produced.
    assert.notEqual(stock[2], stock[0], `${mode}: training moved the loss`);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(native[i]! - stock[i]!) <= 1e-4 * Math.max(1, Math.abs(stock[i]!)), `${mode} step ${i + 1}: ${native[i]} vs ${stock[i]}`);
  }
});
