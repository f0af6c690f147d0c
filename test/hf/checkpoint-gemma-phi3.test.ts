// Gemma 2, Gemma 3 and Phi-3 checkpoint folders → GGUF as llama.cpp's convert_hf_to_gguf.py makes them: every
// norm weight w + 1 for Gemma, Phi-3's fused qkv_proj / gate_up_proj as attn_qkv / ffn_up, LongRoPE factors as
// tensors — checked against the checkpoint's values read by hand; llama.cpp runs the converted file and agrees with
// our forward on it; the PEFT adapter (HF module names, fused ones for Phi-3) applied to the checkpoint's own weights
// gives our merged weights; `model info` calls them trainable; the settings llama.cpp would run differently refused.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { mergeToGguf } from "../../src/export/merge.ts";
import { measureParity } from "../../src/export/verify.ts";
import { openGguf } from "../../src/gguf/reader.ts";
import { planCheckpoint } from "../../src/hf/checkpoint.ts";
import { checkpointGguf } from "../../src/hf/convert.ts";
import { checkpointSummary } from "../../src/hf/info.ts";
import { useBackend } from "../../src/kernels/backend.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { loadGgufModel } from "../../src/model/load.ts";
import { Lora } from "../../src/train/lora.ts";
import { writeAdapter } from "../../src/train/trainer-run.ts";
import { writeCheckpoint, type CheckpointKind, type CheckpointOptions } from "../fixtures/hf-checkpoint.ts";
import { hfForward } from "../fixtures/hf-reference-forward.ts";
import { referenceTokenizer } from "../fixtures/hf-tokenizers.ts";
import { checkpointWeights, readSafetensorsByHand } from "../fixtures/safetensors-by-hand.ts";
import { SAMPLE_TEXT } from "../model/fixture.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-ckpt-gp-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** transformers' module → llama.cpp's tensor, per family (gguf-py tensor_mapping.py), written out here. */
const GEMMA: Record<string, string> = {
  "input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm", "pre_feedforward_layernorm": "ffn_norm",
  "post_feedforward_layernorm": "post_ffw_norm", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
  "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
  "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
};
const PHI3: Record<string, string> = {
  "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.qkv_proj": "attn_qkv", "self_attn.o_proj": "attn_output",
  "mlp.gate_up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
};

/** `peft`: also write, merge and check the PEFT adapter and `model info` (once per architecture). */
interface Case { label: string; kind: CheckpointKind; o: CheckpointOptions; folder: string; peft: boolean }
const CASES: Case[] = [
  { label: "gemma2", kind: "gemma2", o: { dtype: "F16", smallTokenizer: SAMPLE_TEXT }, folder: "gemma-2-2b-it", peft: true },
  { label: "gemma3", kind: "gemma3", o: { dtype: "F16", smallTokenizer: SAMPLE_TEXT }, folder: "gemma-3-1b-it", peft: true },
  { label: "gemma3 (BF16)", kind: "gemma3", o: { dtype: "BF16", smallTokenizer: SAMPLE_TEXT, layers: 1 }, folder: "gemma-bf16", peft: false },
  // A folder whose name does not say Phi-3: general.name gains it, so llama.cpp strips after chat tokens as tokenizer.json does.
  { label: "phi3 (4k)", kind: "phi3", o: { dtype: "F16" }, folder: "mini-4k-instruct", peft: true },
  { label: "phi3 (128k, LongRoPE)", kind: "phi3", o: { dtype: "F16", longrope: true }, folder: "Phi-3-mini-128k-instruct", peft: false },
];

const POSITIONS = 128;

for (const c of CASES) {
  test(`${c.label}: converted as the converter does (checked against the safetensors by hand), llama.cpp agrees with our forward, the PEFT adapter merges as ours`, async () => {
    await useBackend("cpu");
    const ck = await writeCheckpoint(c.kind, { ...c.o, dir: join(root, c.folder), dim: 32 });
    const { path } = await checkpointGguf(ck.dir, { cacheDir: join(root, "cache") });
    const hf = checkpointWeights(ck.dir);
    const gemma = c.kind !== "phi3";
    const map = gemma ? GEMMA : PHI3;
    const f = await openGguf(path);
    try {
      // (b) Every tensor from its HF tensor: norms of Gemma + 1 (in f32), the rest value for value, rows unmoved (NEOX rope).
      let checked = 0;
      for (const [key, t] of hf) {
        const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(key);
        const name = m ? `blk.${m[1]}.${map[m[2]!]}.weight` : { "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight" }[key];
        assert.ok(name && f.tensor(name), `${key} → ${name} is in the GGUF`);
        assert.deepEqual(f.tensor(name)!.dims, [...t.shape].reverse(), name);
        const got = await f.readTensorF32(name);
        const shift = gemma && key.endsWith("norm.weight") ? 1 : 0;
        for (let i = 0; i < t.data.length; i++) assert.equal(got[i], Math.fround(t.data[i]! + shift), `${name}[${i}]`);
        checked++;
      }
      assert.equal(f.tensors.length, checked + (c.o.longrope ? 2 : 0), "nothing else but the LongRoPE factors");
      if (gemma) assert.equal(f.tensor("output.weight"), undefined, "Gemma's head is the embedding");
      if (c.kind === "phi3") {
        const [q, d] = [(ck.config.num_attention_heads as number) * 8, ck.config.hidden_size as number];
        assert.deepEqual(f.tensor("blk.0.attn_qkv.weight")!.dims, [d, 3 * q], "q, k and v rows in one matrix");
        assert.deepEqual(f.tensor("blk.0.ffn_up.weight")!.dims, [d, 2 * (ck.config.intermediate_size as number)], "gate rows, then up rows");
        assert.equal(f.meta("phi3.rope.dimension_count"), 8);
        assert.equal(f.meta("phi3.rope.scaling.original_context_length"), 4096);
        assert.match(String(f.meta("general.name")), /phi-?3/i);
      }
      if (c.o.longrope) {
        const rs = ck.config.rope_scaling as { long_factor: number[]; short_factor: number[] };
        assert.deepEqual([...await f.readTensorF32("rope_factors_long.weight")], rs.long_factor.map(Math.fround));
        assert.deepEqual([...await f.readTensorF32("rope_factors_short.weight")], rs.short_factor.map(Math.fround));
        assert.ok(Math.abs(Number(f.meta("phi3.rope.scaling.attn_factor")) - Math.sqrt(1 + Math.log(32) / Math.log(4096))) < 1e-6);
      }
      if (c.kind === "gemma2") {
        assert.deepEqual([f.meta("gemma2.attn_logit_softcapping"), f.meta("gemma2.final_logit_softcapping"), f.meta("gemma2.attention.sliding_window")], [50, 30, 8]);
        assert.equal(f.meta("gemma2.rope.freq_base"), undefined, "the gemma2 converter writes no rope base");
      }
      if (c.kind === "gemma3") {
        assert.deepEqual([f.meta("gemma3.rope.freq_base"), f.meta("gemma3.rope.freq_base_swa"), f.meta("gemma3.attention.sliding_window")], [1e6, 10000, 8]);
        assert.equal(f.meta("gemma3.final_logit_softcapping"), undefined);
      }
      assert.equal(f.meta("tokenizer.ggml.model"), "llama");
    } finally {
      await f.close();
    }

    // (a) Our forward on the converted file is what transformers computes from the checkpoint (a reference written
    // in the test, on the tensors read by hand), past the sliding window; llama.cpp on the file agrees with our forward.
    const { model, config } = await loadGgufModel(path);
    const runner = await openLlamaRunner(path, { contextSize: 256 });
    try {
      const short = [2, 17, 40, 33, 9, 120, 61, 8, 77, 25, 14, 93, 50, 31, 12, 66, 44, 101, 7, 58];
      const ours = tf.tidy(() => model.forward(Int32Array.from(short), 1, short.length));
      const logits = ours.dataSync() as Float32Array;
      ours.dispose();
      const reference = hfForward(ck.config, hf, short);
      let worst = 0, largest = 0;
      reference.forEach((row, t) => row.forEach((x, i) => {
        worst = Math.max(worst, Math.abs(x - logits[t * config.vocab + i]!));
        largest = Math.max(largest, Math.abs(x));
      }));
      console.log(`# ${c.label}: largest logit difference from transformers' forward ${worst.toExponential(2)} (logits up to ${largest.toFixed(1)})`);
      assert.ok(worst <= 1e-3 * Math.max(1, largest), `${c.label}: our forward on the GGUF differs from transformers' by ${worst}`);

      let s = 7;
      const tokens = [2, ...Array.from({ length: POSITIONS - 1 }, () => 6 + ((s = (s * 1103515245 + 12345) % 2 ** 31) % (Math.min(config.vocab, 32000) - 6)))];
      if (c.kind === "phi3") {
        // The name makes llama.cpp strip after the chat tokens, as Phi-3's tokenizer.json marks them (rstrip).
        const files = { tokenizer: JSON.parse(readFileSync(join(ck.dir, "tokenizer.json"), "utf8")), config: {}, source: ck.dir };
        const chat = "<|system|>\nBe brief.<|end|>\n<|user|>\n  Hi there<|end|>\n<|assistant|>\n";
        assert.deepEqual([...runner.model.tokenize(chat, true)], referenceTokenizer(files).encode(chat));
      }
      const p = await measureParity(runner, model, tokens);
      console.log(`# ${c.label}: top-1 ${(100 * p.top1).toFixed(2)}% of ${p.positions} (near ties ${(100 * p.top1Ties).toFixed(2)}%), mean KL ${p.meanKl.toExponential(2)}`);
      // ≥ 99.5% counting near ties (picks within 0.06 nats, which llama.cpp's f16 arithmetic decides either way: a
      // random Phi-3 over 32,064 tokens has many) and mean KL ≤ 1e-4, where a wrong rope, norm or layout gives ≥ 1e-2.
      assert.ok(p.top1Ties >= 0.995 && p.meanKl <= 1e-4, `${c.label}: top-1 ${p.top1}, near ties ${p.top1Ties}, mean KL ${p.meanKl}`);
    } finally {
      await runner.dispose();
      model.dispose();
    }

    if (!c.peft) return;
    // (c) The PEFT adapter: HF module names and shapes, applied to the checkpoint's weights = our merged weights.
    const out = join(root, `${c.folder}-adapter`);
    const lora = new Lora(config, { rank: 4, alpha: 8, dropout: 0, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 3 });
    let seed = 70;
    for (const pr of lora.pairs.values()) pr.b.assign(tf.randomNormal(pr.b.shape, 0, 0.3, "float32", seed++));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await writeAdapter(join(out, "adapter.gguf"), lora, config, path, "test");
    lora.dispose();
    const cfg = JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8"));
    assert.deepEqual(cfg.target_modules, gemma ? ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"] : ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]);
    assert.equal(cfg.base_model_name_or_path, ck.dir, "PEFT loads the base from the checkpoint folder");
    const adapter = readSafetensorsByHand(join(out, "adapter_model.safetensors"));
    const modules = Object.keys(map).filter((k) => k.includes("proj"));
    assert.equal(adapter.size, 2 * modules.length * (ck.config.num_hidden_layers as number));
    await mergeToGguf({ basePath: path, adapterPath: join(out, "adapter.gguf"), outPath: join(out, "merged.gguf"), quant: "f32" });
    const merged = await openGguf(join(out, "merged.gguf"));
    try {
      const scale = cfg.lora_alpha / cfg.r;
      let worst = 0;
      for (let l = 0; l < (ck.config.num_hidden_layers as number); l++) {
        for (const module of modules) {
          const W = hf.get(`model.layers.${l}.${module}.weight`)!;
          const A = adapter.get(`base_model.model.model.layers.${l}.${module}.lora_A.weight`)!;
          const B = adapter.get(`base_model.model.model.layers.${l}.${module}.lora_B.weight`)!;
          const [rows, cols] = W.shape as [number, number];
          assert.deepEqual([A.shape, B.shape], [[4, cols], [rows, 4]], `${module}: lora_A [r, in], lora_B [out, r]`);
          const got = await merged.readTensorF32(`blk.${l}.${map[module]}.weight`);
          for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) {
            let delta = 0;
            for (let k = 0; k < 4; k++) delta += B.data[o * 4 + k]! * A.data[k * cols + i]!;
            worst = Math.max(worst, Math.abs(W.data[o * cols + i]! + scale * delta - got[o * cols + i]!));
          }
        }
      }
      assert.ok(worst < 1e-5, `largest difference from the PEFT merge: ${worst}`);
    } finally {
      await merged.close();
    }

    const info = await checkpointSummary(ck.dir);
    assert.equal(info.trainable, true, info.notTrainableReason);
    assert.equal(info.architecture, c.kind);
  });
}

test("gemma3 with its real tokenizer.json (262,144 pieces): SentencePiece metadata as the converter writes it", async () => {
  const ck = await writeCheckpoint("gemma3", { dir: join(root, "gemma3-real-tok"), dim: 16, layers: 1 });
  const md = (await planCheckpoint(ck.dir)).metadata;
  const tokens = md["tokenizer.ggml.tokens"]!.value as string[];
  assert.equal(tokens.length, 262144);
  assert.equal(md["tokenizer.ggml.model"]!.value, "llama");
  assert.equal(md["tokenizer.ggml.pre"]!.value, "default");
  assert.equal(md["tokenizer.ggml.add_space_prefix"]!.value, false, "Gemma2/3Model: add_add_space_prefix(False)");
  assert.equal(md["tokenizer.ggml.add_bos_token"]!.value, true);
  assert.equal(md["tokenizer.ggml.bos_token_id"]!.value, 2);
  assert.equal(md["tokenizer.ggml.eos_token_id"]!.value, tokens.indexOf("<end_of_turn>"));
  assert.equal(tokens.indexOf("<end_of_turn>"), 106);
  assert.match(md["tokenizer.chat_template"]!.value as string, /<start_of_turn>/);
});

test("what llama.cpp would run differently from transformers is refused by name, before any conversion", async () => {
  const refused = async (kind: CheckpointKind, edit: (c: Record<string, unknown>) => void, message: RegExp) => {
    const ck = await writeCheckpoint(kind, { dir: mkdtempSync(join(root, `refuse-${kind}-`)), dim: 16, layers: kind === "gemma3" ? 6 : 1, ...(kind === "gemma3" ? { smallTokenizer: SAMPLE_TEXT } : {}) });
    edit(ck.config);
    writeFileSync(join(ck.dir, "config.json"), JSON.stringify(ck.config));
    await assert.rejects(planCheckpoint(ck.dir), message);
  };
  await refused("gemma3", (c) => { c.sliding_window_pattern = 4; }, /sliding_window_pattern = 4: llama\.cpp makes every 6th layer global/);
  await refused("gemma3", (c) => { c.layer_types = Array(6).fill("sliding_attention"); }, /layer_types = .*every 6th layer global/);
  await refused("gemma3", (c) => { c.query_pre_attn_scalar = 12; }, /query_pre_attn_scalar = 12: llama\.cpp scales attention by 1\/√head_dim \(16\)/);
  await refused("gemma2", (c) => { c.attn_logit_softcapping = null; }, /attn_logit_softcapping = null: llama\.cpp always soft-caps gemma2/);
  await refused("gemma2", (c) => { c.rope_theta = 500000; }, /rope_theta = 500000: the gemma2 converter writes no rope base/);
  await refused("phi3", (c) => { c.rope_scaling = { type: "yarn", factor: 4 }; }, /rope scaling "yarn" without LongRoPE factors is not converted for phi3 \(microsoft\/Phi-3-mini-4k-instruct has none\)/);
  await refused("phi3", (c) => { c.rope_scaling = { type: "longrope", long_factor: [1, 2, 3], short_factor: [1, 2, 3] }; }, /long_factor and short_factor must each hold 2 values/);
  await refused("gemma3", (c) => { c.architectures = ["Gemma3ForConditionalGeneration"]; }, /Gemma3ForConditionalGeneration is not converted from a checkpoint here .*google\/gemma-3-1b-it converts here/);
});

test("gemma3 rope settings in transformers 4.x (rope_scaling, rope_local_base_freq) and 5.x (rope_parameters per layer type) forms give the same GGUF keys; linear scaling reaches the global layers only", async () => {
  const ck = await writeCheckpoint("gemma3", { dir: join(root, "gemma3-rope"), dim: 16, layers: 6, smallTokenizer: SAMPLE_TEXT });
  const keys = async (edit: (c: Record<string, unknown>) => void) => {
    const c = structuredClone(ck.config);
    edit(c);
    writeFileSync(join(ck.dir, "config.json"), JSON.stringify(c));
    const md = (await planCheckpoint(ck.dir)).metadata;
    return Object.fromEntries(Object.entries(md).filter(([k]) => k.startsWith("gemma3.rope")).map(([k, v]) => [k, v.value]));
  };
  // gemma-3-4b-it's text_config: linear factor 8 on the global layers, base 1e6; local layers base 10000, unscaled.
  const v4 = await keys((c) => { c.rope_scaling = { factor: 8, rope_type: "linear" }; });
  const v5 = await keys((c) => {
    delete c.rope_scaling; delete c.rope_theta; delete c.rope_local_base_freq;
    c.rope_parameters = { full_attention: { rope_type: "linear", factor: 8, rope_theta: 1e6 }, sliding_attention: { rope_type: "default", rope_theta: 10000 } };
  });
  const want = { "gemma3.rope.scaling.type": "linear", "gemma3.rope.scaling.factor": 8, "gemma3.rope.freq_base": 1e6, "gemma3.rope.freq_base_swa": 10000 };
  assert.deepEqual(v4, want);
  assert.deepEqual(v5, want);
  const md = (await planCheckpoint(ck.dir)).metadata;
  const { configFromGguf } = await import("../../src/model/config.ts");
  const { plainValue } = await import("../../src/gguf/reader.ts");
  const config = configFromGguf(Object.fromEntries(Object.entries(md).map(([k, v]) => [k, plainValue(v)])), (await planCheckpoint(ck.dir)).tensors.map((t) => t.name));
  assert.deepEqual([config.ropeScale, config.ropeScaleSwa, config.ropeBase, config.ropeBaseSwa, config.slidingWindow, config.swaPattern], [1 / 8, undefined, 1e6, 10000, 8, 6]);
  assert.deepEqual(await keys(() => {}), { "gemma3.rope.freq_base": 1e6, "gemma3.rope.freq_base_swa": 10000 }, "gemma-3-1b-it: no scaling");
});
