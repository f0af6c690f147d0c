// Matmul GFLOP/s of tfjs-wasm's stock BatchMatMul vs the native OpenBLAS kernel at the shapes one
// training step of "tiny" and "small" runs (batch 8 × seq 256 = 2048 rows), in the same process.
// GFLOP/s by wall clock, and GFLOP per CPU-second (all threads), which a loaded box distorts less.
// Usage: node --import tsx bench/train/native-matmul.ts [--threads 2] [--seconds 0.4]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { registerNativeMatMul, unregisterNativeMatMul } from "../../src/kernels/native/native-matmul.ts";

const { values: a } = parseArgs({ options: { threads: { type: "string", default: "2" }, seconds: { type: "string", default: "0.4" } } });
const threads = Number(a.threads), budget = Number(a.seconds) * 1000;
const ROWS = 2048;
/** [label, m, k, n, transposeA, transposeB] as the model's ops.ts issues them (plain 2-D unless noted). */
type Shape = [string, number, number, number, boolean, boolean];
const SHAPES: Shape[] = [
  ["tiny q/k/v/o x@W", ROWS, 256, 256, false, false],
  ["tiny gate/up x@W", ROWS, 256, 688, false, false],
  ["tiny down x@W", ROWS, 688, 256, false, false],
  ["tiny output x@W", ROWS, 256, 512, false, false],
  ["tiny dW = xT@dy", 256, ROWS, 688, false, false],
  ["attn q@kT (per head)", 256, 64, 256, false, false],
  ["attn p@v (per head)", 256, 256, 64, false, false],
  ["small q/o x@W", ROWS, 512, 512, false, false],
  ["small k/v x@W", ROWS, 512, 256, false, false],
  ["small gate/up x@W", ROWS, 512, 1376, false, false],
  ["small down x@W", ROWS, 1376, 512, false, false],
  ["small output x@W", ROWS, 512, 2048, false, false],
  ["small dW = xT@dy", 512, ROWS, 1376, false, false],
  ["small x@W, transposeB", ROWS, 512, 1376, false, true],
  ["small dW, transposeA", 512, ROWS, 1376, true, false],
];

const median = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]!; };

/** Median wall ms and total CPU ms per call of `f` over ~`budget` ms (at least 3 calls after a warm-up). */
function time(f: () => void): { wallMs: number; cpuMs: number } {
  f();
  const walls: number[] = [];
  const c0 = process.cpuUsage();
  const start = performance.now();
  while (walls.length < 3 || (performance.now() - start < budget && walls.length < 50)) {
    const t0 = performance.now();
    f();
    walls.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { wallMs: median(walls), cpuMs: (c.user + c.system) / 1000 / walls.length };
}

const info = await useBackend("wasm", threads);
console.log(`# native-matmul: ${info.detail}; ${cpus().length} cores, loadavg ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
const rows: string[] = [];
for (const [label, m, k, n, tA, tB] of SHAPES) {
  const x = tf.randomNormal(tA ? [k, m] : [m, k]) as tf.Tensor2D;
  const w = tf.randomNormal(tB ? [n, k] : [k, n]) as tf.Tensor2D;
  const flop = 2 * m * n * k;
  const run = () => tf.matMul(x, w, tA, tB).dispose();
  unregisterNativeMatMul("wasm");
  const stock = time(run);
  if (!registerNativeMatMul("wasm", threads).active) throw new Error("native matMul is not available: npm run build:native");
  const native = time(run);
  const g = (t: { wallMs: number }) => flop / t.wallMs / 1e6;
  const gc = (t: { cpuMs: number }) => flop / t.cpuMs / 1e6;
  rows.push(`| ${label} | ${tA ? `${k}×${m}ᵀ` : `${m}×${k}`} @ ${tB ? `${n}×${k}ᵀ` : `${k}×${n}`} | ${g(stock).toFixed(1)} | ${g(native).toFixed(1)} | ${(g(native) / g(stock)).toFixed(2)}× | ${gc(stock).toFixed(1)} | ${gc(native).toFixed(1)} |`);
  console.error(rows.at(-1));
  tf.dispose([x, w]);
}
console.log(`\n| shape | a @ b | stock wasm GFLOP/s | native GFLOP/s | native ÷ stock | stock GFLOP per CPU-s | native GFLOP per CPU-s |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}`);
console.log(`loadavg at end ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
process.exit(0);
