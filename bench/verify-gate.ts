// The numbers behind verify's parity gates (src/export/parity.ts): top-1 agreement and mean KL divergence of our
// tfjs forward against llama.cpp on correct models of each weight type, and on deliberately wrong ones (a file
// llama.cpp reads with a different rope than the one we run: base, Llama-3 factors, linear scaling);
// and each quantized file against its f16 twin, both in llama.cpp (verify's quantization KL).
// Run: node --import tsx bench/verify-gate.ts [--seeds 1,2,3] [--std 0.05,0.1,0.2]
// Random weights at small real-shaped dimensions (dim 256, 4 layers, GQA 8/2, head 32, ffn 768), our SPM
// vocabulary, 256 teacher-forced positions — the sequence length verify compares.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeGguf } from "../src/gguf/writer.ts";
import type { GgufValue } from "../src/gguf/types.ts";
import { useBackend } from "../src/kernels/backend.ts";
import type { LlamaConfig } from "../src/model/config.ts";
import { architectureMetadata } from "../src/model/gguf-meta.ts";
import { randomTensors } from "../src/model/llama.ts";
import { loadGgufModel } from "../src/model/load.ts";
import { openLlamaRunner } from "../src/llama-cpp/runner.ts";
import { spmVocabMetadata } from "../src/tokenizer/load.ts";
import { trainSpmVocab } from "../src/tokenizer/spm.ts";
import { measureLlamaParity, measureParity } from "../src/export/verify.ts";
import { describeParity, type ParityStats } from "../src/export/parity.ts";

const { values } = parseArgs({ options: { seeds: { type: "string", default: "1,2,3" }, std: { type: "string", default: "0.05,0.1,0.2" } } });
const seeds = values.seeds!.split(",").map(Number);
const stds = values.std!.split(",").map(Number);

const TEXT =
  "The warranty lasts two years from the date of purchase. Returns are accepted within thirty days. " +
  "The seller pays shipping for returns. Support answers email within one business day. " +
  "The device charges in two hours and runs for ten hours on a full battery. ";
const vocab = trainSpmVocab(TEXT.repeat(4), { vocabSize: 384 });
const dir = mkdtempSync(join(tmpdir(), "verify-gate-"));
await useBackend("cpu");

type Arch = "llama" | "qwen2";
function config(arch: Arch): LlamaConfig {
  return {
    arch, vocab: vocab.tokens.length, dim: 256, layers: 4, heads: 8, kvHeads: 2, headDim: 32, ffn: 768,
    normEps: 1e-5, ropeBase: arch === "qwen2" ? 1_000_000 : 500_000, ropeStyle: arch === "qwen2" ? "neox" : "norm",
    qkvBias: arch === "qwen2", tiedOutput: arch === "qwen2", contextLength: 1024,
  };
}

type Type = "F16" | "Q8_0" | "Q6_K" | "Q4_K" | "Q4_0";
async function write(name: string, c: LlamaConfig, seed: number, std: number, type: Type, extra: Record<string, GgufValue> = {}, ropeFreqs?: Float32Array): Promise<string> {
  const path = join(dir, `${name}.gguf`);
  const tensors = randomTensors(c, seed, std).map((t) => ({ name: t.name, dims: t.dims, type: (t.dims.length >= 2 ? type : "F32") as "F32", data: t.data }));
  if (ropeFreqs) tensors.push({ name: "rope_freqs.weight", dims: [ropeFreqs.length], type: "F32", data: ropeFreqs });
  await writeGguf(path, { metadata: { ...architectureMetadata(c, name), ...spmVocabMetadata(vocab), ...extra }, tensors });
  return path;
}

/** Llama-3's rope factors: 1 for the high frequencies, 8 for the low ones, a smooth ramp between (head 32 → 16 factors). */
function llama3Factors(headDim: number): Float32Array {
  const n = headDim / 2;
  return Float32Array.from({ length: n }, (_, i) => {
    const wavelen = 2 * Math.PI * Math.pow(500_000, (2 * i) / headDim);
    if (wavelen < 8192 / 4) return 1;
    if (wavelen > 8192 / 1) return 8;
    const smooth = (8192 / wavelen - 1) / (4 - 1);
    return 1 / ((1 - smooth) / 8 + smooth);
  });
}

interface Row { case: string; arch: Arch; type: Type; std: number; seed: number; stats: ParityStats }
const rows: Row[] = [];
const quantRows: Array<{ arch: Arch; type: Type; std: number; seed: number; stats: ParityStats }> = [];

async function ours(runPath: string, oursPath: string, tokens?: number[]): Promise<{ stats: ParityStats; tokens: number[] }> {
  const runner = await openLlamaRunner(runPath);
  const loaded = await loadGgufModel(oursPath);
  try {
    const t = tokens ?? [...runner.model.tokenize(TEXT.repeat(8), false)].slice(0, 256) as number[];
    return { stats: await measureParity(runner, loaded.model, t), tokens: t };
  } finally {
    loaded.model.dispose();
    await runner.dispose();
  }
}

for (const arch of ["llama", "qwen2"] as Arch[]) {
  const c = config(arch);
  for (const std of stds) {
    for (const seed of seeds) {
      const tag = `${arch}-s${std}-${seed}`;
      let tokens: number[] | undefined;
      const files: Partial<Record<Type, string>> = {};
      for (const type of ["F16", "Q8_0", "Q6_K", "Q4_K", "Q4_0"] as Type[]) {
        files[type] = await write(`${tag}-${type}`, c, seed, std, type);
        const r = await ours(files[type]!, files[type]!, tokens);
        tokens = r.tokens;
        rows.push({ case: "correct", arch, type, std, seed, stats: r.stats });
      }
      // Each quantized file against its f16 twin, both in llama.cpp.
      const ref = await openLlamaRunner(files.F16!);
      try {
        for (const type of ["Q8_0", "Q6_K", "Q4_K", "Q4_0"] as Type[]) {
          const cand = await openLlamaRunner(files[type]!);
          try { quantRows.push({ arch, type, std, seed, stats: await measureLlamaParity(ref, cand, tokens!) }); } finally { await cand.dispose(); }
        }
      } finally {
        await ref.dispose();
      }
      // Wrong models: llama.cpp runs a file whose rope differs from the one our forward reads.
      for (const type of ["F16", "Q8_0", "Q4_K"] as Type[]) {
        const plain = files[type]!;
        const wrong: Array<[string, string]> = [
          ["rope base ×0.02", await write(`${tag}-${type}-base`, { ...c, ropeBase: c.ropeBase * 0.02 }, seed, std, type)],
          ["linear rope scaling ×4 ignored", await write(`${tag}-${type}-linear`, c, seed, std, type, { [`${arch}.rope.scaling.type`]: { type: "string", value: "linear" }, [`${arch}.rope.scaling.factor`]: { type: "f32", value: 4 } })],
        ];
        if (arch === "llama") wrong.push(["Llama-3 rope_freqs ignored", await write(`${tag}-${type}-freqs`, c, seed, std, type, {}, llama3Factors(c.headDim))]);
        for (const [name, path] of wrong) rows.push({ case: name, arch, type, std, seed, stats: (await ours(path, plain, tokens)).stats });
      }
      console.error(`${tag} done`);
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const sci = (x: number) => x.toExponential(1);
const group = <T extends { stats: ParityStats }>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
};
const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`;
console.log(`| case | arch | weights | std | top-1 | top-1 with near ties | mean KL (nats) | largest gap where picks differ (nats) |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const [k, xs] of group(rows, (r) => `${r.case}|${r.arch}|${r.type}|${r.std}`)) {
  console.log(`| ${k.split("|").join(" | ")} | ${range(xs.map((x) => x.stats.top1), pct)} | ${range(xs.map((x) => x.stats.top1Ties), pct)} | ${range(xs.map((x) => x.stats.meanKl), sci)} | ${Math.max(...xs.map((x) => x.stats.maxGap)).toFixed(3)} |`);
}
console.log(`\n| quantized vs f16 (llama.cpp) | arch | std | top-1 | mean KL (nats) |`);
console.log(`|---|---|---|---|---|`);
for (const [k, xs] of group(quantRows, (r) => `${r.type}|${r.arch}|${r.std}`)) {
  console.log(`| ${k.split("|").join(" | ")} | ${range(xs.map((x) => x.stats.top1), pct)} | ${range(xs.map((x) => x.stats.meanKl), sci)} |`);
}
console.error(`example: ${describeParity(rows[0]!.stats)}`);
