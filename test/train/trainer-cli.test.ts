// `pipeline finetune` stopped with SIGINT saves a checkpoint and exits 130; --resume then finishes the run.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const BIN = resolve(import.meta.dirname, "../../bin/pipeline");

/** A project folder with 12 Q&A pairs already through qa-train (32-token rows, wasm backend). */
function trainingDir(prefix: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "data", "document_training_data"), { recursive: true });
  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ instruction: `Question ${i}?`, output: `Answer ${i}.` }));
  writeFileSync(join(dir, "data", "document_training_data", "training_data_final.jsonl"), lines.join("\n"));
  const env = { ...process.env, FINETUNE_SEQ_LEN: "32", FINETUNE_BACKEND: "wasm" };
  assert.equal(spawnSync(BIN, ["qa-train"], { cwd: dir, env }).status, 0);
  return { dir, env };
}

/** Runs `pipeline <args>` and sends SIGINT once it reports its first step; its exit code and stderr. */
async function interruptAtFirstStep(dir: string, env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(BIN, args, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const code = await new Promise<number | null>((done) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      if (/step 1\//.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    child.on("exit", (c) => done(c));
  });
  return { code, stderr };
}

test("SIGINT during finetune checkpoints; --resume completes the same number of steps", async () => {
  const { dir, env } = trainingDir("d2m-sigint-");
  const args = ["finetune", "--epochs", "4", "--batch", "4", "--checkpoint-every", "1000"];
  const { code, stderr } = await interruptAtFirstStep(dir, env, args);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /error \[E_INTERRUPTED\] interrupted at step \d+\/\d+; checkpoint saved .* --resume/);
  const out = join(dir, "fine_tuned_models", "tiny");
  assert.ok(existsSync(join(out, "checkpoint", "state.json")));
  assert.ok(!existsSync(join(out, "model.gguf")));
  const resumed = spawnSync(BIN, [...args, "--resume"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  const report = JSON.parse(readFileSync(join(out, "training_report.json"), "utf8"));
  assert.equal(report.status, "completed");
  assert.equal(report.steps.done, report.steps.total);
  assert.equal(readFileSync(join(out, "loss_curve.csv"), "utf8").trim().split("\n").length, report.steps.total + 1, "the curve covers both halves");
  assert.ok(existsSync(join(out, "model.gguf")));
});

test("a run interrupted with 1 thread and resumed with --threads 2 gives the uninterrupted model (the checkpoint's thread count is used)", async () => {
  const { dir, env } = trainingDir("d2m-threads-");
  const args = ["finetune", "--epochs", "3", "--batch", "4", "--checkpoint-every", "1000"];
  const whole = spawnSync(BIN, [...args, "--threads", "1", "--name", "whole"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(whole.status, 0, whole.stderr);
  const { code, stderr } = await interruptAtFirstStep(dir, env, [...args, "--threads", "1", "--name", "cut"]);
  assert.equal(code, 130, stderr);
  const resumed = spawnSync(BIN, [...args, "--threads", "2", "--name", "cut", "--resume"], { cwd: dir, env, encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming with the checkpoint's 1 thread\(s\), not 2/);
  const out = (name: string) => readFileSync(join(dir, "fine_tuned_models", name, "model.gguf"));
  const report = JSON.parse(readFileSync(join(dir, "fine_tuned_models", "cut", "training_report.json"), "utf8"));
  assert.equal(report.backend.threads, 1, "the resumed steps ran on the checkpoint's thread count");
  assert.equal(JSON.parse(readFileSync(join(dir, "fine_tuned_models", "cut", "checkpoint", "state.json"), "utf8")).run.threads, 1);
  assert.ok(out("cut").equals(out("whole")), "resumed model equals the uninterrupted one");
});
