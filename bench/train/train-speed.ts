// Training throughput of our tfjs llama (full and LoRA r=8 on q,k,v,o) beside PyTorch on the same configs,
// in the same run. Usage: node --import tsx bench/train/train-speed.ts [--backend wasm] [--threads 2] [--steps 5] [--configs tiny,small] [--modes full,lora] [--no-torch]
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tf, useBackend } from "../../src/train/backend.ts";
import { Lora } from "../../src/train/lora.ts";
import { LlamaModel } from "../../src/train/model/llama.ts";
import { TokenRows } from "../../src/train/qa-train-files.ts";
import { Trainer } from "../../src/train/trainer.ts";
import { BENCH_CONFIGS, benchLlamaConfig, type BenchShape } from "./configs.ts";

const { values: a } = parseArgs({ options: { backend: { type: "string", default: "wasm" }, steps: { type: "string", default: "5" }, warmup: { type: "string", default: "2" }, configs: { type: "string", default: "tiny,small" }, modes: { type: "string", default: "full,lora" }, "no-torch": { type: "boolean" }, threads: { type: "string", default: "2" } } });
const SEQ = 256, BATCH = 8, RANK = 8;
const CONFIGS: Record<string, BenchShape> = BENCH_CONFIGS; // indexed by the --configs names

/** FLOPs per token, the same model as ../shared/anchors/torch_llama.py flop_model(). */
function flops(c: (typeof CONFIGS)[string], seq: number, r: number) {
  const hd = c.dim / c.heads;
  const qkv = c.dim * c.heads * hd + 2 * c.dim * c.kvHeads * hd;
  const nMatmul = c.layers * (qkv + c.heads * hd * c.dim + 3 * c.dim * c.ffn) + c.dim * c.vocab;
  const attnFwd = 4 * c.layers * seq * c.heads * hd;
  const fwd = 2 * nMatmul + attnFwd;
  const loraParams = c.layers * r * ((c.dim + c.heads * hd) + 2 * (c.dim + c.kvHeads * hd) + (c.heads * hd + c.dim));
  return { full: 3 * fwd, lora: fwd + 2 * (nMatmul - qkv) + 2 * attnFwd + 6 * loraParams };
}

const median = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]!; };

const backend = await useBackend(a.backend, Number(a.threads));
const steps = Number(a.steps), warmup = Number(a.warmup);
console.log(`# train-speed: backend ${backend.name} (${backend.detail}), seq ${SEQ}, batch ${BATCH}, float32, ${cpus().length} cores, loadavg ${loadavg()[0]!.toFixed(2)}`);
const rows: string[] = [];
for (const name of a.configs!.split(",")) {
  const c = CONFIGS[name]!;
  const cfg = benchLlamaConfig(c, SEQ);
  const f = flops(c, SEQ, RANK);
  const data = TokenRows.fromRows(SEQ, Array.from({ length: BATCH }, (_, i) => ({
    inputs: Array.from({ length: SEQ }, (_, j) => (i * 7919 + j * 31) % c.vocab),
    targets: Array.from({ length: SEQ }, (_, j) => (i * 104729 + j * 17) % c.vocab),
  })));
  const result: Record<string, { tps: number; gflops: number; cpuPerWall: number }> = {};
  for (const mode of a.modes!.split(",")) {
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
    result[mode] = { tps, gflops: (tps * (mode === "full" ? f.full : f.lora)) / 1e9, cpuPerWall };
    console.log(`${name} ${mode}: median ${median(times).toFixed(3)} s/step, ${tps.toFixed(0)} tokens/s, ${result[mode]!.gflops.toFixed(1)} GFLOP/s (min ${Math.min(...times).toFixed(3)}, max ${Math.max(...times).toFixed(3)}, n=${steps}, cpu/wall ${cpuPerWall.toFixed(2)}); tensors ${tf.memory().numTensors}`);
    trainer.dispose(); lora?.dispose(); model.dispose();
  }
  let torch: Record<string, { tokens_per_s: number; gflops: number; cpu_per_wall: number }> | undefined;
  const anchor = join(import.meta.dirname, "../../../shared/anchors/torch_llama.py");
  if (!a["no-torch"] && existsSync("/usr/bin/python3") && existsSync(anchor)) {
    const out = join(mkdtempSync(join(tmpdir(), "torch-")), "r.json");
    try {
      execFileSync("/usr/bin/python3", [anchor, "bench", "--threads", a.threads!, "--config", name, "--steps", String(steps), "--warmup", String(warmup), "--modes", "full,lora", "--json", out], { stdio: ["ignore", "inherit", "inherit"] });
      torch = JSON.parse(readFileSync(out, "utf8")).modes;
    } catch (e) {
      console.log(`torch anchor failed: ${(e as Error).message}`);
    }
  }
  for (const mode of Object.keys(result)) {
    const t = torch?.[mode];
    const r = result[mode]!;
    const perCpu = r.tps / r.cpuPerWall;
    const tPerCpu = t ? t.tokens_per_s / t.cpu_per_wall : undefined;
    rows.push(`| ${name} | ${mode} | ${r.tps.toFixed(0)} | ${r.gflops.toFixed(1)} | ${r.cpuPerWall.toFixed(2)} | ${t ? t.tokens_per_s.toFixed(0) : "–"} | ${t ? t.gflops.toFixed(1) : "–"} | ${t ? t.cpu_per_wall.toFixed(2) : "–"} | ${t ? (r.tps / t.tokens_per_s).toFixed(2) + "×" : "–"} | ${tPerCpu ? (perCpu / tPerCpu).toFixed(2) + "×" : "–"} |`);
  }
}
console.log(`\n| config | mode | tfjs tokens/s | tfjs GFLOP/s | tfjs CPU/wall | PyTorch tokens/s | PyTorch GFLOP/s | PyTorch CPU/wall | tfjs / PyTorch (wall) | tfjs / PyTorch (per CPU-second) |\n|---|---|---|---|---|---|---|---|---|---|\n${rows.join("\n")}`);
process.exit(0);
