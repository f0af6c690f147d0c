// A tiny llama base (our tokenizer, seeded weights) and a random LoRA adapter for it, in llama.cpp's adapter layout.
import { join } from "node:path";
import { writeGguf, type GgufTensorInput } from "../../src/gguf/writer.ts";
import type { GgufValue } from "../../src/gguf/types.ts";
import { llamaTensorShapes, tinyModelSpec, seededNormal, TINY_CONFIG, type TinyConfig as LlamaConfig } from "../../src/model/tiny.ts";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";

export const FIXTURE_TEXT =
  "The warranty lasts two years from the date of purchase. Returns are accepted within thirty days. " +
  "The seller pays shipping for returns. Support answers email within one business day. " +
  "The device charges in two hours and runs for ten hours on a full battery.";

export interface TinyLoraFixture { base: string; adapter: string; config: LlamaConfig }

export async function writeTinyLoraFixture(dir: string, opts: { rank?: number; alpha?: number; std?: number; seed?: number; baseMetadata?: Record<string, GgufValue | string> } = {}): Promise<TinyLoraFixture> {
  const vocab = trainSpmVocab(FIXTURE_TEXT.repeat(4), { vocabSize: 384 });
  const config: LlamaConfig = { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 64, layers: 2, heads: 4, kvHeads: 4, ffn: 128, ctx: 256 };
  const base = join(dir, "base.gguf");
  // A larger std than the default makes greedy choices decisive, so a LoRA visibly changes them.
  const spec = tinyModelSpec(config, vocab, { type: "F32", seed: opts.seed ?? 3, std: 0.08 });
  await writeGguf(base, { ...spec, metadata: { ...spec.metadata, ...opts.baseMetadata } });
  const rank = opts.rank ?? 4;
  const rnd = seededNormal(opts.seed ?? 11);
  const tensors: GgufTensorInput[] = [];
  for (const { name, dims } of llamaTensorShapes(config)) {
    if (!/\.(attn_q|attn_v|ffn_up)\.weight$/.test(name)) continue;
    const [inDim, outDim] = dims as [number, number];
    const fill = (n: number) => Float32Array.from({ length: n }, () => rnd() * (opts.std ?? 0.15));
    tensors.push({ name: `${name}.lora_a`, dims: [inDim, rank], type: "F32", data: fill(inDim * rank) });
    tensors.push({ name: `${name}.lora_b`, dims: [rank, outDim], type: "F32", data: fill(rank * outDim) });
  }
  const adapter = join(dir, "adapter.gguf");
  await writeGguf(adapter, {
    metadata: { "general.architecture": "llama", "general.type": "adapter", "adapter.type": "lora", "adapter.lora.alpha": { type: "f32", value: opts.alpha ?? 8 } },
    tensors,
  });
  return { base, adapter, config };
}
