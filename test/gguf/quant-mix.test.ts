// llama.cpp's Q4_K_M / Q5_K_M / Q6_K per-tensor choices (src/gguf/quant-mix.ts), on the layouts of real models.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mixTensorTypes, useMoreBits } from "../../src/gguf/quant-mix.ts";
import { tensorLayout } from "../../src/model/gguf-meta.ts";
import type { LlamaConfig } from "../../src/model/config.ts";

const count = (m: Map<string, string | undefined>) => {
  const c: Record<string, number> = {};
  for (const t of m.values()) c[t ?? "kept"] = (c[t ?? "kept"] ?? 0) + 1;
  return c;
};

test("use_more_bits: the first and last eighth of the layers and every third between", () => {
  assert.deepEqual([...Array(8).keys()].filter((i) => useMoreBits(i, 8)), [0, 3, 6, 7]);
  assert.deepEqual([...Array(24).keys()].filter((i) => useMoreBits(i, 24)), [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
  assert.deepEqual([...Array(16).keys()].filter((i) => useMoreBits(i, 16)), [0, 1, 4, 7, 10, 13, 14, 15]);
});

// qwen2.5:0.5b: 896 wide (not a multiple of 256), 24 layers, FFN 4864 (= 19 · 256), tied embeddings, q/k/v biases.
const qwen05: LlamaConfig = {
  arch: "qwen2", vocab: 151936, dim: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, ffn: 4864,
  normEps: 1e-6, ropeBase: 1e6, ropeStyle: "neox", qkvBias: true, tiedOutput: true, contextLength: 32768,
};

test("qwen2.5:0.5b at Q4_K_M: 132 Q5_0, 13 Q8_0, 12 Q6_K, 12 Q4_K matrices, as the blob Ollama serves", () => {
  const types = mixTensorTypes(tensorLayout(qwen05), "Q4_K_M", 24);
  assert.deepEqual(count(types), { Q5_0: 132, Q8_0: 13, Q6_K: 12, Q4_K: 12, kept: 24 * 5 + 1 });
  assert.equal(types.get("token_embd.weight"), "Q8_0", "tied embeddings take the output's Q6_K, which 896 does not fit");
  assert.equal(types.get("blk.0.attn_v.weight"), "Q8_0", "more-bits layer: Q6_K → Q8_0");
  assert.equal(types.get("blk.3.attn_v.weight"), "Q5_0");
  assert.equal(types.get("blk.0.ffn_down.weight"), "Q6_K", "4864-wide rows fit Q6_K");
  assert.equal(types.get("blk.3.ffn_down.weight"), "Q4_K");
  assert.equal(types.get("blk.5.ffn_down.weight"), "Q6_K");
  assert.equal(types.get("blk.0.attn_q.bias"), undefined, "biases and norms are not quantized");
});

// A llama with untied output and 256-multiple widths (llama3.2:1b-like, shrunk to 8 layers).
const llama: LlamaConfig = {
  arch: "llama", vocab: 1024, dim: 512, layers: 8, heads: 8, kvHeads: 2, headDim: 64, ffn: 1536,
  normEps: 1e-5, ropeBase: 5e5, ropeStyle: "norm", qkvBias: false, tiedOutput: false, contextLength: 4096,
};

test("an untied llama: output Q6_K, token_embd the base type, attn_v and ffn_down Q6_K in layers 0, 3, 6, 7", () => {
  for (const [mix, base] of [["Q4_K_M", "Q4_K"], ["Q5_K_M", "Q5_K"]] as const) {
    const types = mixTensorTypes(tensorLayout(llama), mix, 8);
    assert.equal(types.get("output.weight"), "Q6_K");
    assert.equal(types.get("token_embd.weight"), base);
    for (let l = 0; l < 8; l++) {
      const more = [0, 3, 6, 7].includes(l);
      assert.equal(types.get(`blk.${l}.attn_v.weight`), more ? "Q6_K" : base, `${mix} layer ${l} attn_v`);
      assert.equal(types.get(`blk.${l}.ffn_down.weight`), more ? "Q6_K" : base, `${mix} layer ${l} ffn_down`);
      for (const t of ["attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"]) assert.equal(types.get(`blk.${l}.${t}.weight`), base, `${mix} ${t}`);
      assert.equal(types.get(`blk.${l}.attn_norm.weight`), undefined);
    }
  }
  const q6 = mixTensorTypes(tensorLayout(llama), "Q6_K", 8);
  assert.deepEqual(count(q6), { Q6_K: 8 * 7 + 2, kept: 8 * 2 + 1 });
});

// phi3-mini: fused attn_qkv and gate-up, untied output, 3072 wide (a multiple of 256).
test("phi3-mini at Q4_K_M: attn_qkv Q5_K in every layer (its own rule, not attn_v's), output Q6_K", () => {
  const phi3: LlamaConfig = {
    arch: "phi3", vocab: 32064, dim: 3072, layers: 32, heads: 32, kvHeads: 32, headDim: 96, ffn: 8192,
    normEps: 1e-5, ropeBase: 1e4, ropeStyle: "neox", qkvBias: false, tiedOutput: false, contextLength: 4096, fusedQkv: true, fusedGateUp: true,
  };
  const types = mixTensorTypes(tensorLayout(phi3), "Q4_K_M", 32);
  for (let l = 0; l < 32; l++) assert.equal(types.get(`blk.${l}.attn_qkv.weight`), "Q5_K", `layer ${l}`);
  assert.equal(types.get("output.weight"), "Q6_K");
  assert.equal(types.get("blk.0.ffn_down.weight"), "Q6_K");
  assert.equal(types.get("blk.4.ffn_down.weight"), "Q4_K");
  assert.equal(mixTensorTypes(tensorLayout(phi3), "Q5_K_M", 32).get("blk.9.attn_qkv.weight"), "Q6_K");
});
