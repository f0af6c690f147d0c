// Answer masking under each family's real chat template and real tokenizer (Llama-3 headers, Qwen2.5 and Qwen3
// <|im_start|>, Gemma 3 <start_of_turn>): the tokens that carry loss are exactly the answer and its end-of-turn
// token, and prompt + answer tokens are what llama.cpp makes of the whole rendered conversation (what the model
// sees when Ollama runs it).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { chatTemplateOf } from "../../src/chat/template.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { llamaCppTokenizer } from "../../src/tokenizer/llama-cpp.ts";
import { tokenizeConversation } from "../../src/train/qa-train.ts";
import { readHfTokenizer, writeVocabModel, type HfTokenizerName } from "../fixtures/hf-tokenizers.ts";

const CASES: Array<{ name: HfTokenizerName; arch: LlamaConfig["arch"]; end: string; eos?: string }> = [
  // Llama-3.2 Instruct's config names <|eot_id|> as eos; the package ships Llama-3's base config.
  { name: "llama3", arch: "llama", end: "<|eot_id|>", eos: "<|eot_id|>" },
  { name: "qwen2.5", arch: "qwen2", end: "<|im_end|>" },
  { name: "qwen3", arch: "qwen3", end: "<|im_end|>" },
  { name: "gemma3", arch: "gemma3", end: "<end_of_turn>" },
];

const disposers: Array<() => Promise<void>> = [];
after(async () => { for (const d of disposers) await d(); });

for (const c of CASES) {
  test(`${c.name}: loss on exactly the answer and ${c.end}, single- and multi-turn, as llama.cpp tokenizes the whole`, async () => {
    const files = readHfTokenizer(c.name);
    const path = await writeVocabModel(c.eos ? { ...files, config: { ...files.config, eos_token: c.eos } } : files, c.arch);
    const tok = await llamaCppTokenizer(path);
    disposers.push(() => tok.dispose());
    const f = await openGguf(path);
    const info = chatTemplateOf(f);
    const addBos = f.meta<boolean>("tokenizer.ggml.add_bos_token") ?? true;
    await f.close();
    const answer = "The warranty lasts two years, from 1 March 2024 (see §3).";
    const single = tokenizeConversation(tok, info, [{ role: "system", content: "Answer from the manual." }, { role: "user", content: "How long is the warranty?" }, { role: "assistant", content: answer }], addBos);
    const lossText = tok.decode(single.tokens.slice(single.lossFrom), { special: true });
    // Qwen3's template writes an answer without reasoning as an empty <think> block before it: the model learns
    // to answer without thinking, as its template says a non-reasoning answer looks.
    const think = c.name === "qwen3" ? "<think>\n\n</think>\n\n" : "";
    assert.equal(lossText, `${think}${answer}${c.end}`, `${c.name}: loss tokens decode to ${JSON.stringify(lossText)}`);
    // The same tokens as llama.cpp's tokenization of the whole rendered text: training sees what inference sees.
    const whole = tok.decode(single.tokens, { special: true });
    assert.deepEqual(single.tokens, tok.encode(whole, { special: true, bos: false }).slice(0, single.tokens.length));

    const turns = [
      { role: "user" as const, content: "What is ACME_RETURNS?" }, { role: "assistant" as const, content: "The return window of thirty days." },
      { role: "user" as const, content: "From when?" }, { role: "assistant" as const, content: "From delivery." },
    ];
    const multi = tokenizeConversation(tok, info, turns, addBos);
    const spans = multi.lossSpans ?? [[multi.lossFrom, multi.tokens.length]];
    const texts = spans.map(([s, e]) => tok.decode(multi.tokens.slice(s, e), { special: true }));
    // Qwen3's template rewrites earlier turns, so only its last turn carries loss (as the model sees it at inference).
    const want = c.name === "qwen3" ? [`${think}From delivery.`] : ["The return window of thirty days.", "From delivery."];
    assert.deepEqual(texts, want.map((t) => `${t}${c.end}`));
  });
}
