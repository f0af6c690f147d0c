// Tokenizer parity: our byte-fallback BPE encodes and decodes exactly as llama.cpp does on 1000+ strings.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainSpmVocab } from "../../src/tokenizer/spm.ts";
import { loadTokenizer, spmTokenizer } from "../../src/tokenizer/load.ts";
import { buildTinyModel, TINY_CONFIG } from "../../src/model/tiny.ts";
import { getLlamaCpp } from "../../src/llama-cpp/runtime.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { writeGguf } from "../../src/gguf/writer.ts";
import { trainingText, variedStrings } from "../fixtures/gguf/text.ts";

const dir = mkdtempSync(join(tmpdir(), "tok-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const vocab = trainSpmVocab(trainingText(), { vocabSize: 600 });
const ours = spmTokenizer(vocab);
const modelPath = join(dir, "tiny.gguf");
const cfg = { ...TINY_CONFIG, vocab: vocab.tokens.length, dim: 32, layers: 1, heads: 2, kvHeads: 2, ffn: 32 };

test("vocabulary: specials, 256 byte tokens, learned merges across scripts", () => {
  assert.equal(vocab.tokens.length, 600);
  assert.deepEqual(vocab.tokens.slice(0, 5), ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]);
  assert.equal(vocab.tokens[5], "<0x00>");
  assert.equal(vocab.tokens[260], "<0xFF>");
  assert.ok(vocab.tokens.includes("▁pipeline") || vocab.tokens.includes("pipeline"));
  assert.ok(vocab.tokens.some((t) => /[\u4e00-\u9fff]{2}/.test(t)), "some CJK merge");
  assert.equal(new Set(vocab.tokens).size, vocab.tokens.length, "no duplicate token texts");
  assert.ok(!vocab.tokens.some((t) => /[\r\n\t]/.test(t) && /[^\r\n\t]/.test(t)), "no token spans a line break or tab");
  const prompt = "<|im_start|>user\nWhat is the pipeline?<|im_end|>\n<|im_start|>assistant\n", answer = "The model café 東京.<|im_end|>\n";
  assert.deepEqual([...ours.encode(prompt, { special: true }), ...ours.encode(answer, { special: true })], ours.encode(prompt + answer, { special: true }), "prompt and answer tokenize the same apart as together");
  const again = trainSpmVocab(trainingText(), { vocabSize: 600 });
  assert.deepEqual(again.tokens, vocab.tokens, "deterministic");
});

test("encode/decode equal llama.cpp's on 1200 varied strings (plain and with special tokens)", async () => {
  await buildTinyModel(modelPath, cfg, vocab, { type: "F32" });
  const llama = await getLlamaCpp();
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  try {
    const strings = variedStrings(1200);
    let bytesFallback = 0;
    for (const special of [false, true]) {
      for (const s of special ? strings.slice(0, 300) : strings) {
        const theirs = [...model.tokenize(s, special)] as number[];
        const mine = ours.encode(s, { special });
        assert.deepEqual(mine, theirs, `encode ${JSON.stringify(s)} special=${special}`);
        assert.equal(ours.decode(mine), model.detokenize(theirs as never, false), `decode ${JSON.stringify(s)}`);
        assert.equal(ours.decode(mine, { special: true }), model.detokenize(theirs as never, true), `decode special ${JSON.stringify(s)}`);
        // A literal ▁ in text is a space to SentencePiece (llama.cpp agrees, checked above); elsewhere decode inverts encode.
        if (!special) assert.equal(ours.decode(mine), s.replaceAll("\u2581", " "), "round trip");
        bytesFallback += mine.filter((id) => vocab.types[id] === 6).length;
      }
    }
    assert.ok(bytesFallback > 100, "the strings exercise byte fallback");
    const chat = ours.encode("<|im_start|>user\nhi<|im_end|>", { special: true });
    assert.equal(chat[0], 3);
    assert.equal(chat.at(-1), 4);
    assert.deepEqual(ours.encode("hi", { bos: true }), [vocab.bos, ...ours.encode("hi")]);
  } finally {
    await model.dispose();
  }
});

test("loadTokenizer picks ours for our files; llama.cpp's vocab-only tokenizer agrees", async () => {
  const t = await loadTokenizer(modelPath);
  assert.equal(t.vocabSize, 600);
  assert.equal(t.eot, 4);
  assert.equal(t.tokenText(5), "<0x00>");
  const { llamaCppTokenizer } = await import("../../src/tokenizer/llama-cpp.ts");
  const viaLlama = await llamaCppTokenizer(modelPath, vocab.tokens);
  try {
    for (const s of variedStrings(50, 9)) assert.deepEqual(viaLlama.encode(s, { bos: true }), t.encode(s, { bos: true }));
    assert.equal(viaLlama.bos, 1);
    assert.equal(viaLlama.eos, 2);
    assert.equal(viaLlama.eot, 4);
  } finally {
    await viaLlama.dispose();
  }
});

test("a GGUF that is not ours gets llama.cpp's own tokenizer through loadTokenizer", async () => {
  const src = await openGguf(modelPath);
  const foreign = join(dir, "foreign.gguf");
  const metadata = new Map(src.metadata);
  metadata.delete("docs2model.tokenizer");
  await writeGguf(foreign, { metadata, tensors: src.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, raw: () => src.readTensorRaw(t.name) })) });
  await src.close();
  const t = (await loadTokenizer(foreign)) as Awaited<ReturnType<typeof loadTokenizer>> & { model?: unknown; dispose?: () => Promise<void> };
  try {
    assert.ok(t.model, "backed by a llama.cpp vocab-only model");
    assert.equal(t.vocabSize, 600);
    assert.equal(t.tokenText(300), vocab.tokens[300]);
    for (const s of variedStrings(100, 11)) {
      assert.deepEqual(t.encode(s, { special: true }), ours.encode(s, { special: true }));
      assert.equal(t.decode(ours.encode(s)), ours.decode(ours.encode(s)));
    }
  } finally {
    await t.dispose?.();
  }
});

test("a vocabulary with tokens across word boundaries (whole-text path) also equals llama.cpp", async () => {
  const extra = ["e▁t", "s▁", ".\n", "\n▁", "▁▁t", "d▁"].filter((t) => !vocab.tokens.includes(t));
  const v2 = { ...vocab, tokens: [...vocab.tokens, ...extra], scores: [...vocab.scores, ...extra.map((_, i) => -0.5 - i)], types: [...vocab.types, ...extra.map(() => 1)] };
  const mine = spmTokenizer(v2);
  const p = join(dir, "cross.gguf");
  await buildTinyModel(p, { ...cfg, vocab: v2.tokens.length }, v2);
  const llama = await getLlamaCpp();
  const model = await llama.loadModel({ modelPath: p, vocabOnly: true });
  try {
    let crossing = 0;
    for (const s of variedStrings(300, 5)) {
      const theirs = [...model.tokenize(s, false)] as number[];
      const got = mine.encode(s);
      assert.deepEqual(got, theirs, `encode ${JSON.stringify(s)}`);
      crossing += got.filter((id) => id >= vocab.tokens.length).length;
    }
    assert.ok(crossing > 20, `boundary-crossing tokens used (${crossing})`);
  } finally {
    await model.dispose();
  }
});
