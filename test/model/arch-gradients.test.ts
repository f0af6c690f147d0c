// The new architectures' ops against finite differences: GELU(tanh) gate, logit soft-capping, per-head q/k RMSNorm,
// rope with Llama-3 factors and linear scaling, partial rope, sliding-window attention, √d embedding scale and
// post-norms, fused qkv / gate-up — op by op, then through whole llama3 / qwen3 / gemma3 / phi3 models (full
// training and LoRA).
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { fusedOps, useFusedOps } from "../../src/kernels/fused-ops.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { LlamaModel, type Batch } from "../../src/model/llama.ts";
import { attention, geglu, headRmsNorm, rope, ropeInvFreq, ropeTables, rotary, softcap } from "../../src/model/ops.ts";
import { DEFAULT_TARGETS, Lora } from "../../src/train/lora.ts";
import { archTensors, lcg, llama3RopeFactors } from "./arch-fixture.ts";
import { checkGradients } from "../fixtures/grad-check.ts";


let made = 0;
/** Typed as 2-D (the ops take rows); the one 1-D use is cast where it is passed. */
const rand = (shape: number[], seed: number, std = 1) => tf.variable(tf.randomNormal(shape, 0, std, "float32", seed), true, `v${seed}-${made++}`) as unknown as tf.Variable<tf.Rank.R2>;
/** A scalar that weighs every output entry differently, so no gradient cancels by symmetry. */
const weighed = (y: tf.Tensor, seed: number) => tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, "float32", seed))) as tf.Scalar;

for (const fused of [false, true]) {
  test(`ops (${fused ? "native fused kernels where they apply" : "tfjs"}): geglu, softcap, per-head RMSNorm, scaled/factored/partial rope, windowed and soft-capped attention`, async (t) => {
    await useBackend("cpu");
    const saved = fusedOps();
    if (fused && !saved) return t.skip("native kernels not built");
    if (!fused) useFusedOps(undefined);
    try {
      const g = rand([6, 10], 1), u = rand([6, 10], 2);
      checkGradients([g, u], () => weighed(geglu(g, u), 3), "geglu", 3);
      // geglu's value is llama.cpp's tanh GELU times up.
      const x = 1.3, want = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))) * 2;
      assert.ok(Math.abs(geglu(tf.tensor2d([[x]]), tf.tensor2d([[2]])).dataSync()[0]! - want) < 1e-5);
      const l = rand([4, 7], 4, 20);
      checkGradients([l], () => weighed(softcap(l, 15), 5), "softcap", 3);
      assert.ok(Math.abs(softcap(tf.tensor2d([[60]]), 30).dataSync()[0]! - 30 * Math.tanh(2)) < 1e-4);
      const hx = rand([5, 3 * 8], 6), hw = rand([8], 7);
      checkGradients([hx, hw], () => weighed(headRmsNorm(hx, hw as unknown as tf.Tensor1D, 3, 1e-6), 8), "head norm", 3);

      const [batch, seq, heads, kvHeads, hd] = [2, 9, 4, 2, 8];
      const positions = Int32Array.from({ length: batch * seq }, (_, i) => i % seq);
      const invFreq = ropeInvFreq(hd, 500_000, 0.25, llama3RopeFactors(hd, 500_000, 16));
      const spec = { heads, headDim: hd, base: 500_000, style: "norm" as const, positions, invFreq, tables: () => ropeTables(batch, seq, heads, hd, 500_000, "norm", positions, false, invFreq) };
      const rx = rand([batch * seq, heads * hd], 9);
      checkGradients([rx], () => weighed(rotary(rx, spec), 10), "rope", 3);
      // The active rope (native kernel or tables) equals the table rope: pair i at position p turns by p · invFreq[i].
      const active = tf.tidy(() => rotary(rx, spec).dataSync());
      const tabled = tf.tidy(() => rope(rx, spec.tables(), hd, "norm").dataSync());
      assert.ok(active.every((x, i) => Math.abs(x - tabled[i]!) < 1e-5), "rope paths agree");
      // And the factors matter: a plain rope at the same base turns differently.
      const plain = tf.tidy(() => rope(rx, ropeTables(batch, seq, heads, hd, 500_000, "norm", positions, false), hd, "norm").dataSync());
      assert.ok(plain.some((x, i) => Math.abs(x - tabled[i]!) > 1e-3));

      // Partial rope (phi3): only the first 6 of 8 dims of each head turn; the gradient is the inverse turn.
      const pSpec = { ...spec, invFreq: ropeInvFreq(6, 10_000), ropeDims: 6, style: "neox" as const, tables: () => ropeTables(batch, seq, heads, hd, 10_000, "neox", positions, false, ropeInvFreq(6, 10_000), 6) };
      // rope.scaling.attn_factor: the turned dims scaled by it, on whichever path is active.
      const mSpec = { ...spec, mscale: 1.19, tables: () => ropeTables(batch, seq, heads, hd, 500_000, "norm", positions, false, invFreq, hd, 1.19) };
      checkGradients([rx], () => weighed(rotary(rx, mSpec), 18), "scaled rope", 3);
      const scaled = tf.tidy(() => rotary(rx, mSpec).dataSync()), unscaled = tf.tidy(() => rotary(rx, spec).dataSync());
      assert.ok(scaled.every((x, i) => Math.abs(x - 1.19 * unscaled[i]!) < 1e-4), "mscale multiplies the turned values");
      checkGradients([rx], () => weighed(rotary(rx, pSpec), 15), "partial rope", 3);
      const px = rotary(rx, pSpec).arraySync() as number[][], x0 = rx.arraySync() as number[][];
      for (const r of [3, 11]) for (let h = 0; h < heads; h++) for (const j of [6, 7]) assert.equal(px[r]![h * hd + j], x0[r]![h * hd + j], "dims past ropeDims pass through");
      assert.ok(Math.abs(px[3]![0]! - x0[3]![0]!) > 1e-4, "dims within ropeDims turn");

      const q = rand([batch * seq, heads * hd], 11, 0.5), k = rand([batch * seq, kvHeads * hd], 12, 0.5), v = rand([batch * seq, kvHeads * hd], 13);
      const shape = { batch, seq, heads, kvHeads, headDim: hd, window: 3 };
      checkGradients([q, k, v], () => weighed(attention(q, k, v, shape), 14), "windowed attention", 3);
      // gemma2's soft-capped scores (a small cap so tanh bends them), with and without the window.
      checkGradients([q, k, v], () => weighed(attention(q, k, v, { ...shape, softcap: 0.7 }), 16), "soft-capped windowed attention", 3);
      checkGradients([q, k, v], () => weighed(attention(q, k, v, { ...shape, window: undefined, softcap: 0.7 }), 17), "soft-capped attention", 3);
      const capped = attention(q, k, v, { ...shape, softcap: 0.7 }).dataSync();
      assert.ok(capped.some((x, i) => Math.abs(x - attention(q, k, v, shape).dataSync()[i]!) > 1e-3), "the cap changes attention");
      // The window is a real mask: the output differs from full causal attention, and equals it when it spans the sequence.
      const full = attention(q, k, v, { ...shape, window: undefined }).dataSync();
      const win = attention(q, k, v, shape).dataSync();
      const wide = attention(q, k, v, { ...shape, window: seq }).dataSync();
      assert.ok(win.some((x, i) => Math.abs(x - full[i]!) > 1e-3), "a 3-wide window changes attention");
      assert.ok(wide.every((x, i) => Math.abs(x - full[i]!) < 1e-5), "a window as long as the sequence masks nothing");
      // Row 0 is unaffected (it sees only itself); the first window-1 rows of each sequence too.
      for (let j = 0; j < heads * hd; j++) assert.ok(Math.abs(win[j]! - full[j]!) < 1e-5);
    } finally {
      useFusedOps(saved);
    }
  });
}

const small = (over: Partial<LlamaConfig>): LlamaConfig => ({
  arch: "llama", vocab: 40, dim: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 48, normEps: 1e-6, ropeBase: 10_000, ropeStyle: "neox",
  qkvBias: false, tiedOutput: true, contextLength: 64, ...over,
});
const CONFIGS: Record<string, LlamaConfig> = {
  llama3: small({ ropeStyle: "norm", ropeBase: 500_000, ropeFreqs: true, ropeScale: 0.5, tiedOutput: false }),
  qwen3: small({ arch: "qwen3", qkNorm: true }),
  // Layer 0 local (window 3, base 10000), layer 1 global (pattern 2).
  gemma3: small({ arch: "gemma3", qkNorm: true, gemma: true, slidingWindow: 3, swaPattern: 2, ropeBase: 1_000_000, ropeBaseSwa: 10_000, logitSoftcap: 5 }),
  // Attention soft-capping at 1.5 so it bends the scores, every other layer local.
  gemma2: small({ arch: "gemma2", gemma: true, slidingWindow: 3, swaPattern: 2, ropeBaseSwa: 20_000, ropeScale: 0.5, ropeScaleSwa: 0.5, attnSoftcap: 1.5, logitSoftcap: 5 }),
  // Fused q/k/v and gate-up, rope on 12 of 16 dims; phi4-mini's short factors and attention factor.
  phi3: small({ arch: "phi3", fusedQkv: true, fusedGateUp: true, ropeDims: 12, tiedOutput: false }),
  "phi4-mini": small({ arch: "phi3", fusedQkv: true, fusedGateUp: true, ropeDims: 12, ropeShortLong: true, ropeOrigContext: 4096, ropeMscale: 1.19 }),
};

function batchOf(seed: number, vocab: number): Batch {
  const r = lcg(seed);
  const n = 2 * 8;
  return {
    batch: 2, seq: 8,
    inputs: Int32Array.from({ length: n }, () => Math.floor(r() * vocab)),
    targets: Int32Array.from({ length: n }, () => Math.floor(r() * vocab)),
    weights: Float32Array.from({ length: n }, (_, i) => (i % 8 < 2 ? 0 : 1)),
  };
}

for (const [name, config] of Object.entries(CONFIGS)) {
  test(`${name}: full-training gradients through the whole model match finite differences`, async () => {
    await useBackend("cpu");
    const model = new LlamaModel(config, archTensors(config, 3, 0.2), { trainable: true });
    const names = config.fusedQkv ? ["token_embd.weight", "blk.0.attn_qkv.weight", "blk.1.attn_norm.weight", "blk.1.ffn_up.weight", ...(config.tiedOutput ? [] : ["output.weight"])]
      : ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.attn_norm.weight", "blk.1.ffn_gate.weight"];
    if (config.qkNorm) names.push("blk.0.attn_q_norm.weight", "blk.1.attn_k_norm.weight");
    if (config.gemma) names.push("blk.0.post_attention_norm.weight", "blk.1.post_ffw_norm.weight");
    assert.ok(!model.variables().some((v) => /rope_(freqs|factors)/.test(v.name)), "rope factors are constants");
    assert.equal(model.variables().length, model.weights.size - (config.ropeFreqs ? 1 : 0) - (config.ropeShortLong ? 2 : 0));
    const batch = batchOf(2, config.vocab);
    checkGradients(names.map((n) => model.weights.get(n) as tf.Variable), () => model.loss(batch), name);
    model.dispose();
  });

  test(`${name}: LoRA gradients match finite differences`, async () => {
    await useBackend("cpu");
    const model = new LlamaModel(config, archTensors(config, 4, 0.2));
    const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: DEFAULT_TARGETS, seed: 5 });
    let seed = 21;
    for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.2, "float32", seed++));
    const batch = batchOf(3, config.vocab);
    assert.equal(lora.pairs.size, (config.fusedQkv ? 4 : 7) * config.layers, "every projection (phi3: qkv, output, gate-up, down) has an adapter");
    assert.equal(checkGradients(lora.variables(), () => model.loss(batch, { hook: lora }), `${name} lora`, 1), 2 * lora.pairs.size);
    lora.dispose();
    model.dispose();
  });
}

for (const name of ["gemma3", "gemma2", "phi3"]) {
  test(`${name}: a packed row (two examples, positions restarting) gives each example's own logits, windows and all`, async () => {
    await useBackend("cpu");
    const config = CONFIGS[name]!;
    const model = new LlamaModel(config, archTensors(config, 5, 0.2));
    const r = lcg(9);
    const a = Int32Array.from({ length: 8 }, () => Math.floor(r() * config.vocab));
    const b = Int32Array.from({ length: 8 }, () => Math.floor(r() * config.vocab));
    const packed = tf.tidy(() => model.forward(Int32Array.from([...a, ...b]), 1, 16, { positions: Int32Array.from({ length: 16 }, (_, i) => i % 8) }).arraySync());
    const alone = [a, b].flatMap((t) => tf.tidy(() => model.forward(t, 1, 8).arraySync()));
    for (let i = 0; i < 16; i++) for (let j = 0; j < config.vocab; j++) assert.ok(Math.abs(packed[i]![j]! - alone[i]![j]!) < 1e-4, `${name} row ${i} logit ${j}`);
    model.dispose();
  });
}
