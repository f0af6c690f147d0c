// One tokenizer interface for every model: our byte-fallback BPE for `tiny`, llama.cpp's own for the rest.
//
// CONTRACT:
//   interface Tokenizer {
//     encode(text, { bos?: boolean = false, special?: boolean = false }): number[]
//         special: true → control-token texts such as "<|im_start|>" become their ids (chat templates);
//         false → they are ordinary text. Equals node-llama-cpp model.tokenize(text, special).
//     decode(ids, { special?: boolean = false }): string   — control tokens are "" unless special.
//     bos, eos, eot?, vocabSize, tokenText(id)              — tokenText is the raw vocab entry ("▁the", "<0x0A>")
//   }
//   loadTokenizer(ggufPath) → Tokenizer: files we built carry "docs2model.tokenizer" = "spm-bytefallback"
//   and get the pure-TS SpmTokenizer (exactly llama.cpp's result, tested on 1000+ strings);
//   any other GGUF gets llama.cpp's tokenizer through a vocab-only load.
//   spmFromGguf(file) / spmVocabMetadata(vocab) convert between SpmVocab and GGUF metadata.
import { PipelineError } from "../errors.ts";
import { openGguf } from "../gguf/reader.ts";
import type { GgufFile, GgufValue } from "../gguf/types.ts";
import { SpmTokenizer, type SpmVocab } from "./spm.ts";
import type { Tokenizer } from "./types.ts";

export type { Tokenizer };

export const OUR_TOKENIZER_KEY = "docs2model.tokenizer";
export const OUR_TOKENIZER_KIND = "spm-bytefallback";

/** The tokenizer.* metadata llama.cpp needs for an SpmVocab (llama/SentencePiece model, byte fallback). */
export function spmVocabMetadata(v: SpmVocab): Record<string, GgufValue> {
  const md: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: v.tokens },
    "tokenizer.ggml.scores": { type: "array", itemType: "f32", value: v.scores },
    "tokenizer.ggml.token_type": { type: "array", itemType: "i32", value: v.types },
    "tokenizer.ggml.bos_token_id": { type: "u32", value: v.bos },
    "tokenizer.ggml.eos_token_id": { type: "u32", value: v.eos },
    "tokenizer.ggml.unknown_token_id": { type: "u32", value: v.unk },
    "tokenizer.ggml.padding_token_id": { type: "u32", value: v.eos },
    "tokenizer.ggml.add_bos_token": { type: "bool", value: true },
    "tokenizer.ggml.add_eos_token": { type: "bool", value: false },
    "tokenizer.ggml.add_space_prefix": { type: "bool", value: v.addSpacePrefix },
    [OUR_TOKENIZER_KEY]: { type: "string", value: OUR_TOKENIZER_KIND },
  };
  if (v.eot !== undefined) md["tokenizer.ggml.eot_token_id"] = { type: "u32", value: v.eot };
  return md;
}

/** Rebuild an SpmVocab from a GGUF's tokenizer metadata. */
export function spmFromGguf(f: GgufFile): SpmVocab {
  const tokens = f.meta<string[]>("tokenizer.ggml.tokens");
  const scores = f.meta<number[]>("tokenizer.ggml.scores");
  const types = f.meta<number[]>("tokenizer.ggml.token_type");
  if (!tokens || !scores || !types) throw new PipelineError("E_MODEL", "model has no SentencePiece vocabulary (tokenizer.ggml.tokens/scores/token_type)", { file: f.path });
  const eot = f.meta<number>("tokenizer.ggml.eot_token_id");
  return {
    tokens, scores, types,
    bos: f.meta<number>("tokenizer.ggml.bos_token_id") ?? 1,
    eos: f.meta<number>("tokenizer.ggml.eos_token_id") ?? 2,
    unk: f.meta<number>("tokenizer.ggml.unknown_token_id") ?? 0,
    eot,
    addSpacePrefix: f.meta<boolean>("tokenizer.ggml.add_space_prefix") ?? true,
  };
}

export function spmTokenizer(v: SpmVocab): Tokenizer {
  const t = new SpmTokenizer(v);
  return {
    bos: v.bos,
    eos: v.eos,
    eot: v.eot,
    vocabSize: v.tokens.length,
    encode: (text, opts) => t.encode(text, opts),
    decode: (ids, opts) => t.decode(ids, opts),
    tokenText: (id) => t.tokenText(id),
  };
}

/** The right tokenizer for a GGUF file (see the contract above). */
export async function loadTokenizer(ggufPath: string): Promise<Tokenizer> {
  const f = await openGguf(ggufPath);
  try {
    if (f.meta<string>(OUR_TOKENIZER_KEY) === OUR_TOKENIZER_KIND) return spmTokenizer(spmFromGguf(f));
    const { llamaCppTokenizer } = await import("./llama-cpp.ts");
    return await llamaCppTokenizer(ggufPath, f.meta<string[]>("tokenizer.ggml.tokens"));
  } finally {
    await f.close();
  }
}
