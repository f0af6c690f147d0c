// Real tokenizers (Llama-3, Qwen2.5, Qwen3, Gemma 3 — tokenizer.json as the models ship it) written into GGUF
// metadata by hf/tokenizer-gguf.ts: llama.cpp must then tokenize every string exactly as tokenizer.json does.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { bpePreName, hfTokenizerMetadata, TokenType } from "../../src/hf/tokenizer-gguf.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { llamaCppTokenizer } from "../../src/tokenizer/llama-cpp.ts";
import type { HfTokenizerFiles } from "../../src/hf/tokenizer-gguf.ts";
import { readHfTokenizer, referenceTokenizer, writeVocabModel } from "../fixtures/hf-tokenizers.ts";
import { phi3Tokenizer, smollmTokenizer } from "../fixtures/real-bases.ts";

/** Texts that take the pre-tokenizers' different paths: digits, contractions, whitespace runs, scripts, emoji. */
export const TOKENIZER_PROBES = [
  "The river runs past the old mill.",
  "  leading spaces and trailing  ",
  "Numbers: 1, 12, 123, 1234, 12345 and 3.14159 or 1,000,000.",
  "I'LL say don't, we've, they're — it's fine.",
  "line one\nline two\n\n\ttabbed\r\nwindows",
  "def f(x):\n    return x ** 2  # square\n",
  "日本語のテキストと中文混合, Ελληνικά, русский, العربية",
  "emoji 🙂🚀 and combining é (e\u0301) ﬁ ligature",
  "URL https://example.com/a?b=c&d=e#frag, email a.b@c.de",
  "      ",
  "CamelCaseIdentifier snake_case_name kebab-case-name",
];

const FAMILY: Record<string, { arch: LlamaConfig["arch"]; specials: string; files: () => HfTokenizerFiles }> = {
  llama3: { arch: "llama", specials: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>", files: () => readHfTokenizer("llama3") },
  "qwen2.5": { arch: "qwen2", specials: "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", files: () => readHfTokenizer("qwen2.5") },
  qwen3: { arch: "qwen3", specials: "<|im_start|>assistant\n<think>\nok\n</think>\n\nYes<|im_end|>", files: () => readHfTokenizer("qwen3") },
  gemma3: { arch: "gemma3", specials: "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n", files: () => readHfTokenizer("gemma3") },
  "llama2 (TinyLlama)": { arch: "llama", specials: "<s><|user|>\nHi there</s>\n<|assistant|>", files: () => readHfTokenizer("llama2") },
  "phi3 (Llama-2 + Phi-3 chat tokens)": { arch: "phi3", specials: "<|user|>\nHi there<|end|>\n<|assistant|>\n", files: phi3Tokenizer },
  "SmolLM2-kind byte-level BPE": { arch: "llama", specials: "<|im_start|>user\nHi there 42<|im_end|>\n<|im_start|>assistant\n", files: smollmTokenizer },
};

async function vocabModel(name: string): Promise<string> {
  return writeVocabModel(FAMILY[name]!.files(), FAMILY[name]!.arch, FAMILY[name]!.arch === "phi3" ? "Phi3" : undefined);
}

const disposers: Array<() => Promise<void>> = [];
after(async () => { for (const d of disposers) await d(); });

for (const name of Object.keys(FAMILY)) {
  test(`${name}: llama.cpp tokenizes as tokenizer.json does, plain text and the chat template's special tokens`, async () => {
    const files = FAMILY[name]!.files();
    const ref = referenceTokenizer(files);
    const cpp = await llamaCppTokenizer(await vocabModel(name));
    disposers.push(() => cpp.dispose());
    const texts = [...TOKENIZER_PROBES, ...TOKENIZER_PROBES.map((t) => ` ${t}`)];
    let tokens = 0;
    // Qwen's tokenizer.json normalises to NFC first; llama.cpp has no normaliser (with the real Qwen GGUFs too), so
    // text is compared in NFC for it — the one place the two differ, and the same in training as in Ollama.
    const nfc = files.tokenizer.normalizer?.type === "NFC";
    for (const text of texts) {
      const want = ref.encode(text);
      assert.deepEqual(cpp.encode(nfc ? text.normalize("NFC") : text, { special: true }), want, `${name}: ${JSON.stringify(text)}`);
      // Byte-level BPE round-trips exactly (Qwen normalises to NFC first).
      if (files.tokenizer.pre_tokenizer) assert.equal(cpp.decode(want), nfc ? text.normalize("NFC") : text);
      tokens += want.length;
    }
    assert.ok(tokens > 200, "the probes made tokens");
    const chat = FAMILY[name]!.specials;
    const want = ref.encode(chat);
    assert.deepEqual(cpp.encode(chat, { special: true }), want, `${name} chat: ${JSON.stringify(chat)}`);
    assert.ok(want.length < chat.length / 2, "special tokens are single ids");
  });
}

test("the pre-tokenizer names llama.cpp selects, and an unknown pre-tokenizer refused by name", () => {
  assert.equal(bpePreName(readHfTokenizer("llama3")), "llama-bpe");
  assert.equal(bpePreName(readHfTokenizer("qwen2.5")), "qwen2");
  assert.equal(bpePreName(readHfTokenizer("qwen3")), "qwen2");
  assert.equal(bpePreName(smollmTokenizer()), "smollm");
  const odd = structuredClone(readHfTokenizer("qwen3"));
  odd.tokenizer.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\s+|\\w+";
  assert.throws(() => bpePreName(odd), /would not tokenize this model as tokenizer\.json does: its pre-tokenizer regex .* is not one this converter maps to llama\.cpp's/);
});

test("token types, padding to the embedding's rows, special ids and templates as the converter writes them", () => {
  const q = hfTokenizerMetadata(readHfTokenizer("qwen2.5"), { vocabSize: 151936 });
  const tokens = q["tokenizer.ggml.tokens"]!.value as string[];
  const types = q["tokenizer.ggml.token_type"]!.value as number[];
  assert.equal(tokens.length, 151936, "padded to config.json's vocab_size");
  assert.equal(tokens[151935], "[PAD151935]");
  assert.equal(types[151935], TokenType.UNUSED);
  const imEnd = tokens.indexOf("<|im_end|>");
  assert.equal(types[imEnd], TokenType.CONTROL);
  assert.equal(q["tokenizer.ggml.eos_token_id"]!.value, imEnd);
  assert.equal(q["tokenizer.ggml.padding_token_id"]!.value, tokens.indexOf("<|endoftext|>"));
  assert.equal(q["tokenizer.ggml.add_bos_token"]!.value, false);
  assert.equal(q["tokenizer.ggml.bos_token_id"], undefined, "Qwen has no BOS");
  assert.match(q["tokenizer.chat_template"]!.value as string, /<\|im_start\|>/);
  assert.equal(types[tokens.indexOf("<think>")] ?? TokenType.USER_DEFINED, TokenType.USER_DEFINED);

  const g = hfTokenizerMetadata(readHfTokenizer("gemma3"));
  const gt = g["tokenizer.ggml.tokens"]!.value as string[];
  const gy = g["tokenizer.ggml.token_type"]!.value as number[];
  assert.equal(g["tokenizer.ggml.model"]!.value, "llama");
  assert.equal(gy[gt.indexOf("<0x41>")], TokenType.BYTE);
  assert.equal(gy[gt.indexOf("<unk>")], TokenType.UNKNOWN);
  assert.equal(gy[gt.indexOf("<start_of_turn>")], TokenType.CONTROL);
  assert.equal(g["tokenizer.ggml.add_space_prefix"]!.value, false);
  assert.equal(g["tokenizer.ggml.add_bos_token"]!.value, true);
  assert.equal(g["tokenizer.ggml.bos_token_id"]!.value, gt.indexOf("<bos>"));
});

test("added tokens past config.json's vocab_size are left out as the converter does; a base vocabulary past it is refused", () => {
  const g = hfTokenizerMetadata(readHfTokenizer("gemma3"), { vocabSize: 262144 });
  const tokens = g["tokenizer.ggml.tokens"]!.value as string[];
  assert.equal(tokens.length, 262144);
  assert.ok(!tokens.includes("<image_soft_token>"), "Gemma 3's vision token (id 262144) is not in the text model");
  assert.throws(() => hfTokenizerMetadata(readHfTokenizer("qwen2.5"), { vocabSize: 1000 }), /token id \d+ but config\.json's vocab_size is 1000/);
});
