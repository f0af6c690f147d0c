// format --for <trainer>: for each target, the layout written from sample pairs is checked against that
// trainer's documented loader rules — file names, field names, roles, config keys (only keys its docs define).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parse } from "yaml";
import { loadSettings } from "../../src/config.ts";
import type { ScoredRecord } from "../../src/records.ts";
import { millPairs } from "../fixtures/mill-pairs.ts";
import { runFormatFor } from "../../src/steps/format-for.ts";
import { checkOpenaiExamples } from "../../src/sinks/trainers/openai.ts";
import { BASE_PLACEHOLDER } from "../../src/sinks/trainers/targets.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-format-for-"));
after(() => rmSync(root, { recursive: true, force: true }));

const SYSTEM = "Answer from the mill records.";
const pairs = (n: number): ScoredRecord[] => millPairs(n);
async function* records(n: number) { yield* pairs(n); }
const settings = loadSettings({ flags: { finetuneLoraRank: 16, finetuneEpochs: 2, finetuneLearningRate: 1e-4, finetuneSeqLen: 1024, finetuneModelName: "tiny" } });
const options = { threshold: 7, keepDuplicates: false, validFraction: 0.3, system: SYSTEM };
const BASE = "Qwen/Qwen2.5-0.5B-Instruct";
const jsonl = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

async function write(target: Parameters<typeof runFormatFor>[1]["target"], n = 20, baseModel: string | null = BASE) {
  const outDir = join(root, `${target}-${n}`);
  // runFormatFor reads its input through readRecords; the test hands it the scored records as a file.
  const input = join(root, `scored-${n}.ndjson`);
  if (!existsSync(input)) await import("node:fs/promises").then((fs) => fs.writeFile(input, pairs(n).map((p) => JSON.stringify(p)).join("\n") + "\n"));
  const r = await runFormatFor(settings, { target, input, outDir, options, ...(baseModel ? { baseModel } : {}) });
  return { outDir, r };
}

/** Every chat example: a messages list of {role, content}, system first when present, ending with the assistant. */
function checkMessages(lines: Array<Record<string, unknown>>): void {
  assert.ok(lines.length > 0);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ["messages"]);
    const m = l.messages as Array<{ role: string; content: string }>;
    assert.deepEqual(m.map((x) => x.role), ["system", "user", "assistant"]);
    assert.equal(m[0]!.content, SYSTEM);
    for (const x of m) assert.deepEqual(Object.keys(x), ["role", "content"]);
  }
}

const keysOf = (doc: Record<string, unknown>) => Object.keys(doc).sort();
const within = (keys: string[], allowed: string[], what: string) => { for (const k of keys) assert.ok(allowed.includes(k), `${what}: ${k} is not a key the trainer's docs define`); };

test("mlx: train.jsonl/valid.jsonl of messages and a lora_config.yaml with mlx-lm's keys", async () => {
  const { outDir, r } = await write("mlx");
  checkMessages(jsonl(join(outDir, "train.jsonl")));
  checkMessages(jsonl(join(outDir, "valid.jsonl")));
  const c = parse(readFileSync(join(outDir, "lora_config.yaml"), "utf8")) as Record<string, unknown>;
  // mlx_lm/examples/lora_config.yaml's keys (plus mask_prompt from LORA.md).
  within(keysOf(c), ["model", "train", "fine_tune_type", "training_mode", "optimizer", "data", "seed", "num_layers", "batch_size", "iters", "val_batches", "learning_rate", "steps_per_report", "steps_per_eval", "resume_adapter_file", "adapter_path", "save_every", "test", "test_batches", "max_seq_length", "grad_checkpoint", "lora_parameters", "lr_schedule", "mask_prompt"], "mlx");
  assert.equal(c.model, BASE);
  assert.equal(c.data, ".");
  assert.equal(c.max_seq_length, 1024);
  assert.equal(c.learning_rate, 1e-4);
  assert.equal(c.iters, Math.ceil((2 * r.stats.kept.train) / 8), "iters = epochs × examples / batch");
  const lp = c.lora_parameters as Record<string, unknown>;
  assert.deepEqual(Object.keys(lp).sort(), ["dropout", "keys", "rank", "scale"]);
  assert.equal(lp.rank, 16);
  assert.equal(lp.scale, 2, "alpha / rank");
  for (const k of lp.keys as string[]) assert.match(k, /^(self_attn|mlp)\.\w+_proj$/);
});

test("llama-factory: dataset_info.json maps the alpaca system column; train YAMLs use documented keys; ZeRO-3 preset", async () => {
  const { outDir } = await write("llama-factory");
  const info = JSON.parse(readFileSync(join(outDir, "dataset_info.json"), "utf8"));
  for (const [name, file] of [["docs2model_train", "train.jsonl"], ["docs2model_valid", "valid.jsonl"]] as const) {
    assert.equal(info[name].file_name, file);
    assert.equal(info[name].formatting, "alpaca");
    assert.deepEqual(info[name].columns, { prompt: "instruction", query: "input", response: "output", system: "system", history: "history" });
    for (const l of jsonl(join(outDir, file))) {
      assert.equal(l.system, SYSTEM, "the system column is there for the mapping");
      for (const k of Object.keys(l)) assert.ok(Object.values(info[name].columns).includes(k), `${k} is mapped`);
    }
  }
  const documented = ["model_name_or_path", "trust_remote_code", "stage", "do_train", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target", "dataset", "eval_dataset", "dataset_dir", "template", "cutoff_len", "max_samples", "overwrite_cache", "preprocessing_num_workers", "output_dir", "logging_steps", "save_steps", "plot_loss", "overwrite_output_dir", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "num_train_epochs", "lr_scheduler_type", "warmup_ratio", "bf16", "ddp_timeout", "val_size", "per_device_eval_batch_size", "eval_strategy", "eval_steps", "deepspeed"];
  const one = parse(readFileSync(join(outDir, "llamafactory.yaml"), "utf8")) as Record<string, unknown>;
  within(keysOf(one), documented, "llamafactory.yaml");
  assert.equal(one.model_name_or_path, BASE);
  assert.equal(one.template, "qwen");
  assert.equal(one.dataset, "docs2model_train");
  assert.equal(one.dataset_dir, ".");
  assert.deepEqual([one.lora_rank, one.lora_alpha, one.cutoff_len, one.num_train_epochs, one.learning_rate], [16, 32, 1024, 2, 1e-4]);
  assert.equal(one.lora_target, "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");
  assert.equal(one.deepspeed, undefined);
  const multi = parse(readFileSync(join(outDir, "llamafactory_multigpu.yaml"), "utf8")) as Record<string, unknown>;
  within(keysOf(multi), documented, "llamafactory_multigpu.yaml");
  assert.equal(multi.deepspeed, "ds_z3_config.json");
  assert.equal(JSON.parse(readFileSync(join(outDir, "ds_z3_config.json"), "utf8")).zero_optimization.stage, 3);
});

test("axolotl: type chat_template with field_messages over messages files; ZeRO-2 multi-GPU preset", async () => {
  const { outDir } = await write("axolotl");
  checkMessages(jsonl(join(outDir, "train.jsonl")));
  const documented = ["base_model", "chat_template", "datasets", "test_datasets", "val_set_size", "dataset_prepared_path", "adapter", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "sequence_len", "sample_packing", "micro_batch_size", "gradient_accumulation_steps", "num_epochs", "learning_rate", "optimizer", "lr_scheduler", "warmup_ratio", "bf16", "gradient_checkpointing", "output_dir", "deepspeed"];
  for (const file of ["axolotl.yaml", "axolotl_multigpu.yaml"]) {
    const text = readFileSync(join(outDir, file), "utf8");
    assert.doesNotMatch(text, /sharegpt/, "axolotl no longer accepts type: sharegpt");
    const c = parse(text) as Record<string, unknown>;
    within(keysOf(c), documented, file);
    const ds = (c.datasets as Array<Record<string, unknown>>)[0]!;
    assert.equal(ds.type, "chat_template");
    assert.equal(ds.field_messages, "messages");
    assert.deepEqual(ds.message_property_mappings, { role: "role", content: "content" });
    assert.ok(existsSync(join(outDir, String(ds.path))));
    assert.ok(existsSync(join(outDir, String((c.test_datasets as Array<Record<string, unknown>>)[0]!.path))));
    assert.deepEqual([c.lora_r, c.lora_alpha, c.sequence_len, c.num_epochs, c.base_model], [16, 32, 1024, 2, BASE]);
  }
  const multi = parse(readFileSync(join(outDir, "axolotl_multigpu.yaml"), "utf8")) as Record<string, unknown>;
  assert.equal(multi.deepspeed, "ds_zero2.json");
  assert.equal(JSON.parse(readFileSync(join(outDir, "ds_zero2.json"), "utf8")).zero_optimization.stage, 2);
});

test("unsloth: a script that loads the base, adds LoRA with our settings and trains on the written files", async () => {
  const { outDir } = await write("unsloth");
  const py = readFileSync(join(outDir, "train_unsloth.py"), "utf8");
  assert.match(py, new RegExp(`FastLanguageModel\\.from_pretrained\\(model_name="${BASE.replace(/[./]/g, "\\$&")}", max_seq_length=1024`));
  assert.match(py, /get_peft_model\(model, r=16, lora_alpha=32, lora_dropout=0\.05, target_modules=\["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj","down_proj"\]/);
  assert.match(py, /data_files=\{"train": "train\.jsonl", "validation": "valid\.jsonl"\}/);
  assert.match(py, /num_train_epochs=2,\n\s+learning_rate=0\.0001,/);
  checkMessages(jsonl(join(outDir, "train.jsonl")));
});

test("openai: fewer than 10 examples is an error; roles and content are checked; 10-49 is a warning", async () => {
  await assert.rejects(write("openai", 5), (e: Error & { code?: string }) => e.code === "E_INPUT" && /needs at least 10/.test(e.message));
  const { outDir } = await write("openai", 20);
  checkMessages(jsonl(join(outDir, "train.jsonl")));
  const ok = jsonl(join(outDir, "train.jsonl"));
  assert.deepEqual(checkOpenaiExamples(ok.concat(ok), "t.jsonl").filter((p) => p.level === "error"), []);
  const bad = checkOpenaiExamples([...ok, ...ok, { messages: [{ role: "human", content: "q" }, { role: "user", content: 3 }] }], "t.jsonl").map((p) => p.message);
  assert.ok(bad.some((m) => /t\.jsonl:\d+: role "human"; use system, user or assistant/.test(m)), bad.join("\n"));
  assert.ok(bad.some((m) => /content is not a string/.test(m)));
  assert.ok(bad.some((m) => /no assistant message/.test(m)));
  assert.ok(checkOpenaiExamples(ok.slice(0, 12), "t.jsonl").some((p) => p.level === "warn" && /recommends 50-100/.test(p.message)));
});

test("hf: train.jsonl and validation.jsonl named by the card's configs; an unknown base becomes a placeholder", async () => {
  const { outDir } = await write("hf");
  const card = readFileSync(join(outDir, "README.md"), "utf8");
  assert.match(card, /- split: train\n {4}path: train\.jsonl\n {2}- split: validation\n {4}path: validation\.jsonl/);
  checkMessages(jsonl(join(outDir, "validation.jsonl")));
  const { outDir: d2 } = await write("axolotl", 21, null);
  assert.equal((parse(readFileSync(join(d2, "axolotl.yaml"), "utf8")) as Record<string, unknown>).base_model, BASE_PLACEHOLDER);
});

test("a checkpoint folder or a cached Hugging Face name as FINETUNE_MODEL_NAME: base_model is the folder or the repo id, nothing converted", async () => {
  const { writeCheckpoint } = await import("../fixtures/hf-checkpoint.ts");
  const ck = await writeCheckpoint("qwen2.5", { dir: join(root, "Qwen2.5-ckpt"), dim: 16, layers: 1 });
  const input = join(root, "scored-20.ndjson");
  if (!existsSync(input)) await import("node:fs/promises").then((fs) => fs.writeFile(input, pairs(20).map((p) => JSON.stringify(p)).join("\n") + "\n"));
  const cache = join(root, "never-converted");
  const folder = loadSettings({ flags: { finetuneModelName: ck.dir }, env: { DOCS2MODEL_CACHE: cache } });
  await runFormatFor(folder, { target: "axolotl", input, outDir: join(root, "ckpt-axolotl"), options });
  const c = parse(readFileSync(join(root, "ckpt-axolotl", "axolotl.yaml"), "utf8")) as Record<string, unknown>;
  assert.equal(c.base_model, ck.dir);
  // The same checkpoint as a hub name in the HF cache (refs/main → snapshots/<commit>).
  const { mkdirSync, cpSync, writeFileSync } = await import("node:fs");
  const hub = join(root, "hf-hub"), commit = "a".repeat(40);
  mkdirSync(join(hub, "models--Qwen--Qwen2.5-0.5B-Instruct", "refs"), { recursive: true });
  writeFileSync(join(hub, "models--Qwen--Qwen2.5-0.5B-Instruct", "refs", "main"), commit);
  cpSync(ck.dir, join(hub, "models--Qwen--Qwen2.5-0.5B-Instruct", "snapshots", commit), { recursive: true });
  const named = loadSettings({ flags: { finetuneModelName: "Qwen/Qwen2.5-0.5B-Instruct" }, env: { HF_HUB_CACHE: hub, HF_HUB_OFFLINE: "1", DOCS2MODEL_CACHE: cache } });
  await runFormatFor(named, { target: "axolotl", input, outDir: join(root, "hub-axolotl"), options });
  assert.equal((parse(readFileSync(join(root, "hub-axolotl", "axolotl.yaml"), "utf8")) as Record<string, unknown>).base_model, "Qwen/Qwen2.5-0.5B-Instruct");
  assert.equal(existsSync(cache), false, "no conversion just to name the base");
});
