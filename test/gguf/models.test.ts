// Tiny llama models of every tensor type we write: llama.cpp (node-llama-cpp) loads each and generates.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTinyModel, TINY_CONFIG } from "../../src/model/tiny.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { spmTokenizer } from "../../src/tokenizer/load.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { getLlamaCpp, llamaThreads } from "../../src/llama-cpp/runtime.ts";
import { QUANT_TYPES } from "../../src/gguf/types.ts";
import { trainingText } from "../fixtures/gguf/text.ts";

const dir = mkdtempSync(join(tmpdir(), "models-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const vocab = trainSpmVocab(trainingText(3, 3000), { vocabSize: 320 });
// 256-wide rows so the K-quants apply to every matrix; one layer keeps it fast.
const cfg = { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 256, layers: 1, heads: 4, kvHeads: 2, ffn: 256, ctx: 64 };

for (const type of QUANT_TYPES) {
  test(`tiny llama in ${type}: llama.cpp loads it and generates`, async () => {
    const path = join(dir, `tiny-${type}.gguf`);
    await buildTinyModel(path, cfg, vocab, { type, seed: 5 });
    const f = await openGguf(path);
    assert.equal(f.tensor("blk.0.attn_q.weight")?.type, type);
    assert.equal(f.tensor("blk.0.attn_norm.weight")?.type, "F32");
    assert.deepEqual(f.tensor("blk.0.attn_k.weight")?.dims, [256, 128], "GGUF dims [in, out]");
    await f.close();

    const llama = await getLlamaCpp();
    const model = await llama.loadModel({ modelPath: path });
    try {
      assert.equal(model.fileInfo.metadata.general.architecture, "llama");
      const ctx = await model.createContext({ contextSize: 64, threads: llamaThreads() });
      const seq = ctx.getSequence();
      const prompt = spmTokenizer(vocab).encode("<|im_start|>user\nthe pipeline<|im_end|>", { bos: true, special: true });
      assert.deepEqual([...model.tokenize("<|im_start|>user\nthe pipeline<|im_end|>", true)], prompt.slice(1));
      const out: number[] = [];
      for await (const t of seq.evaluate(prompt as never, { temperature: 0, yieldEogToken: true })) {
        out.push(t);
        if (out.length >= 6) break;
      }
      assert.equal(out.length, 6, "generated 6 tokens");
      for (const t of out) assert.ok(t >= 0 && t < vocab.tokens.length);
      await ctx.dispose();
    } finally {
      await model.dispose();
    }
  });
}

// Bit-exact dequantization of every type against llama.cpp: test/gguf/dequant-llama.test.ts.
