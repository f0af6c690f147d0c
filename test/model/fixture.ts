// Builds small random llama-family GGUF files (our writer, our SPM vocabulary) that llama.cpp can load.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGguf } from "../../src/gguf/writer.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { architectureMetadata } from "../../src/model/gguf-meta.ts";
import { randomTensors } from "../../src/model/llama.ts";
import { spmTokenizer, spmVocabMetadata, type Tokenizer } from "../../src/tokenizer/load.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";

export const SAMPLE_TEXT =
  "The river runs past the old mill, and the miller counts the sacks of grain each morning. " +
  "When the rain comes, the water rises and the wheel turns faster; the village hears it all night. " +
  "Children walk along the bank to school, and the teacher asks them what the river carries to the sea.";

export function testConfig(arch: "llama" | "qwen2" | "mistral", vocab: number, over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    arch, vocab, dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 96,
    normEps: arch === "qwen2" ? 1e-6 : 1e-5, ropeBase: arch === "qwen2" ? 1_000_000 : 10_000,
    ropeStyle: arch === "qwen2" ? "neox" : "norm", qkvBias: arch === "qwen2", tiedOutput: arch === "qwen2",
    contextLength: 256, ...over,
  };
}

export interface TestModel { path: string; config: LlamaConfig; tokenizer: Tokenizer }

/** A random model of `arch` written as an f32 GGUF; `std` sets how peaked its predictions are. */
export async function writeTestModel(arch: "llama" | "qwen2" | "mistral", opts: { seed?: number; std?: number; over?: Partial<LlamaConfig> } = {}): Promise<TestModel> {
  const vocab = trainSpmVocab(SAMPLE_TEXT.repeat(3), { vocabSize: 320 });
  const config = testConfig(arch, vocab.tokens.length, opts.over);
  const path = join(mkdtempSync(join(tmpdir(), "d2m-model-")), `${arch}.gguf`);
  const tensors = randomTensors(config, opts.seed ?? 7, opts.std ?? 0.1);
  await writeGguf(path, {
    metadata: { ...architectureMetadata(config, `test-${arch}`), ...spmVocabMetadata(vocab) },
    tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, type: "F32" as const, data: t.data })),
  });
  return { path, config, tokenizer: spmTokenizer(vocab) };
}
