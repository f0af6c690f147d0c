// Where a trainer step's wall time goes: forward+backward (variableGrads), gradient norm, AdamW update.
// Usage: node --import tsx bench/train/step-breakdown.ts [tiny|small] [full|lora]
import { tf, useBackend } from "../../src/train/backend.ts";
import { Lora } from "../../src/train/lora.ts";
import { LlamaModel } from "../../src/train/model/llama.ts";
import { AdamW, globalNorm } from "../../src/train/optimizer.ts";
import { BENCH_CONFIGS, benchConfigName, benchLlamaConfig, syntheticBatch } from "./configs.ts";
const info = await useBackend("wasm", 2);
console.log(info.detail);
const c = BENCH_CONFIGS[benchConfigName(process.argv[2])];
const cfg = benchLlamaConfig(c, 256);
const full = process.argv[3] === "full";
const model = LlamaModel.random(cfg, 1, { trainable: full });
const lora = new Lora(cfg, { rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"], seed: 1 });
const B = 8, T = 256;
const batch = syntheticBatch(c, B, T);
const vars = full ? model.variables() : lora.variables();
const opt = new AdamW(vars, { weightDecay: 0 });
for (let s = 0; s < 4; s++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(batch, { hook: full ? undefined : lora, training: true }), vars);
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
