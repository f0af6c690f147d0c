// verify's parity measure: KL arithmetic, and the gate on real llama.cpp runs — a correct model passes, models
// whose rope llama.cpp reads differently from our forward (Llama-3 factors, another base) fail.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeGguf } from "../../src/gguf/writer.ts";
import type { GgufValue } from "../../src/gguf/types.ts";
import { useBackend } from "../../src/kernels/backend.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { architectureMetadata } from "../../src/model/gguf-meta.ts";
import { randomTensors } from "../../src/model/llama.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { spmVocabMetadata } from "../../src/tokenizer/load.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { gateParity, klBetween, klToLogits, weightClass } from "../../src/export/parity.ts";
import { measureLlamaParity, measureParity } from "../../src/export/verify.ts";
import { SAMPLE_TEXT, testConfig } from "../model/fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "parity-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("KL divergence: zero for equal distributions, the textbook value otherwise", () => {
  const p = Float32Array.from([0.5, 0.25, 0.25]);
  assert.equal(klBetween(p, p), 0);
  const q = Float32Array.from([0.25, 0.5, 0.25]);
  assert.ok(Math.abs(klBetween(p, q) - (0.5 * Math.log(2) + 0.25 * Math.log(0.5))) < 1e-12);
  // Logits log(q) + c give the same distribution q.
  const logits = Float32Array.from([7, 7, 7, Math.log(0.25) + 3, Math.log(0.5) + 3, Math.log(0.25) + 3]);
  assert.ok(Math.abs(klToLogits(p, logits, 3, 3) - klBetween(p, q)) < 1e-6);
  assert.equal(weightClass(["F32", "F16"]), "float");
  assert.equal(weightClass(["F16", "Q8_0"]), "q8_0");
  assert.equal(weightClass(["Q8_0", "Q4_K"]), "smaller");
});

const vocab = trainSpmVocab(SAMPLE_TEXT.repeat(3), { vocabSize: 320 });
const config = testConfig("llama", vocab.tokens.length, { dim: 128, heads: 4, kvHeads: 2, headDim: 32, ffn: 256, ropeBase: 500_000, contextLength: 512 });

async function write(name: string, opts: { ropeBase?: number; ropeFreqs?: Float32Array; type?: "F16" | "Q8_0" } = {}): Promise<string> {
  const path = join(dir, `${name}.gguf`);
  const c = { ...config, ropeBase: opts.ropeBase ?? config.ropeBase };
  const tensors = randomTensors(config, 5, 0.1).map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length >= 2 ? opts.type ?? "F16" : "F32" as const, data: t.data }));
  if (opts.ropeFreqs) tensors.push({ name: "rope_freqs.weight", dims: [opts.ropeFreqs.length], type: "F32", data: opts.ropeFreqs });
  const meta: Record<string, GgufValue> = { ...architectureMetadata(c, name), ...spmVocabMetadata(vocab) };
  await writeGguf(path, { metadata: meta, tensors });
  return path;
}

/** llama.cpp runs `runPath`; our forward runs `oursPath` (the same weights, read our way). */
async function parity(runPath: string, oursPath: string) {
  await useBackend("cpu");
  const runner = await openLlamaRunner(runPath);
  const ours = await loadGgufModel(oursPath);
  try {
    const tokens = [...runner.model.tokenize(SAMPLE_TEXT.repeat(4), false)].slice(0, 256) as number[];
    assert.equal(tokens.length, 256);
    return await measureParity(runner, ours.model, tokens);
  } finally {
    ours.model.dispose();
    await runner.dispose();
  }
}

test("a correct f16 model passes the float gate on 256 positions", async () => {
  const path = await write("right");
  const s = await parity(path, path);
  assert.equal(s.positions, 256);
  const g = gateParity(s, "float");
  assert.equal(g.ok, true, g.detail);
  assert.ok(s.meanKl < 1e-3, g.detail);
});

/** The figures as verify computed them before the fast path: node-llama-cpp's token → probability Map per position, KL summed over its entries. */
function mapParity(maps: Array<{ probs: Map<number, number>; top: number }>, logits: Float32Array, vocab: number) {
  let same = 0, klSum = 0, klMax = 0, gapMax = 0;
  maps.forEach(({ probs, top }, i) => {
    const row = logits.subarray(i * vocab, (i + 1) * vocab);
    let ourTop = 0;
    for (let t = 1; t < vocab; t++) if (row[t]! > row[ourTop]!) ourTop = t;
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((a, l) => a + Math.exp(l - max), 0));
    let kl = 0;
    for (const [t, p] of probs) if (p > 0) kl += p * (Math.log(p) - (t < vocab ? row[t]! - logZ : Math.log(1e-30)));
    kl = Math.max(0, kl);
    const gap = top === ourTop ? 0 : Math.log(Math.max(probs.get(top) ?? 0, 1e-30)) - Math.log(Math.max(probs.get(ourTop) ?? 0, 1e-30));
    if (top === ourTop) same++; else gapMax = Math.max(gapMax, gap);
    klSum += kl; klMax = Math.max(klMax, kl);
  });
  return { top1: same / maps.length, meanKl: klSum / maps.length, maxKl: klMax, maxGap: gapMax };
}

test("distributions taken from node-llama-cpp's native result equal its public Map bit for bit, and verify's figures equal the Map-based ones", async () => {
  const path = await write("right");
  await useBackend("cpu");
  const runner = await openLlamaRunner(path);
  const ours = await loadGgufModel(path);
  try {
    assert.equal(runner.fastDistributions, true, "node-llama-cpp's native sampleToken could not be wrapped (internals changed?): verify takes the slow Map path");
    const tokens = [...runner.model.tokenize(SAMPLE_TEXT.repeat(4), false)].slice(0, 96) as number[];
    // In pieces of 32 as measureParity feeds them: llama.cpp's batch size can flip a near tie.
    const feedAll = async (publicApi: boolean) => {
      const stream = runner.distributionStream({ publicApi });
      try {
        const all = [];
        for (let start = 0; start < tokens.length; start += 32) all.push(...await stream.feed(tokens.slice(start, start + 32)));
        return all;
      } finally {
        stream.dispose();
      }
    };
    const a = await feedAll(false), b = await feedAll(true);
    assert.equal(a.length, tokens.length);
    for (const [i, d] of a.entries()) {
      assert.equal(d.top, b[i]!.top, `top at ${i}`);
      assert.equal(d.probs.length, vocab.tokens.length);
      assert.deepEqual(d.probs, b[i]!.probs, `distribution at ${i}`);
    }
    // The Maps node-llama-cpp's public API gave (their float32 values, lossless in the dense copy), summed the old
    // way, against measureParity on the fast path.
    const { tf } = await import("../../src/kernels/backend.ts");
    const out = tf.tidy(() => ours.model.forward(Int32Array.from(tokens), 1, tokens.length));
    const logits = out.dataSync() as Float32Array;
    out.dispose();
    const maps = b.map((d) => ({ probs: new Map([...d.probs].map((p, t) => [t, p] as [number, number]).filter(([, p]) => p > 0)), top: d.top }));
    const old = mapParity(maps, logits, vocab.tokens.length);
    const now = await measureParity(runner, ours.model, tokens);
    for (const k of ["top1", "meanKl", "maxKl", "maxGap"] as const) assert.ok(Math.abs(now[k] - old[k]) <= 1e-9, `${k}: ${now[k]} vs ${old[k]}`);
    assert.ok(old.meanKl > 0, "a KL that is not trivially 0");
  } finally {
    ours.model.dispose();
    await runner.dispose();
  }
});

test("a wrong rope fails the gate: Llama-3 rope factors our forward ignores, and another rope base", async () => {
  const plain = await write("plain");
  // Llama-3-style factors: 1 on the fast half of the frequencies, 8 on the slow half.
  const factors = Float32Array.from({ length: config.headDim / 2 }, (_, i) => (i < config.headDim / 4 ? 1 : 8));
  const freqs = await parity(await write("freqs", { ropeFreqs: factors }), plain);
  const g1 = gateParity(freqs, "float");
  assert.equal(g1.ok, false, g1.detail);
  const base = await parity(await write("base", { ropeBase: 10_000 }), plain);
  const g2 = gateParity(base, "float");
  assert.equal(g2.ok, false, g2.detail);
  assert.ok(base.meanKl > 0.1, g2.detail);
  // The same wrong base also fails the looser q8_0 gate, on q8_0 files.
  const q8 = await parity(await write("base-q8", { ropeBase: 10_000, type: "Q8_0" }), await write("plain-q8", { type: "Q8_0" }));
  assert.equal(gateParity(q8, "q8_0").ok, false, gateParity(q8, "q8_0").detail);
});

test("two llama.cpp models on one sequence: identical files give KL 0, a q8_0 copy a small positive KL", async () => {
  const f16 = await write("twin");
  const q8 = await write("twin-q8", { type: "Q8_0" });
  const a = await openLlamaRunner(f16);
  const b = await openLlamaRunner(f16);
  const c = await openLlamaRunner(q8);
  try {
    const tokens = [...a.model.tokenize(SAMPLE_TEXT.repeat(4), false)].slice(0, 200) as number[];
    const same = await measureLlamaParity(a, b, tokens);
    assert.equal(same.positions, 200);
    assert.equal(same.top1, 1);
    assert.ok(same.meanKl < 1e-9, String(same.meanKl));
    const rounded = await measureLlamaParity(a, c, tokens);
    assert.ok(rounded.meanKl > 1e-7 && rounded.meanKl < 0.1, String(rounded.meanKl));
  } finally {
    await a.dispose(); await b.dispose(); await c.dispose();
  }
});
