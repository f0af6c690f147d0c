// GGUF metadata that describes a LlamaConfig the way llama.cpp expects to read it back.
import type { GgufValue } from "../gguf/types.ts";
import type { LlamaConfig } from "./config.ts";

export function architectureMetadata(c: LlamaConfig, name: string): Record<string, GgufValue> {
  const a = c.arch;
  const u32 = (value: number): GgufValue => ({ type: "u32", value });
  const f32 = (value: number): GgufValue => ({ type: "f32", value });
  return {
    "general.architecture": { type: "string", value: a },
    "general.name": { type: "string", value: name },
    "general.file_type": u32(0),
    [`${a}.vocab_size`]: u32(c.vocab),
    [`${a}.context_length`]: u32(c.contextLength),
    [`${a}.embedding_length`]: u32(c.dim),
    [`${a}.block_count`]: u32(c.layers),
    [`${a}.feed_forward_length`]: u32(c.ffn),
    [`${a}.attention.head_count`]: u32(c.heads),
    [`${a}.attention.head_count_kv`]: u32(c.kvHeads),
    [`${a}.attention.key_length`]: u32(c.headDim),
    [`${a}.attention.value_length`]: u32(c.headDim),
    [`${a}.attention.layer_norm_rms_epsilon`]: f32(c.normEps),
    [`${a}.rope.freq_base`]: f32(c.ropeBase),
    [`${a}.rope.dimension_count`]: u32(c.headDim),
  };
}
