// Where a trainer step's wall time goes: forward+backward (variableGrads), gradient norm, AdamW update.
// Usage: node --import tsx bench/train/step-breakdown.ts [tiny|small] [full|lora]
import { tf, useBackend } from "../../src/train/backend.ts";
import { Lora } from "../../src/train/lora.ts";
import { LlamaModel } from "../../src/train/model/llama.ts";
import { AdamW, clipByGlobalNorm } from "../../src/train/optimizer.ts";
const info = await useBackend("wasm", 2);
console.log(info.detail);
const C = { tiny: { vocab: 512, dim: 256, layers: 4, heads: 4, kvHeads: 4, ffn: 688 }, small: { vocab: 2048, dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1376 } };
const c = C[(process.argv[2] ?? "tiny") as keyof typeof C];
const cfg = { arch: "llama", ...c, headDim: c.dim / c.heads, normEps: 1e-5, ropeBase: 10000, ropeStyle: "norm" as const, qkvBias: false, tiedOutput: false, contextLength: 256 };
const full = process.argv[3] === "full";
const model = LlamaModel.random(cfg, 1, { trainable: full });
const lora = new Lora(cfg, { rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o"], seed: 1 });
const B = 8, T = 256;
const batch = { batch: B, seq: T, inputs: new Int32Array(B * T).map((_, i) => i % c.vocab), targets: new Int32Array(B * T).map((_, i) => (i * 7) % c.vocab), weights: new Float32Array(B * T).fill(1) };
const vars = full ? model.variables() : lora.variables();
const opt = new AdamW(vars, { weightDecay: 0 });
for (let s = 0; s < 4; s++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => model.loss(batch, { hook: full ? undefined : lora, training: true }), vars);
  value.dataSync();
  const t1 = performance.now();
  const list = vars.map((v) => grads[v.name]!);
  const clipped = clipByGlobalNorm(list, 0);
  const t2 = performance.now();
  opt.apply(clipped.grads, 1e-4);
  tf.dispose([value, ...list]);
  vars[0]!.dataSync();
  const t3 = performance.now();
  console.log(`fwd+bwd ${(t1 - t0).toFixed(0)} ms, norm ${(t2 - t1).toFixed(0)} ms, adamw ${(t3 - t2).toFixed(0)} ms, tensors ${tf.memory().numTensors}`);
}
process.exit(0);
