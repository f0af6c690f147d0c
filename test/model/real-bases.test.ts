// The nine real-base layouts (test/fixtures/real-bases.ts): their tensor types are llama-quantize's, with its
// fallbacks where a width is not a multiple of 256, and one of them — SmolLM2-135M's, with its own kind of tokenizer —
// goes through `pipeline all --base FILE` offline to an exported GGUF whose loss in llama.cpp on the training
// answers is the trainer's. (All nine through `pipeline all`: bench/real-bases.ts, figures in bench/RESULTS.md.)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { tensorLayout } from "../../src/model/gguf-meta.ts";
import { checkGgufFile } from "../../src/model/preflight.ts";
import { realBase, realTensorTypes, REAL_BASES, writeRealBase } from "../fixtures/real-bases.ts";
import { llamaCppLoss } from "../../src/export/answer-loss.ts";

const count = (m: Map<string, string>) => {
  const c: Record<string, number> = {};
  for (const [name, t] of m) if (!name.endsWith("norm.weight") && !name.includes("bias") && name !== "rope_freqs.weight") c[t] = (c[t] ?? 0) + 1;
  return c;
};

test("each layout's matrices carry the types llama-quantize gives the real file", () => {
  const types = (name: string) => realTensorTypes(realBase(name), tensorLayout(realBase(name).config));
  // 128 wide like 896: no K-quant fits a row, so Q4_K → Q5_0, Q6_K → Q8_0; ffn_down's 256-wide rows keep K-quants.
  // Two layers: use_more_bits (integer arithmetic: i >= 7·2/8 = 1) picks layer 1 (attn_v Q6_K → Q8_0, ffn_down Q6_K).
  const q05 = types("qwen2.5:0.5b");
  assert.deepEqual(count(q05), { Q8_0: 2, Q5_0: 11, Q6_K: 1, Q4_K: 1 });
  assert.equal(q05.get("blk.1.attn_v.weight"), "Q8_0");
  assert.equal(q05.get("blk.0.attn_v.weight"), "Q5_0");
  assert.equal(q05.get("blk.0.ffn_down.weight"), "Q4_K");
  assert.equal(q05.get("blk.1.ffn_down.weight"), "Q6_K");
  assert.equal(q05.get("token_embd.weight"), "Q8_0");
  // 256 wide like 1536: real K-quants; the tied table takes the output's Q6_K.
  const q15 = types("qwen2.5:1.5b");
  assert.equal(q15.get("token_embd.weight"), "Q6_K");
  assert.equal(q15.get("blk.1.attn_q.weight"), "Q4_K");
  assert.deepEqual(new Set(types("llama3.2:1b").values()), new Set(["Q8_0", "F32"]));
  assert.equal(types("llama3.2:1b").get("rope_freqs.weight"), "F32");
  assert.deepEqual(new Set(types("smollm2:135m").values()), new Set(["F16", "F32"]));
  const tl = types("tinyllama");
  assert.equal(tl.get("output.weight"), "Q6_K");
  assert.equal(tl.get("blk.0.ffn_up.weight"), "Q4_0");
  const phi = types("phi3-mini");
  assert.equal(phi.get("blk.0.attn_qkv.weight"), "Q5_K");
  assert.equal(phi.get("blk.1.attn_qkv.weight"), "Q5_K");
  assert.equal(phi.get("output.weight"), "Q6_K");
  assert.equal(REAL_BASES.length, 9);
});

const dir = mkdtempSync(join(tmpdir(), "real-base-all-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("smollm2:135m layout: preflight says trainable, `pipeline all --base FILE` exits 0, llama.cpp's loss on the training answers = the trainer's", async () => {
  const b = realBase("smollm2:135m");
  const base = await writeRealBase(b, { dir });
  const pre = await checkGgufFile(base);
  assert.equal(pre.trainable, true, pre.reason);
  mkdirSync(join(dir, "docs"));
  writeFileSync(join(dir, "docs", "kettle.md"), "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\n");
  const env: Record<string, string | undefined> = { ...process.env, OLLAMA_HOST: "127.0.0.1:9", FINETUNE_SEQ_LEN: "256", FINETUNE_EPOCHS: "50", FINETUNE_LEARNING_RATE: "0.01" };
  for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME"]) delete env[k];
  const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
  const run = spawnSync(process.execPath, [bin, "all", "-i", "docs", "--base", base, "--no-ollama", "--valid-split", "0", "--quant", "f16", "--name", "smol"], { cwd: dir, env, encoding: "utf8", input: "", timeout: 600_000 });
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const ft = join(dir, "fine_tuned_models", readdirSync(join(dir, "fine_tuned_models"))[0]!);
  const report = JSON.parse(readFileSync(join(ft, "training_report.json"), "utf8")) as { trainLossAtEnd: number };
  assert.ok(report.trainLossAtEnd < 0.5, `the adapter learned the answers (loss ${report.trainLossAtEnd})`);
  const cpp = await llamaCppLoss(join(dir, "merged_models", "smol", "model.gguf"), join(dir, "data", "document_training_data", "tokens", "train.tokens"));
  assert.ok(cpp.tokens > 20);
  // f16 export of f32 training: equal to a few thousandths of a nat.
  assert.ok(Math.abs(cpp.loss - report.trainLossAtEnd) <= 0.01 + 0.02 * report.trainLossAtEnd, `llama.cpp ${cpp.loss} vs trainer ${report.trainLossAtEnd}`);
});
