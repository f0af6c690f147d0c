// LoRA on the new architectures (llama3 rope factors, qwen3, gemma3, gemma2, phi3, phi4-mini): a few steps lower the loss, and the adapter
// we write runs in llama.cpp on the f16 base with the same next tokens as our model with the adapter.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { useBackend } from "../../src/kernels/backend.ts";
import { measureParity } from "../../src/export/verify.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { Lora } from "../../src/train/lora.ts";
import { packExamples } from "../../src/train/qa-train-pack.ts";
import { Trainer, type TrainOptions } from "../../src/train/trainer.ts";
import { writeAdapter } from "../../src/train/trainer-run.ts";
import { randomTokens, VOCAB, writeArchModel, type ArchCase } from "../model/arch-fixture.ts";

for (const kind of ["llama3", "qwen3", "gemma3", "gemma2", "phi3", "phi4-mini"] as ArchCase[]) {
  test(`${kind}: LoRA steps lower the loss; llama.cpp runs the adapter as we do`, async () => {
    await useBackend("cpu");
    const base = await writeArchModel(kind);
    const { model, config } = await loadGgufModel(base.path);
    // Four "answers" to learn by heart, each after a short prompt that carries no loss.
    const examples = [1, 2, 3, 4].map((s) => ({ tokens: randomTokens(40, 100 + s), lossFrom: 8 }));
    const { rows } = packExamples(examples, 64, VOCAB.eos);
    const lora = new Lora(config, { rank: 8, alpha: 16, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 2 });
    const opts: TrainOptions = { epochs: 8, lr: 1e-2, batch: 4, gradAccum: 1, warmupSteps: 0, maxGradNorm: 1, weightDecay: 0, evalEvery: 0, seed: 1 };
    const trainer = new Trainer(model, lora, rows, undefined, opts);
    const losses: number[] = [];
    await trainer.run({ onStep: (p) => { losses.push(p.loss); } });
    console.log(`# ${kind}: loss ${losses[0]!.toFixed(3)} → ${losses.at(-1)!.toFixed(3)} in ${losses.length} steps`);
    assert.ok(losses.at(-1)! < 0.7 * losses[0]!, `${kind}: loss ${losses[0]} → ${losses.at(-1)}`);

    const adapter = join(mkdtempSync(join(tmpdir(), "d2m-arch-lora-")), "adapter.gguf");
    await writeAdapter(adapter, lora, config, base.path);
    // The PEFT twin names the same modules as transformers does (Phi-3: fused qkv_proj and gate_up_proj).
    const peft = JSON.parse(readFileSync(join(dirname(adapter), "adapter_config.json"), "utf8")) as { target_modules: string[] };
    assert.deepEqual(peft.target_modules, config.fusedQkv ? ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"] : ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    const runner = await openLlamaRunner(base.path, { lora: adapter, contextSize: 512 });
    try {
      const s = await measureParity(runner, { forward: (t, b, n) => model.forward(t, b, n, { hook: lora }) }, randomTokens(120, 7));
      console.log(`# ${kind} + adapter: top-1 ${(100 * s.top1).toFixed(2)}% of ${s.positions}, mean KL ${s.meanKl.toExponential(2)}`);
      assert.ok(s.top1 >= 0.98 && s.meanKl < 1e-3, `${kind} + adapter: top-1 ${s.top1}, KL ${s.meanKl}`);
    } finally {
      await runner.dispose();
      trainer.dispose();
      lora.dispose();
      model.dispose();
    }
  });
}
