// Next-token agreement with llama.cpp on f16 files laid out like the real bases: Llama-3 rope factors, linear
// rope scaling, qwen3 (q/k norms, explicit head size), gemma3 (√d embedding, GELU gate, post-norms, q/k norms,
// sliding-window layers with their own rope base, soft-capping), gemma2 (attention soft-capping), phi3 (fused qkv and gate-up, partial rope) and phi4-mini (LongRoPE short
// factors and attention factor).
// ≥ 99.5% over 450 positions each.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useBackend } from "../../src/kernels/backend.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { measureParity } from "../../src/export/verify.ts";
import { LlamaModel } from "../../src/model/llama.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { archConfig, randomTokens, writeArchModel, type ArchCase } from "./arch-fixture.ts";

const POSITIONS = 450;

async function agreement(path: string, ours: LlamaModel, tokens: number[]) {
  const runner = await openLlamaRunner(path, { contextSize: 512 });
  try {
    return await measureParity(runner, ours, tokens);
  } finally {
    await runner.dispose();
  }
}

for (const kind of ["llama3", "llama-linear", "qwen3", "gemma3", "gemma2", "phi3", "phi4-mini"] as ArchCase[]) {
  test(`${kind}: our forward picks llama.cpp's next token at ≥ 99.5% of ${POSITIONS} positions (f16 file)`, async () => {
    await useBackend("cpu");
    const { path, config, tensors } = await writeArchModel(kind);
    const tokens = randomTokens(POSITIONS);
    const { model } = await loadGgufModel(path);
    try {
      const s = await agreement(path, model, tokens);
      console.log(`# ${kind}: top-1 ${(100 * s.top1).toFixed(2)}% of ${s.positions} (near ties counted ${(100 * s.top1Ties).toFixed(2)}%), mean KL ${s.meanKl.toExponential(2)}, largest gap where picks differ ${s.maxGap.toFixed(3)}`);
      assert.equal(s.positions, POSITIONS);
      // ≥ 99.5% agreement, where a different pick that llama.cpp rates within NEAR_TIE (0.06 nats) of its own counts
      // as the same (the near ties llama.cpp's own float order decides either way: bench/RESULTS.md shows raw top-1
      // at 99.1–100% over seeds for these and for the architectures that trained before, llama and qwen2); raw
      // top-1 ≥ 99% and mean KL ≤ 1e-4 as well — a wrong rope or norm gives KL 0.1–10.
      assert.ok(s.top1Ties >= 0.995 && s.top1 >= 0.99 && s.meanKl <= 1e-4, `${kind}: top-1 ${(100 * s.top1).toFixed(2)}% (near ties counted ${(100 * s.top1Ties).toFixed(2)}%), mean KL ${s.meanKl}`);
      // What the test tells apart: the same weights with the architecture's new part left out agree far less.
      const without = kind === "llama3" ? { ...config, ropeFreqs: false } : kind === "llama-linear" ? { ...config, ropeScale: 1 }
        : kind === "qwen3" ? { ...config, qkNorm: false } : kind === "phi3" ? { ...config, ropeDims: undefined }
        : kind === "gemma2" ? { ...config, attnSoftcap: undefined } : kind === "phi4-mini" ? { ...config, ropeShortLong: false, ropeMscale: undefined, ropeOrigContext: undefined }
        : { ...config, slidingWindow: 0 };
      const wrong = new LlamaModel(without, tensors.filter((t) => (t.name !== "rope_freqs.weight" || without.ropeFreqs) && (!t.name.startsWith("rope_factors_") || without.ropeShortLong)).map((t) => (t.dims.length >= 2 ? { ...t, data: roundF16(t.data) } : t)));
      try {
        const w = await agreement(path, wrong, tokens);
        console.log(`# ${kind} without it: top-1 ${(100 * w.top1).toFixed(2)}%, mean KL ${w.meanKl.toExponential(2)}`);
        assert.ok(w.meanKl > 10 * s.meanKl, `${kind}: leaving the part out changes the model (KL ${w.meanKl} vs ${s.meanKl})`);
      } finally {
        wrong.dispose();
      }
    } finally {
      model.dispose();
    }
  });
}

/** f32 values rounded through f16, as the file stores them. */
function roundF16(a: Float32Array): Float32Array {
  const h = new Float32Array(1);
  const u = new Uint32Array(h.buffer);
  return Float32Array.from(a, (x) => {
    h[0] = x;
    // Round-to-nearest-even on the 13 dropped mantissa bits (no subnormal/overflow cases at these magnitudes).
    const bits = u[0]!;
    const r = (bits + 0xfff + ((bits >> 13) & 1)) & ~0x1fff;
    u[0] = r;
    return h[0]!;
  });
}

test("gemma2 with a small attention cap (3, where tanh bends the scores): llama.cpp and our forward still agree", async () => {
  await useBackend("cpu");
  const config = { ...archConfig("gemma2"), attnSoftcap: 3 };
  const { path, tensors } = await writeArchModel("gemma2", { config });
  const tokens = randomTokens(POSITIONS);
  const { model } = await loadGgufModel(path);
  const uncapped = new LlamaModel({ ...config, attnSoftcap: undefined }, tensors.map((t) => (t.dims.length >= 2 ? { ...t, data: roundF16(t.data) } : t)));
  try {
    const s = await agreement(path, model, tokens);
    const w = await agreement(path, uncapped, tokens);
    console.log(`# gemma2, cap 3: top-1 ${(100 * s.top1).toFixed(2)}%, mean KL ${s.meanKl.toExponential(2)}; without the cap ${(100 * w.top1).toFixed(2)}%, KL ${w.meanKl.toExponential(2)}`);
    assert.ok(s.top1Ties >= 0.995 && s.top1 >= 0.99 && s.meanKl <= 1e-4, `top-1 ${s.top1}, KL ${s.meanKl}`);
    assert.ok(w.meanKl > 10 * s.meanKl, `the cap matters (KL ${w.meanKl} vs ${s.meanKl})`);
  } finally {
    model.dispose();
    uncapped.dispose();
  }
});

test("phi4-mini past its original context: llama.cpp switches to the long factors (what we train with is exact up to it)", async () => {
  await useBackend("cpu");
  // original_context_length 256 < the 512-token context llama.cpp opens: it turns by rope_factors_long.
  const config = { ...archConfig("phi4-mini"), ropeOrigContext: 256 };
  const { path, tensors } = await writeArchModel("phi4-mini", { config });
  const tokens = randomTokens(POSITIONS);
  const f16 = tensors.map((t) => (t.dims.length >= 2 ? { ...t, data: roundF16(t.data) } : t));
  const short = new LlamaModel(config, f16);
  const long = tensors.find((t) => t.name === "rope_factors_long.weight")!;
  const asLong = new LlamaModel(config, f16.map((t) => (t.name === "rope_factors_short.weight" ? { ...t, data: long.data } : t)));
  try {
    const s = await agreement(path, short, tokens);
    const l = await agreement(path, asLong, tokens);
    console.log(`# phi4-mini, context past the original: short factors ${(100 * s.top1).toFixed(2)}% (KL ${s.meanKl.toExponential(2)}), long ${(100 * l.top1).toFixed(2)}% (KL ${l.meanKl.toExponential(2)})`);
    assert.ok(l.meanKl <= 1e-4 && s.meanKl > 100 * l.meanKl);
  } finally {
    short.dispose();
    asLong.dispose();
  }
});

test("gemma3 4b+ rope (linear ×8 on the global layers only, as llama.cpp applies it): our forward agrees", async () => {
  await useBackend("cpu");
  const config = { ...archConfig("gemma3"), ropeScale: 1 / 8 };
  const { path, tensors } = await writeArchModel("gemma3", { config });
  const tokens = randomTokens(POSITIONS);
  const { model } = await loadGgufModel(path);
  // Scaling the local layers too is the mistake to tell apart.
  const everywhere = new LlamaModel({ ...config, ropeScaleSwa: 1 / 8 }, tensors.map((t) => (t.dims.length >= 2 ? { ...t, data: roundF16(t.data) } : t)));
  try {
    const s = await agreement(path, model, tokens);
    const w = await agreement(path, everywhere, tokens);
    console.log(`# gemma3, linear ×8: top-1 ${(100 * s.top1).toFixed(2)}%, KL ${s.meanKl.toExponential(2)}; scaling the local layers too ${(100 * w.top1).toFixed(2)}%, KL ${w.meanKl.toExponential(2)}`);
    assert.ok(s.top1Ties >= 0.995 && s.top1 >= 0.99 && s.meanKl <= 1e-4, `top-1 ${s.top1}, KL ${s.meanKl}`);
    assert.ok(w.meanKl > 10 * s.meanKl);
  } finally {
    model.dispose();
    everywhere.dispose();
  }
});
