// llama.cpp as referee for dequantization, bit for bit, for every tensor type we read. llama.cpp fetches
// token embeddings with get_rows, which runs ggml's dequantize_row_* on the stored row. With attn_output
// and ffn_down zero, the final hidden state of a token is that row, and llama.cpp's embedding output is
// rms_norm(row) · output_norm (= 1). We repeat that norm in float32 exactly as ggml computes it, so every
// value must match exactly: one dequantized value off by one ulp fails the test.
// (Logits are not the referee: llama.cpp multiplies quantized weights by activations it quantizes to
// Q8_0/Q8_K first, so its logits differ from any f32 forward by ~1e-2 however exact the weights are.)
// The table's first rows are our quantizer's output for Gaussian values; the rest are random bytes with
// random (finite) half scales, so bit patterns ggml's quantizer never writes — negative mins, any scale
// bits, any 5th/6th bits — are read too.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyModelSpec, TINY_CONFIG, seededNormal } from "../../src/model/tiny.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { quantize } from "../../src/gguf/quant.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { getLlamaCpp, llamaThreads } from "../../src/llama-cpp/runtime.ts";
import { GGML_BLOCK, QUANT_TYPES, type WritableTensorType } from "../../src/gguf/types.ts";
import { mulberry32 } from "../../src/random.ts";
import { trainingText } from "../fixtures/gguf/text.ts";

const dir = mkdtempSync(join(tmpdir(), "deq-llama-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const vocab = trainSpmVocab(trainingText(3, 3000), { vocabSize: 320 });
// 256-wide rows: one K super-block or eight 32-blocks per token; one layer keeps the load fast.
const cfg = { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 256, layers: 1, heads: 4, kvHeads: 2, ffn: 256, ctx: 64 };
const QUANTIZED_ROWS = 64;
// Rows llama.cpp is asked for: quantizer rows and random-byte rows, spread over the table.
const ROWS = [0, 1, 7, 31, 40, 63, 64, 65, 99, 128, 160, 200, 233, 256, 290, cfg.vocab - 2, cfg.vocab - 1];

/** Byte offsets of the f16 scales in each block type's block (ggml-common.h). */
const HALF_FIELDS: Partial<Record<WritableTensorType, number[]>> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208],
  IQ4_NL: [0], IQ4_XS: [0],
};

/** token_embd bytes: our quantizer on N(0,1) rows, then random bytes with scales ±2⁻⁶ … ±2² (random mantissa). */
function embeddingBytes(type: WritableTensorType, seed: number): Uint8Array {
  const n = cfg.dim * cfg.vocab;
  const normal = seededNormal(seed);
  const x = new Float32Array(n).map(() => normal());
  const bytes = quantize(type, x);
  const halves = HALF_FIELDS[type];
  if (!halves) return bytes; // F32/F16/BF16: every value came from the quantizer
  const [be, bb] = GGML_BLOCK[type];
  const rnd = mulberry32(seed + 1);
  for (let o = (QUANTIZED_ROWS * cfg.dim / be) * bb; o < bytes.length; o += bb) {
    for (let j = 0; j < bb; j++) bytes[o + j] = Math.floor(rnd() * 256);
    for (const h of halves) {
      const bits = (rnd() < 0.5 ? 0x8000 : 0) | ((9 + Math.floor(rnd() * 9)) << 10) | Math.floor(rnd() * 1024);
      bytes[o + h] = bits & 0xff;
      bytes[o + h + 1] = bits >> 8;
    }
  }
  return bytes;
}

/** ggml's rms_norm on the CPU: squares in float summed in double, mean and scale in float, y = x·scale. */
function ggmlRmsNorm(row: Float32Array, eps: number): Float32Array {
  const f = Math.fround;
  let sum = 0;
  for (const v of row) sum += f(v * v);
  const scale = f(1 / f(Math.sqrt(f(f(sum / row.length) + f(eps)))));
  return row.map((v) => f(v * scale));
}

for (const type of QUANT_TYPES) {
  test(`${type}: llama.cpp's dequantized token_embd rows equal ours bit for bit`, async () => {
    const path = join(dir, `deq-${type}.gguf`);
    const spec = tinyModelSpec(cfg, vocab, { type, seed: 11 });
    for (const t of spec.tensors) {
      if (t.name === "token_embd.weight") { t.data = undefined; t.raw = embeddingBytes(type, 3); }
      if (/attn_output|ffn_down/.test(t.name)) t.data = new Float32Array(t.dims[0]! * t.dims[1]!);
    }
    await writeGguf(path, spec);
    const f = await openGguf(path);
    assert.equal(f.tensor("token_embd.weight")?.type, type);
    const table = await f.readTensorF32("token_embd.weight");
    await f.close();

    const llama = await getLlamaCpp();
    const model = await llama.loadModel({ modelPath: path });
    const ctx = await model.createEmbeddingContext({ contextSize: 64, threads: llamaThreads() });
    try {
      for (const id of ROWS) {
        const got = (await ctx.getEmbeddingFor([id] as never)).vector;
        const want = ggmlRmsNorm(table.subarray(id * cfg.dim, (id + 1) * cfg.dim), cfg.normEps);
        assert.equal(got.length, cfg.dim);
        const bad = [...want.keys()].filter((i) => got[i] !== want[i]);
        assert.equal(bad.length, 0, `${type} token ${id}: ${bad.length} values differ, first [${bad[0]}] llama.cpp ${got[bad[0]!]} vs ours ${want[bad[0]!]}`);
      }
    } finally {
      await ctx.dispose();
      await model.dispose();
    }
  });
}
