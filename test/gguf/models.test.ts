// Tiny llama models of every tensor type we write: llama.cpp (node-llama-cpp) loads each and generates.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTinyModel, tinyModelSpec, TINY_CONFIG } from "../../src/model/tiny.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
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

// llama.cpp as referee for dequantization: with the attention and MLP outputs zeroed, the hidden state of
// a token is its embedding row, and llama.cpp's embedding is that row after RMSNorm (output_norm = 1).
for (const type of QUANT_TYPES) {
  test(`${type}: llama.cpp reads token_embd rows as our dequantizer does`, async () => {
    const path = join(dir, `emb-${type}.gguf`);
    const spec = tinyModelSpec(cfg, vocab, { type, seed: 9, std: 1 });
    for (const t of spec.tensors) if (/attn_output|ffn_down/.test(t.name)) t.data = new Float32Array(t.dims[0]! * t.dims[1]!);
    await writeGguf(path, spec);
    const f = await openGguf(path);
    const table = await f.readTensorF32("token_embd.weight");
    await f.close();
    const llama = await getLlamaCpp();
    const model = await llama.loadModel({ modelPath: path });
    const ctx = await model.createEmbeddingContext({ contextSize: 64, threads: llamaThreads() });
    try {
      for (const id of [5, 77, 260, vocab.tokens.length - 1]) {
        const got = (await ctx.getEmbeddingFor([id] as never)).vector;
        const row = table.subarray(id * cfg.dim, (id + 1) * cfg.dim);
        const rms = Math.sqrt(row.reduce((a, x) => a + x * x, 0) / cfg.dim + cfg.normEps);
        for (let i = 0; i < cfg.dim; i++) {
          const want = row[i]! / rms;
          assert.ok(Math.abs(got[i]! - want) <= 1e-4 * (1 + Math.abs(want)), `${type} token ${id} [${i}]: llama.cpp ${got[i]} vs ours ${want}`);
        }
      }
    } finally {
      await ctx.dispose();
      await model.dispose();
    }
  });
}
