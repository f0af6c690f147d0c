// Per-kernel time of one training step grouped by kernel name and input shapes (tf.profile), to see
// which products and copies dominate. Usage: [BACKEND=cpu] node --import tsx bench/train/kernel-shapes.ts [lora|full] [tiny|small] [name-filter]
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { benchSetup } from "./configs.ts";
await useBackend(process.env.BACKEND ?? "wasm");
const filter = process.argv[4];
const { vars, loss } = benchSetup(process.argv[3], process.argv[2] === "full");
const step = () => { const { value, grads } = tf.variableGrads(loss, vars); value.dataSync(); tf.dispose([value, ...Object.values(grads)]); };
step();
const info = await tf.profile(() => { step(); });
const by = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) {
  if (k.name === undefined || (filter && k.name !== filter)) continue;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = by.get(key) ?? { ms: 0, n: 0 }; e.ms += Number(k.kernelTimeMs); e.n++; by.set(key, e);
}
for (const [k, v] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(v.ms.toFixed(1).padStart(8), String(v.n).padStart(5), k);
process.exit(0);
