// The qa-train and finetune commands through bin/pipeline: files written, summary printed, bad usage exits 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const BIN = resolve(import.meta.dirname, "../../bin/pipeline");

test("pipeline qa-train writes token files from the default paths; finetune refuses a mismatched --seq-len", () => {
  const dir = mkdtempSync(join(tmpdir(), "d2m-cli-"));
  mkdirSync(join(dir, "data", "document_training_data"), { recursive: true });
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `Question ${i}?` }, { role: "assistant", content: `Answer ${i}.` }] }));
  writeFileSync(join(dir, "data", "document_training_data", "training_data_final.jsonl"), lines.join("\n"));
  const env = { ...process.env, FINETUNE_SEQ_LEN: "64" };
  const qa = spawnSync(BIN, ["qa-train"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(qa.status, 0, qa.stderr);
  assert.match(qa.stderr, /QA-TRAIN SUMMARY[^]*train: \d+ examples/);
  for (const f of ["train.tokens", "valid.tokens", "tokens.json", "qa_train_report.json", "base.gguf"]) assert.ok(existsSync(join(dir, "data", "document_training_data", "tokens", f)), f);
  const ft = spawnSync(BIN, ["finetune", "--seq-len", "128", "--backend", "cpu"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(ft.status, 2, ft.stderr);
  assert.match(ft.stderr, /E_CONFIG.*--seq-len 128 differs from the token files' 64/);
  const bad = spawnSync(BIN, ["finetune", "--backend", "nope"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown backend "nope"/);
});
