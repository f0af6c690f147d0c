// Next-token agreement and mean KL of our forward against llama.cpp on f16 files laid out like the real bases
// (test/model/arch-fixture.ts), over several weight seeds: how far above the 99.5% bar each architecture sits.
// Usage: node --import tsx bench/model-architectures.ts [positions=450] [seeds=11,12,13,14]
import { useBackend } from "../src/kernels/backend.ts";
import { measureParity } from "../src/export/verify.ts";
import { openLlamaRunner } from "../src/llama-cpp/runner.ts";
import { loadGgufModel } from "../src/model/load.ts";
import { randomTokens, writeArchModel, type ArchCase } from "../test/model/arch-fixture.ts";

const positions = Number(process.argv[2] ?? 450);
const seeds = (process.argv[3] ?? "11,12,13,14").split(",").map(Number);
await useBackend("cpu");
console.log(`| architecture | ${seeds.map((s) => `seed ${s}`).join(" | ")} | top-1, near ties counted | mean KL (nats) | largest gap where picks differ |`);
console.log(`|---|${seeds.map(() => "---|").join("")}---|---|---|`);
for (const kind of ["llama3", "llama-linear", "qwen3", "gemma3", "gemma2", "phi3", "phi4-mini"] as ArchCase[]) {
  const cells: string[] = [];
  let kl = 0, ties = 1, gap = 0;
  for (const seed of seeds) {
    const { path } = await writeArchModel(kind, { seed });
    const { model } = await loadGgufModel(path);
    const runner = await openLlamaRunner(path, { contextSize: 512 });
    const s = await measureParity(runner, model, randomTokens(positions));
    await runner.dispose();
    model.dispose();
    cells.push(`${(100 * s.top1).toFixed(2)}% (${s.positions - Math.round(s.top1 * s.positions)} differ)`);
    kl += s.meanKl / seeds.length;
    ties = Math.min(ties, s.top1Ties);
    gap = Math.max(gap, s.maxGap);
  }
  console.log(`| ${kind} | ${cells.join(" | ")} | ≥ ${(100 * ties).toFixed(2)}% | ${kl.toExponential(1)} | ${gap.toFixed(3)} |`);
}
