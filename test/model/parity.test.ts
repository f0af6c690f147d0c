// Our tfjs forward pass must pick the same next token as llama.cpp on the same GGUF (≥ 99% of positions).
import assert from "node:assert/strict";
import { test } from "node:test";
import { tf, useBackend } from "../../src/kernels/backend.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { SAMPLE_TEXT, writeTestModel } from "./fixture.ts";

async function llamaCppGreedy(path: string, tokens: number[]): Promise<number[]> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 256, threads: 2, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  try {
    const seq = context.getSequence();
    type Item = Parameters<typeof seq.controlledEvaluate>[0][number];
    const out = await seq.controlledEvaluate(tokens.map((t): Item => [t as Extract<Item, number>, { generateNext: { token: true, options: { temperature: 0 } } }]));
    return out.map((o) => Number(o?.next?.token));
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

for (const arch of ["llama", "qwen2"] as const) {
  test(`next-token choice equals llama.cpp on a ${arch} GGUF (${arch === "qwen2" ? "NEOX rope, q/k/v bias, tied output" : "NORM rope, untied output"}, GQA)`, async () => {
    await useBackend("cpu");
    const fixture = await writeTestModel(arch);
    const tokens = [fixture.tokenizer.bos, ...fixture.tokenizer.encode(SAMPLE_TEXT)];
    const ref = await llamaCppGreedy(fixture.path, tokens);
    const { model } = await loadGgufModel(fixture.path);
    const ours = tf.tidy(() => Array.from(tf.argMax(model.forward(Int32Array.from(tokens), 1, tokens.length), 1).dataSync()));
    model.dispose();
    const same = ours.filter((t, i) => t === ref[i]).length;
    // A model with wrong rope or head mapping agrees on only a few percent of positions.
    assert.ok(tokens.length > 50, "the test text is long enough to exercise rope");
    assert.ok(same / tokens.length >= 0.99, `${arch}: ${same}/${tokens.length} positions agree`);
  });
}
