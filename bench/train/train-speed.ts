// Training throughput of our tfjs llama (full and LoRA r=8 on q,k,v,o) beside PyTorch on the same configs,
// in the same run. With --rounds N the two alternate N times per config (tfjs, PyTorch, tfjs, ...) and
// the ratio is the median of the per-round ratios: this machine's speed drifts by ±15% over minutes,
// and alternating keeps that drift out of the comparison.
// Usage: node --import tsx bench/train/train-speed.ts [--backend wasm] [--threads 2] [--steps 6] [--warmup 2]
//        [--rounds 1] [--configs tiny,small] [--modes full,lora] [--no-torch]
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { Lora } from "../../src/train/lora.ts";
import { LlamaModel } from "../../src/model/llama.ts";
import { TokenRows } from "../../src/train/qa-train-files.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { BENCH_CONFIGS, benchLlamaConfig, type BenchShape } from "./configs.ts";

const { values: a } = parseArgs({ options: { backend: { type: "string", default: "wasm" }, steps: { type: "string", default: "6" }, warmup: { type: "string", default: "2" }, rounds: { type: "string", default: "1" }, configs: { type: "string", default: "tiny,small" }, modes: { type: "string", default: "full,lora" }, "no-torch": { type: "boolean" }, threads: { type: "string", default: "2" } } });
const SEQ = 256, BATCH = 8, RANK = 8;
const CONFIGS: Record<string, BenchShape> = BENCH_CONFIGS; // indexed by the --configs names
const steps = Number(a.steps), warmup = Number(a.warmup), rounds = Number(a.rounds);
const modes = a.modes!.split(",");

/** FLOPs per token, the same model as ../shared/anchors/torch_llama.py flop_model(). */
function flops(c: BenchShape, seq: number, r: number) {
  const hd = c.dim / c.heads;
  const qkv = c.dim * c.heads * hd + 2 * c.dim * c.kvHeads * hd;
  const nMatmul = c.layers * (qkv + c.heads * hd * c.dim + 3 * c.dim * c.ffn) + c.dim * c.vocab;
  const attnFwd = 4 * c.layers * seq * c.heads * hd;
  const fwd = 2 * nMatmul + attnFwd;
  const loraParams = c.layers * r * ((c.dim + c.heads * hd) + 2 * (c.dim + c.kvHeads * hd) + (c.heads * hd + c.dim));
  return { full: 3 * fwd, lora: fwd + 2 * (nMatmul - qkv) + 2 * attnFwd + 6 * loraParams };
}

const median = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]!; };

interface Run { tps: number; gflops: number; cpuPerWall: number }

function runTfjs(name: string, mode: string): Run {
  const c = CONFIGS[name]!;
  const cfg = benchLlamaConfig(c, SEQ);
  const data = TokenRows.fromRows(SEQ, Array.from({ length: BATCH }, (_, i) => ({
    inputs: Array.from({ length: SEQ }, (_, j) => (i * 7919 + j * 31) % c.vocab),
    targets: Array.from({ length: SEQ }, (_, j) => (i * 104729 + j * 17) % c.vocab),
  })));
  const model = LlamaModel.random(cfg, 1, { trainable: mode === "full" });
  const lora = mode === "lora" ? new Lora(cfg, { rank: RANK, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"], seed: 1 }) : undefined;
  const trainer = new Trainer(model, lora, data, undefined, { epochs: 1000, lr: 1e-4, batch: BATCH, gradAccum: 1, warmupSteps: 0, maxGradNorm: 0, weightDecay: 0, evalEvery: 0, seed: 1 });
  for (let i = 0; i < warmup; i++) trainer.trainStep();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 0; i < steps; i++) times.push(trainer.trainStep().seconds);
  const cpu = process.cpuUsage(cpu0);
  // CPU seconds of this process (all its threads) per wall second: under contention, < the thread count.
  const cpuPerWall = (cpu.user + cpu.system) / 1e6 / ((performance.now() - wall0) / 1000);
  const tps = (BATCH * SEQ) / median(times);
  const f = flops(c, SEQ, RANK);
  const run = { tps, gflops: (tps * (mode === "full" ? f.full : f.lora)) / 1e9, cpuPerWall };
  console.log(`tfjs ${name} ${mode}: median ${median(times).toFixed(3)} s/step, ${tps.toFixed(0)} tokens/s, ${run.gflops.toFixed(1)} GFLOP/s (min ${Math.min(...times).toFixed(3)}, max ${Math.max(...times).toFixed(3)}, n=${steps}, cpu/wall ${cpuPerWall.toFixed(2)}); tensors ${tf.memory().numTensors}`);
  trainer.dispose(); lora?.dispose(); model.dispose();
  return run;
}

const anchor = join(import.meta.dirname, "../../../shared/anchors/torch_llama.py");
const torchAvailable = !a["no-torch"] && existsSync("/usr/bin/python3") && existsSync(anchor);

function runTorch(name: string): Record<string, Run> | undefined {
  const out = join(mkdtempSync(join(tmpdir(), "torch-")), "r.json");
  try {
    execFileSync("/usr/bin/python3", [anchor, "bench", "--threads", a.threads!, "--config", name, "--steps", String(steps), "--warmup", String(warmup), "--modes", modes.join(","), "--json", out], { stdio: ["ignore", "inherit", "inherit"] });
    const m = JSON.parse(readFileSync(out, "utf8")).modes as Record<string, { tokens_per_s: number; gflops: number; cpu_per_wall: number }>;
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { tps: v.tokens_per_s, gflops: v.gflops, cpuPerWall: v.cpu_per_wall }]));
  } catch (e) {
    console.log(`torch anchor failed: ${(e as Error).message}`);
    return undefined;
  }
}

const backend = await useBackend(a.backend, Number(a.threads));
console.log(`# train-speed: backend ${backend.name} (${backend.detail}), seq ${SEQ}, batch ${BATCH}, float32, ${cpus().length} cores, loadavg ${loadavg()[0]!.toFixed(2)}, ${rounds} round(s) of ${steps} steps`);
const rows: string[] = [];
for (const name of a.configs!.split(",")) {
  const ours: Record<string, Run[]> = {}, theirs: Record<string, Run[]> = {}, ratios: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    const t = torchAvailable ? runTorch(name) : undefined;
    for (const mode of modes) {
      const r = runTfjs(name, mode);
      (ours[mode] ??= []).push(r);
      const p = t?.[mode];
      if (p) { (theirs[mode] ??= []).push(p); (ratios[mode] ??= []).push(r.tps / p.tps); }
    }
  }
  for (const mode of modes) {
    const r = ours[mode]!, t = theirs[mode], q = ratios[mode];
    const med = (runs: Run[], k: keyof Run) => median(runs.map((x) => x[k]));
    const range = q ? `${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)}` : "–";
    rows.push(`| ${name} | ${mode} | ${med(r, "tps").toFixed(0)} | ${med(r, "gflops").toFixed(1)} | ${med(r, "cpuPerWall").toFixed(2)} | ${t ? med(t, "tps").toFixed(0) : "–"} | ${t ? med(t, "gflops").toFixed(1) : "–"} | ${t ? med(t, "cpuPerWall").toFixed(2) : "–"} | ${q ? median(q).toFixed(2) + "×" : "–"} | ${range} |`);
  }
}
console.log(`\n| config | mode | tfjs tokens/s | tfjs GFLOP/s | tfjs CPU/wall | PyTorch tokens/s | PyTorch GFLOP/s | PyTorch CPU/wall | tfjs / PyTorch (median of rounds) | per-round range |\n|---|---|---|---|---|---|---|---|---|---|\n${rows.join("\n")}`);
process.exit(0);
