// The native fused kernels against the tfjs ops they replace (values and gradients), on the wasm and
// cpu backends: causal and packed attention with grouped kv heads, RMSNorm, SwiGLU, rope (both
// styles, packed positions), the masked cross-entropy, a whole model's loss and gradients; and the
// zero-copy Identity/Cast.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../../src/kernels/backend.ts";
import { Lora } from "../../../src/train/lora.ts";
import type { LlamaConfig } from "../../../src/model/config.ts";
import { LlamaModel } from "../../../src/model/llama.ts";
import { AdamW, globalNorm } from "../../../src/train/optimizer.ts";
import { useFusedOps, type FusedOps } from "../../../src/kernels/fused-ops.ts";
import { attention, maskedCrossEntropy, rmsNorm, ropeTables, rotary, swiglu, type AttentionShape } from "../../../src/model/ops.ts";
import { loadKernelAddon, nativeMatMulUnavailableReason } from "../../../src/kernels/native/addon.ts";
import { FUSED_KERNELS, registerFusedKernels } from "../../../src/kernels/native/native-fused.ts";
import { maxRelativeError, randomArray } from "./compare.ts";

const skip = loadKernelAddon() ? false : `native addon unavailable: ${nativeMatMulUnavailableReason()}`;

/** Positions of packed rows: examples of the given lengths, each restarting at 0. */
function packedPositions(batch: number, lengths: number[]): Int32Array {
  const row: number[] = [];
  for (const n of lengths) for (let i = 0; i < n; i++) row.push(i);
  return Int32Array.from({ length: batch * row.length }, (_, i) => row[i % row.length]!);
}

for (const backend of ["wasm", "cpu"] as const) {
  const shapes: Array<[string, AttentionShape]> = [
    ["causal, one kv head per head", { batch: 2, seq: 70, heads: 2, kvHeads: 2, headDim: 8 }],
    ["causal, grouped kv heads, seq past one block", { batch: 2, seq: 150, heads: 4, kvHeads: 2, headDim: 16 }],
    ["packed rows (positions restart per example)", { batch: 2, seq: 100, heads: 4, kvHeads: 1, headDim: 8, positions: packedPositions(2, [30, 5, 65]) }],
  ];
  for (const [name, shape] of shapes) {
    test(`fused attention equals the tfjs ops on ${backend}: ${name}`, { skip }, async () => {
      await useBackend(backend, 2);
      const fused = registerFusedKernels(backend);
      assert.ok(fused?.attention, "fused attention registered");
      const rows = shape.batch * shape.seq;
      const q = tf.tensor2d(randomArray(rows * shape.heads * shape.headDim, 11, 2), [rows, shape.heads * shape.headDim]);
      const k = tf.tensor2d(randomArray(rows * shape.kvHeads * shape.headDim, 12, 2), [rows, shape.kvHeads * shape.headDim]);
      const v = tf.tensor2d(randomArray(rows * shape.kvHeads * shape.headDim, 13), [rows, shape.kvHeads * shape.headDim]);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, shape);
      const [stockOut, ...stockGrads] = valueAndGrads(undefined, [q, k, v], f);
      const [nativeOut, ...nativeGrads] = valueAndGrads(fused, [q, k, v], f);
      assertClose([nativeOut!], [stockOut!], 1e-5, ["output"]);
      assertClose(nativeGrads, stockGrads, 1e-4, ["dq", "dk", "dv"]);
      tf.dispose([q, k, v]);
    });
  }
}

/** f's value and gradients (of Σ value * w for a fixed random w, or of a scalar value) under `ops`. */
function valueAndGrads(ops: FusedOps | undefined, inputs: tf.Tensor[], f: (...x: tf.Tensor[]) => tf.Tensor): Float32Array[] {
  useFusedOps(ops);
  try {
    return tf.tidy(() => {
      const value = f(...inputs);
      const w = tf.tensor(randomArray(value.size, 99), value.shape);
      const objective = (...x: tf.Tensor[]) => (value.rank === 0 ? f(...x) : tf.sum(tf.mul(f(...x), w))) as tf.Scalar;
      const grads = tf.grads(objective)(inputs);
      return [value, ...grads].map((t) => Float32Array.from(t.dataSync() as Float32Array));
    });
  } finally {
    useFusedOps(undefined);
  }
}

function assertClose(native: Float32Array[], stock: Float32Array[], tolerance: number, names: string[]) {
  assert.equal(native.length, stock.length);
  for (let i = 0; i < stock.length; i++) {
    const e = maxRelativeError(native[i]!, stock[i]!);
    assert.ok(e < tolerance, `${names[i] ?? i} differs by ${e}`);
  }
}

for (const backend of ["wasm", "cpu"] as const) {
  const input = (shape: number[], seed: number, amplitude = 1) => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed, amplitude), shape);

  test(`fused RMSNorm equals the tfjs op on ${backend} (trainable and frozen weight)`, { skip }, async () => {
    await useBackend(backend, 2);
    const fused = registerFusedKernels(backend)!;
    const x = input([300, 160], 1, 3), w = input([160], 2);
    const trainable = (a: tf.Tensor, b: tf.Tensor) => rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5, true);
    assertClose(valueAndGrads(fused, [x, w], trainable), valueAndGrads(undefined, [x, w], trainable), 1e-5, ["y", "dx", "dw"]);
    const frozen = (a: tf.Tensor) => rmsNorm(a as tf.Tensor2D, w as tf.Tensor1D, 1e-6, false);
    assertClose(valueAndGrads(fused, [x], frozen), valueAndGrads(undefined, [x], frozen), 1e-5, ["y", "dx"]);
    tf.dispose([x, w]);
  });

  test(`fused SwiGLU equals the tfjs op on ${backend}`, { skip }, async () => {
    await useBackend(backend, 2);
    const fused = registerFusedKernels(backend)!;
    // Gates out to ±12: the sigmoid's tails as well as its middle.
    const g = input([257, 130], 3, 12), u = input([257, 130], 4, 2);
    const f = (a: tf.Tensor, b: tf.Tensor) => swiglu(a as tf.Tensor2D, b as tf.Tensor2D);
    assertClose(valueAndGrads(fused, [g, u], f), valueAndGrads(undefined, [g, u], f), 1e-5, ["y", "dgate", "dup"]);
    tf.dispose([g, u]);
  });

  for (const style of ["norm", "neox"] as const) {
    test(`fused rope equals the tfjs op on ${backend}: ${style}, plain and packed positions`, { skip }, async () => {
      await useBackend(backend, 2);
      const fused = registerFusedKernels(backend)!;
      const batch = 2, seq = 40, heads = 3, headDim = 16, base = 10000;
      const x = input([batch * seq, heads * headDim], 5, 2);
      for (const positions of [undefined, packedPositions(batch, [25, 15])]) {
        const pos = positions ?? Int32Array.from({ length: batch * seq }, (_, i) => i % seq);
        const f = (a: tf.Tensor) => rotary(a as tf.Tensor2D, { heads, headDim, base, style, positions: pos, tables: () => ropeTables(batch, seq, heads, headDim, base, style, positions, false) });
        assertClose(valueAndGrads(fused, [x], f), valueAndGrads(undefined, [x], f), 1e-5, ["y", "dx"]);
      }
      x.dispose();
    });
  }

  test(`fused cross-entropy equals the tfjs op on ${backend}, prompt positions carrying no loss`, { skip }, async () => {
    await useBackend(backend, 2);
    const fused = registerFusedKernels(backend)!;
    const rows = 96, vocab = 300;
    const logits = input([rows, vocab], 6, 8);
    const targets = Int32Array.from({ length: rows }, (_, i) => (i * 37) % vocab);
    const weights = Float32Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const f = (l: tf.Tensor) => maskedCrossEntropy(l as tf.Tensor2D, targets, weights);
    const native = valueAndGrads(fused, [logits], f);
    assertClose(native, valueAndGrads(undefined, [logits], f), 1e-5, ["loss", "dlogits"]);
    for (let i = 0; i < rows; i += 3) assert.ok(native[1]!.subarray(i * vocab, (i + 1) * vocab).every((d) => d === 0), `row ${i} (weight 0) gets no gradient`);
    logits.dispose();
  });

  test(`a model's loss and gradients with every fused kernel equal the tfjs ops on ${backend} (full and LoRA)`, { skip }, async () => {
    await useBackend(backend, 2);
    const fused = registerFusedKernels(backend)!;
    const cfg: LlamaConfig = { arch: "qwen2", vocab: 97, dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 96, normEps: 1e-6, ropeBase: 10000, ropeStyle: "neox", qkvBias: true, tiedOutput: true, contextLength: 64 };
    const batch = { batch: 2, seq: 24, inputs: Int32Array.from({ length: 48 }, (_, i) => (i * 13) % 97), targets: Int32Array.from({ length: 48 }, (_, i) => (i * 29 + 3) % 97), weights: Float32Array.from({ length: 48 }, (_, i) => (i % 24 < 6 ? 0 : 1)), positions: packedPositions(2, [10, 14]) };
    for (const mode of ["full", "lora"] as const) {
      const model = LlamaModel.random(cfg, 3, { trainable: mode === "full", std: 0.2 });
      const lora = mode === "lora" ? new Lora(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o"], seed: 2 }) : undefined;
      // LoRA's B starts at zero: give it values so the adapter's path carries gradient to A.
      lora?.variables().forEach((v, i) => v.assign(tf.mul(tf.randomNormal(v.shape, 0, 0.1, "float32", i), 1)));
      const vars = mode === "full" ? model.variables() : lora!.variables();
      const run = (ops: FusedOps | undefined) => {
        useFusedOps(ops);
        try {
          const { value, grads } = tf.variableGrads(() => model.loss(batch, { hook: lora, training: true }), vars);
          const out = [value, ...vars.map((v) => grads[v.name]!)].map((t) => Float32Array.from(t.dataSync() as Float32Array));
          tf.dispose([value, ...Object.values(grads)]);
          return out;
        } finally { useFusedOps(undefined); }
      };
      let native: Float32Array[] = [];
      const used = new Set((await tf.profile(() => { native = run(fused); })).kernels.map((k) => k.name));
      const modelKernels = Object.values(FUSED_KERNELS).filter((k) => k !== FUSED_KERNELS.adamw && k !== FUSED_KERNELS.sumOfSquares);
      for (const name of modelKernels) assert.ok(used.has(name), `the fused model ran ${name}`);
      assertClose(native, run(undefined), 2e-4, ["loss", ...vars.map((v) => `d ${v.name}`)]);
      lora?.dispose(); model.dispose();
    }
  });
}

for (const backend of ["wasm", "cpu"] as const) {
  test(`fused AdamW and gradient norm equal the tfjs optimizer on ${backend} (decay on matrices, scaled gradients)`, { skip }, async () => {
    await useBackend(backend, 2);
    const fused = registerFusedKernels(backend)!;
    const shapes = [[70, 33], [33], [200, 300]];
    const run = (ops: FusedOps | undefined) => {
      useFusedOps(ops);
      try {
        const vars = shapes.map((s, i) => tf.variable(tf.tensor(randomArray(s.reduce((a, b) => a * b, 1), 40 + i), s), true, `adamw-${backend}-${ops ? "fused" : "stock"}-${i}`));
        const opt = new AdamW(vars, { weightDecay: 0.1 });
        const norms: number[] = [];
        for (let step = 0; step < 3; step++) {
          const grads = shapes.map((s, i) => tf.tensor(randomArray(s.reduce((a, b) => a * b, 1), 100 * step + i, 3), s));
          norms.push(globalNorm(grads));
          opt.apply(grads, 1e-2 * (step + 1), step === 1 ? 0.25 : 1);
          tf.dispose(grads);
        }
        const state = opt.state();
        const out = [Float32Array.from(norms), ...vars.map((v) => Float32Array.from(v.dataSync() as Float32Array)), ...state.m, ...state.v];
        tf.dispose(vars); opt.dispose();
        return out;
      } finally { useFusedOps(undefined); }
    };
    const native = run(fused), stock = run(undefined);
    assertClose(native, stock, 1e-5, ["norms", "param 0", "param 1", "param 2", "m 0", "m 1", "m 2", "v 0", "v 1", "v 2"]);
    assert.notDeepEqual([...native[1]!.slice(0, 4)], [...randomArray(4, 40)], "parameters changed");
  });
}

test("native attention rejects positions that point before the row's start", { skip }, () => {
  const addon = loadKernelAddon()!;
  const f = (n: number) => new Float32Array(n);
  // Row 1 of one batch row with seq 2 claims position 2 (> its index): no key range exists.
  assert.throws(() => addon.attentionForward(f(4), f(4), f(4), f(4), f(2), 1, 2, 1, 1, 2, Int32Array.from([0, 2]), 1), /positions/);
  assert.throws(() => addon.attentionForward(f(3), f(4), f(4), f(4), f(2), 1, 2, 1, 1, 2, null, 1), /sizes/);
});

test("wasm Identity and same-dtype Cast share the data instead of copying it", async () => {
  await useBackend("wasm", 2);
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  // The backend's count of distinct buffers (tf.memory() counts bytes per tensor, shared or not).
  const buffers = () => (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
  const before = buffers();
  const y = tf.clone(x);
  const z = tf.cast(x, "float32");
  assert.equal(buffers(), before, "no new buffer for a clone or a same-dtype cast");
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3, 4], "the clone outlives the original");
  assert.deepEqual([...z.dataSync()], [1, 2, 3, 4]);
  const i = tf.cast(y, "int32");
  assert.equal(buffers(), before + 1, "a cast to another dtype copies");
  assert.equal(i.dtype, "int32");
  assert.deepEqual([...i.dataSync()], [1, 2, 3, 4]);
  tf.dispose([y, z, i]);
});

test("native Add, Sub and Multiply on the cpu backend equal the stock kernels; other broadcasts keep the stock ones", { skip }, async () => {
  await useBackend("cpu", 2);
  const { registerNativeBinary, unregisterNativeBinary, tiles } = await import("../../../src/kernels/native/native-binary.ts");
  assert.equal(tiles([4, 5, 6], [5, 6]), true);
  assert.equal(tiles([4, 5, 6], [1, 1, 6]), true);
  assert.equal(tiles([4, 5, 6], []), true);
  assert.equal(tiles([4, 5, 6], [4, 1, 1]), false);
  const t = (shape: number[], seed: number) => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed, 3), shape);
  // Large enough (≥ 4 × 16384 values) that the addon splits the work across threads.
  const big = t([300, 260], 1), same = t([300, 260], 2), row = t([260], 3), scalar = tf.scalar(1.75), column = t([300, 1], 4);
  const cases: Array<[string, () => tf.Tensor]> = [
    ["a + b", () => tf.add(big, same)], ["a - b", () => tf.sub(big, same)], ["a * b", () => tf.mul(big, same)],
    ["a + bias row", () => tf.add(big, row)], ["bias row - a", () => tf.sub(row, big)], ["a * scalar", () => tf.mul(big, scalar)],
    ["scalar - a", () => tf.sub(scalar, big)], ["a * column (stock broadcast)", () => tf.mul(big, column)],
    ["a + [1, 1, 260] (output gains a dim: stock)", () => tf.add(big, tf.reshape(row, [1, 1, 260]))],
  ];
  unregisterNativeBinary();
  const stock = cases.map(([, f]) => tf.tidy(() => Float32Array.from(f().dataSync() as Float32Array)));
  assert.equal(registerNativeBinary(), true);
  const native = cases.map(([, f]) => tf.tidy(() => Float32Array.from(f().dataSync() as Float32Array)));
  cases.forEach(([name], i) => assert.deepEqual(native[i], stock[i], name));
  assert.deepEqual(tf.tidy(() => tf.add(big, tf.reshape(row, [1, 1, 260])).shape), [1, 300, 260]);
  const ints = tf.add(tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32"));
  assert.deepEqual([...ints.dataSync()], [4, 6], "int32 keeps the stock kernel");
  tf.dispose([big, same, row, scalar, column, ints]);
});

test("without --backend, a base past the wasm heap skips wasm when the native kernels are built", async () => {
  const { backendOrder, BACKEND_ORDER } = await import("../../../src/kernels/backend.ts");
  assert.deepEqual(backendOrder(false), BACKEND_ORDER);
  assert.deepEqual(backendOrder(true), ["tensorflow-gpu", "tensorflow", "cpu"]);
});
