// The output head's loss a block of rows at a time (head-loss.ts) equals the whole-logits loss — value and
// gradients — on answer-masked rows, for a tied head (qwen2), an untied one (llama), gemma3's soft-capped
// logits, and an untied head trained in full.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { fusedOps, useFusedOps } from "../../src/kernels/fused-ops.ts";
import type { Batch } from "../../src/model/llama.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { Lora } from "../../src/train/lora.ts";
import { writeArchModel, randomTokens } from "./arch-fixture.ts";
import { writeTestModel } from "./fixture.ts";

/** Two rows of 24 tokens; loss only on an "answer" span of each row, as qa-train masks. */
function maskedBatch(vocab: number): Batch {
  const seq = 24, batch = 2;
  const ids = randomTokens(batch * (seq + 1), 9).map((t) => t % vocab);
  const inputs = new Int32Array(batch * seq), targets = new Int32Array(batch * seq), weights = new Float32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seq; i++) {
      inputs[b * seq + i] = ids[b * (seq + 1) + i]!;
      targets[b * seq + i] = ids[b * (seq + 1) + i + 1]!;
      weights[b * seq + i] = i >= 10 + 3 * b && i < 20 ? 1 : 0;
    }
  }
  return { batch, seq, inputs, targets, weights };
}

async function compare(path: string, opts: { trainable?: boolean; noFused?: boolean } = {}): Promise<void> {
  await useBackend("cpu");
  // Where the native addon is built, useBackend installs its fused cross-entropy; noFused checks the tfjs path too.
  const installed = fusedOps();
  if (opts.noFused) useFusedOps(undefined);
  try { await compareOn(path, opts); } finally { useFusedOps(installed); }
}

async function compareOn(path: string, opts: { trainable?: boolean }): Promise<void> {
  const { model, config } = await loadGgufModel(path, { trainable: opts.trainable ?? false });
  const lora = opts.trainable ? undefined : new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "v", "down"], seed: 2 });
  if (lora) { let s = 3; for (const p of lora.pairs.values()) p.b.assign(tf.randomNormal(p.b.shape, 0, 0.2, "float32", s++)); }
  const vars = lora ? lora.variables() : model.variables();
  const b = maskedBatch(config.vocab);
  const run = (headBudgetBytes: number) => {
    const { value, grads } = tf.variableGrads(() => model.loss(b, { hook: lora, training: true, headBudgetBytes }), vars);
    const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync() as Float32Array])) };
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    return out;
  };
  const whole = run(1e12);
  const blocked = run(config.vocab * 4 * 3); // 3 rows a block: uneven last block
  assert.ok(Math.abs(whole.loss - blocked.loss) < 1e-5 * Math.max(1, whole.loss), `loss ${whole.loss} vs ${blocked.loss}`);
  let worst = 0, scale = 0;
  for (const [k, g] of Object.entries(whole.grads)) {
    const h = blocked.grads[k]!;
    for (let i = 0; i < g.length; i++) { worst = Math.max(worst, Math.abs(g[i]! - h[i]!)); scale = Math.max(scale, Math.abs(g[i]!)); }
  }
  assert.ok(scale > 0, "gradients flow");
  assert.ok(worst <= 1e-4 * scale, `largest gradient difference ${worst} (largest gradient ${scale})`);
  model.dispose();
  lora?.dispose();
}

test("blocked head loss = whole logits, LoRA gradients: tied head (qwen2)", async () => compare((await writeTestModel("qwen2", { std: 0.2 })).path));
test("blocked head loss = whole logits, LoRA gradients: untied head (llama)", async () => compare((await writeTestModel("llama", { std: 0.2 })).path));
test("blocked head loss = whole logits, LoRA gradients: gemma3 soft-capped logits", async () => compare((await writeArchModel("gemma3")).path));
test("blocked head loss = whole logits, full training of an untied head (output.weight's gradient too)", async () => compare((await writeTestModel("llama", { std: 0.2 })).path, { trainable: true }));
test("blocked head loss = whole logits on the tfjs cross-entropy (no fused kernel): gemma3 soft-capped logits", async () => compare((await writeArchModel("gemma3")).path, { noFused: true }));
