// Per-kernel time of one tiny LoRA (or full) training step (tf.profile), and wall vs CPU time per step.
// Usage: node --import tsx bench/train/step-profile.ts [wasm|cpu] [lora|full] [tiny|small]
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { benchSetup } from "./configs.ts";
await useBackend(process.argv[2] ?? "wasm");
const { vars, loss } = benchSetup(process.argv[4], process.argv[3] === "full");
const step = () => { const { value, grads } = tf.variableGrads(loss, vars); value.dataSync(); tf.dispose([value, ...Object.values(grads)]); };
step();
const info = await tf.profile(() => { step(); });
const by = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) { const e = by.get(k.name) ?? { ms: 0, n: 0 }; e.ms += Number(k.kernelTimeMs); e.n++; by.set(k.name, e); }
const total = [...by.values()].reduce((a, b) => a + b.ms, 0);
console.log("total kernel ms", total.toFixed(0));
for (const [k, v] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 22)) console.log(k.padEnd(20), v.ms.toFixed(0).padStart(7), String(v.n).padStart(6));
for (let i = 0; i < 3; i++) { const c0 = process.cpuUsage(); const t0 = performance.now(); step(); const c = process.cpuUsage(c0); console.log("step wall ms", (performance.now() - t0).toFixed(0), "cpu ms", ((c.user + c.system) / 1000).toFixed(0)); }
process.exit(0);
