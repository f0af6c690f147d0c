// Next-token agreement with llama.cpp on f16 files laid out like the real bases: Llama-3 rope factors, linear
// rope scaling, qwen3 (q/k norms, explicit head size), gemma3 (√d embedding, GELU gate, post-norms, q/k norms,
// sliding-window layers with their own rope base, soft-capping), gemma2 (attention soft-capping), phi3 (fused qkv and gate-up, partial rope).
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

for (const kind of ["llama3", "llama-linear", "qwen3", "gemma3", "gemma2", "phi3"] as ArchCase[]) {
  test(`${kind}: our forward picks llama.cpp's next token at ≥ 99.5% of ${POSITIONS} positions (f16 file)`, async () => {
    await useBackend("cpu");
    const { path, config, tensors } = await writeArchModel(kind);
    const tokens = randomTokens(POSITIONS);
    const { model } = await loadGgufModel(path);
    try {
      const s = await agreement(path, model, tokens);
      console.log(`# ${kind}: top-1 ${(100 * s.top1).toFixed(2)}% of ${s.positions}, mean KL ${s.meanKl.toExponential(2)}`);
      assert.equal(s.positions, POSITIONS);
      assert.ok(s.top1 >= 0.995, `${kind}: top-1 agreement ${(100 * s.top1).toFixed(2)}%`);
      // What the test tells apart: the same weights with the architecture's new part left out agree far less.
      const without = kind === "llama3" ? { ...config, ropeFreqs: false } : kind === "llama-linear" ? { ...config, ropeScale: 1 }
        : kind === "qwen3" ? { ...config, qkNorm: false } : kind === "phi3" ? { ...config, ropeDims: undefined }
        : kind === "gemma2" ? { ...config, attnSoftcap: undefined } : { ...config, slidingWindow: 0 };
      const wrong = new LlamaModel(without, tensors.filter((t) => t.name !== "rope_freqs.weight" || without.ropeFreqs).map((t) => (t.dims.length >= 2 ? { ...t, data: roundF16(t.data) } : t)));
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
    assert.ok(s.top1 >= 0.995, `top-1 ${s.top1}`);
    assert.ok(w.meanKl > 10 * s.meanKl, `the cap matters (KL ${w.meanKl} vs ${s.meanKl})`);
  } finally {
    model.dispose();
    uncapped.dispose();
  }
});
