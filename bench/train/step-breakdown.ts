// Where a trainer step's wall time goes: forward+backward (variableGrads), gradient norm, AdamW update.
// Usage: node --import tsx bench/train/step-breakdown.ts [tiny|small] [full|lora]
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { AdamW, globalNorm } from "../../src/train/optimizer.ts";
import { benchSetup } from "./configs.ts";
const info = await useBackend("wasm", 2);
console.log(info.detail);
const { vars, loss } = benchSetup(process.argv[2], process.argv[3] === "full");
const opt = new AdamW(vars, { weightDecay: 0 });
for (let s = 0; s < 4; s++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dataSync();
  const t1 = performance.now();
  const list = vars.map((v) => grads[v.name]!);
  globalNorm(list);
  const t2 = performance.now();
  opt.apply(list, 1e-4);
  tf.dispose([value, ...list]);
  vars[0]!.dataSync();
  const t3 = performance.now();
  console.log(`fwd+bwd ${(t1 - t0).toFixed(0)} ms, norm ${(t2 - t1).toFixed(0)} ms, adamw ${(t3 - t2).toFixed(0)} ms, tensors ${tf.memory().numTensors}`);
}
process.exit(0);
