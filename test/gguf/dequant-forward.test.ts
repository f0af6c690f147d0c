// One model whose matrices carry every type we read (two layers: 16 matrices, 15 types), loaded by llama.cpp
// and by our forward (which runs on our dequantized weights): the next-token distributions must agree up to
// what llama.cpp's own rounding of activations explains. (Bit equality of the weights themselves is
// test/gguf/dequant-llama.test.ts; here the whole forward over mixed types is the check.)
// llama.cpp multiplies a quantized weight by activations it first rounds to 8 bits (Q8_0/Q8_K), so its logits
// and an f32 forward differ slightly however exact the weights are: measured here (deterministic), mean KL
// 2.0e-4 nats, top-1 95% and 100% counting near ties. One wrong dequantizer in one of the 16 matrices: IQ4_XS
// scales one step off (3%) gave 4.8e-4, Q5_0 without its 5th bit 0.41 — hence the gate at 3e-4.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyModelSpec, TINY_CONFIG } from "../../src/model/tiny.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { spmTokenizer } from "../../src/tokenizer/load.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { measureParity } from "../../src/export/verify.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { useBackend } from "../../src/kernels/backend.ts";
import { QUANT_TYPES, type WritableTensorType } from "../../src/gguf/types.ts";
import { trainingText } from "../fixtures/gguf/text.ts";

const dir = mkdtempSync(join(tmpdir(), "deq-fwd-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a model with a matrix of every type: llama.cpp's next-token distributions = our forward's on our dequantized weights", async () => {
  const text = trainingText(3, 3000);
  const vocab = trainSpmVocab(text, { vocabSize: 320 });
  const cfg = { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 256, ctx: 128 };
  const spec = tinyModelSpec(cfg, vocab, { seed: 21, std: 0.06 });
  // Most precise types on the embeddings and output, the rest spread over the layers' matrices.
  const order: WritableTensorType[] = ["F32", "F16", ...QUANT_TYPES.filter((t) => t !== "F32" && t !== "F16"), "Q6_K"];
  let k = 0;
  for (const t of spec.tensors) if (t.dims.length > 1) t.type = order[k++ % order.length]!;
  const path = join(dir, "every-type.gguf");
  await writeGguf(path, spec);
  const f = await openGguf(path);
  assert.deepEqual(new Set(f.tensors.filter((t) => t.dims.length > 1).map((t) => t.type)), new Set(QUANT_TYPES));
  await f.close();

  await useBackend("cpu");
  const tokens = [vocab.tokens.indexOf("<s>") >= 0 ? vocab.tokens.indexOf("<s>") : 1, ...spmTokenizer(vocab).encode(text.slice(0, 600))].slice(0, 120);
  const runner = await openLlamaRunner(path, { contextSize: 128 });
  const { model } = await loadGgufModel(path);
  try {
    const s = await measureParity(runner, model, tokens);
    assert.ok(s.positions >= 100, `${s.positions} positions`);
    assert.ok(s.meanKl <= 3e-4, `mean KL ${s.meanKl} (max ${s.maxKl})`);
    assert.ok(s.top1Ties >= 0.99, `top-1 ${s.top1}, counting near ties ${s.top1Ties}`);
  } finally {
    model.dispose();
    await runner.dispose();
  }
});
