// Attention forward+backward time at the training shapes (batch 8, seq 256, head dim 64): the per-head
// 2-D split of src/train/model/ops.ts vs src/train/native/batched-attention.ts, each with the stock
// wasm matMul and with the native OpenBLAS one, in the same process.
// Usage: node --import tsx bench/train/native-attention.ts [--reps 3]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { tf, useBackend } from "../../src/train/backend.ts";
import { attention, type AttentionShape } from "../../src/train/model/ops.ts";
import { batchedAttention } from "../../src/train/native/batched-attention.ts";
import { registerNativeMatMul, unregisterNativeMatMul } from "../../src/train/native/native-matmul.ts";

const { values: a } = parseArgs({ options: { reps: { type: "string", default: "3" } } });
const reps = Number(a.reps);
const info = await useBackend("wasm", 2);
console.log(`# native-attention: ${info.detail}; ${cpus().length} cores, loadavg ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
const shapes: Array<[string, AttentionShape]> = [
  ["tiny (4 heads)", { batch: 8, seq: 256, heads: 4, kvHeads: 4, headDim: 64 }],
  ["small (8 heads, 4 kv)", { batch: 8, seq: 256, heads: 8, kvHeads: 4, headDim: 64 }],
];
const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
const rows: string[] = [];
for (const [name, s] of shapes) {
  const n = s.batch * s.seq;
  const q = tf.randomNormal([n, s.heads * s.headDim]) as tf.Tensor2D;
  const k = tf.randomNormal([n, s.kvHeads * s.headDim]) as tf.Tensor2D;
  const v = tf.randomNormal([n, s.kvHeads * s.headDim]) as tf.Tensor2D;
  const cells: string[] = [];
  for (const native of [false, true]) {
    if (native) registerNativeMatMul("wasm", 2); else unregisterNativeMatMul("wasm");
    for (const fn of [attention, batchedAttention]) {
      const step = () => { const g = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(fn(x as tf.Tensor2D, y as tf.Tensor2D, z as tf.Tensor2D, s)))([q, k, v]); g[0]!.dataSync(); tf.dispose(g); };
      step();
      const wall: number[] = [], cpu: number[] = [];
      for (let i = 0; i < reps; i++) { const c0 = process.cpuUsage(); const t0 = performance.now(); step(); const c = process.cpuUsage(c0); wall.push(performance.now() - t0); cpu.push((c.user + c.system) / 1000); }
      cells.push(`${median(wall).toFixed(0)} / ${median(cpu).toFixed(0)}`);
      console.error(name, native ? "native" : "stock", fn.name, cells.at(-1));
    }
  }
  rows.push(`| ${name} | ${cells.join(" | ")} |`);
  tf.dispose([q, k, v]);
}
console.log(`\nms per forward+backward, wall / CPU (all threads)\n\n| shape | stock matMul, per-head | stock matMul, batched | native, per-head | native, batched |\n|---|---|---|---|---|\n${rows.join("\n")}`);
console.log(`loadavg at end ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
process.exit(0);
