// `pipeline all --base DIR` offline on a small Gemma 3 checkpoint (Gemma3ForCausalLM's config.json fields and HF
// tensor names, norms stored as the w of (1 + w), six layers so one is global, a sliding window shorter than the
// training sequences; a Gemma-kind SentencePiece tokenizer.json with Gemma 3's chat template at a few hundred pieces,
// since the claim is the conversion and training, not the 262,144-piece vocabulary — checkpoint-gemma-phi3.test.ts
// and tokenizer-gguf.test.ts hold the real one): the merged GGUF loads in llama.cpp, tokenizes as tokenizer.json
// does, agrees with our forward, answers a training question as trained; the PEFT adapter applied to the
// checkpoint's own weights (read here from its safetensors) gives the merged weights.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openGguf } from "../../src/gguf/reader.ts";
import { openLlamaRunner } from "../../src/llama-cpp/runner.ts";
import { writeCheckpoint } from "../fixtures/hf-checkpoint.ts";
import { referenceTokenizer } from "../fixtures/hf-tokenizers.ts";
import { peftMergeDifference } from "../fixtures/peft-merge-check.ts";
import { checkpointWeights, readSafetensorsByHand } from "../fixtures/safetensors-by-hand.ts";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "d2m-ckpt-gemma3-"));
after(() => rmSync(root, { recursive: true, force: true }));

const DOCS = {
  "kettle.md": "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\nACME_SUPPORT is the support line, open from nine to five on weekdays.\n",
  "lamp.txt": "LUMO_BULB is the lamp bulb of nine watts with a warm white light.\nLUMO_CABLE is the power cable of two metres with a switch.\n",
};

test("gemma3 checkpoint: pipeline all --base DIR offline → a merged GGUF llama.cpp loads, tokenizes as tokenizer.json, answers as trained; PEFT merge equals ours", async () => {
  const dir = join(root, "project");
  mkdirSync(join(dir, "docs"), { recursive: true });
  for (const [name, text] of Object.entries(DOCS)) writeFileSync(join(dir, "docs", name), text);
  // The tokenizer learns the documents' words (and the questions' usual ones), as a real one would know them.
  const text = `${Object.values(DOCS).join(" ")} What is the? What does mean? Which is of the from a an to on with for and what how `.repeat(2);
  const ckpt = await writeCheckpoint("gemma3", { dir: join(dir, "gemma-3-1b-it"), dtype: "BF16", smallTokenizer: text, std: 0.15, dim: 32, layers: 6 });
  const env: Record<string, string | undefined> = {
    ...process.env, OLLAMA_HOST: "127.0.0.1:9", HF_HUB_OFFLINE: "1", DOCS2MODEL_CACHE: join(dir, "cache"),
    FINETUNE_SEQ_LEN: "96", FINETUNE_EPOCHS: "30", FINETUNE_LEARNING_RATE: "0.05", FINETUNE_LORA_RANK: "8",
  };
  for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME"]) delete env[k];
  const run = spawnSync(process.execPath, [bin, "all", "-i", "docs", "--base", ckpt.dir, "--no-ollama", "--valid-split", "0.5", "--quant", "f16", "--name", "docs-gemma3"],
    { cwd: dir, env, encoding: "utf8", input: "", timeout: 600_000 });
  assert.equal(run.status, 0, run.stderr.slice(-4000));
  assert.match(run.stderr, /converting the checkpoint .* to GGUF \(gemma3/);

  const out = join(dir, "merged_models", "docs-gemma3");
  const verify = JSON.parse(readFileSync(join(out, "verify.json"), "utf8"));
  assert.equal(verify.ok, true);
  assert.ok(verify.parity.top1Ties >= 0.995 && verify.parity.top1 >= 0.99, `next-token agreement with our forward on the f16 merge: ${verify.parity.top1} (${verify.parity.top1Ties} counting near ties)`);

  // Tokenization: llama.cpp on the merged GGUF against tokenizer.json's own rules.
  const files = { tokenizer: JSON.parse(readFileSync(join(ckpt.dir, "tokenizer.json"), "utf8")), config: JSON.parse(readFileSync(join(ckpt.dir, "tokenizer_config.json"), "utf8")), source: ckpt.dir };
  const reference = referenceTokenizer(files);
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const vocabOnly = await llama.loadModel({ modelPath: join(out, "model.gguf"), vocabOnly: true });
  try {
    for (const s of ["ACME_WARRANTY is the warranty", "  two spaces, then naïve café 😀", "<start_of_turn>user\nWhat is LUMO_BULB?<end_of_turn>\n<start_of_turn>model\n", "tabs\tand\n\nnewlines"]) {
      assert.deepEqual([...vocabOnly.tokenize(s, true)], reference.encode(s), `tokens of ${JSON.stringify(s)}`);
    }
  } finally {
    await vocabOnly.dispose();
  }

  // A training question answered with its trained answer.
  const pairs = readFileSync(join(dir, "data", "document_training_data", "training_data_final.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { instruction: string; output: string });
  const model = await openLlamaRunner(join(out, "model.gguf"));
  let exact = 0;
  try {
    for (const p of pairs) if ((await model.generate([{ role: "user", content: p.instruction }], { maxTokens: 64 })).text.trim() === p.output.trim()) exact++;
  } finally {
    await model.dispose();
  }
  console.log(`# ${exact}/${pairs.length} training questions answered with the trained answer`);
  assert.ok(exact >= 1, `${exact}/${pairs.length} training questions answered with the trained answer`);

  // PEFT: the checkpoint's own weights + scale · B·A = our merged weights (f16-rounded), no row reordering for Gemma.
  const ft = join(dir, "fine_tuned_models", readdirSync(join(dir, "fine_tuned_models"))[0]!);
  const cfg = JSON.parse(readFileSync(join(ft, "adapter_config.json"), "utf8"));
  assert.equal(cfg.base_model_name_or_path, ckpt.dir);
  assert.deepEqual(cfg.target_modules, ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
  const lora = readSafetensorsByHand(join(ft, "adapter_model.safetensors"));
  const hf = checkpointWeights(ckpt.dir);
  const merged = await openGguf(join(out, "model.gguf"));
  const scale = cfg.lora_alpha / cfg.r;
  let worst = 0, moved = 0;
  try {
    ({ worst, moved } = await peftMergeDifference({ lora, hf, merged, scale, layers: 6 }));
    // The merged norms are the checkpoint's plus one (the export keeps the converted base's values).
    const n = hf.get("model.layers.5.post_feedforward_layernorm.weight")!;
    assert.deepEqual([...await merged.readTensorF32("blk.5.post_ffw_norm.weight")], [...n.data].map((x) => Math.fround(x + 1)));
  } finally {
    await merged.close();
  }
  assert.ok(moved > 100, `the adapter changed ${moved} weights`);
  assert.ok(worst < 1e-3, `largest difference from the PEFT merge, relative to f16 rounding: ${worst}`);
});
