// FINETUNE_MODEL_TYPE / --model-type is checked before any work: it is read only for a base without a chat
// template, so a typo used to pass unnoticed on `tiny` (or any base with a template) in qa-train, export and all.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const run = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OLLAMA_HOST: "http://127.0.0.1:9", ...env } });

test("an unknown model type stops qa-train, export and all with E_CONFIG (exit 2) naming it, writing nothing", () => {
  const cwd = mkdtempSync(join(tmpdir(), "model-type-"));
  for (const [args, env] of [
    [["qa-train", "--model-type", "chatlm", "-i", "final.jsonl", "-o", "tokens"], {}],
    [["export", "--no-ollama"], { FINETUNE_MODEL_TYPE: "chatlm" }],
    [["all"], { FINETUNE_MODEL_TYPE: "chatlm" }],
  ] as Array<[string[], Record<string, string>]>) {
    const r = run(args, cwd, env);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /error \[E_CONFIG\] field "FINETUNE_MODEL_TYPE": unknown model type "chatlm".*use one of llama2, llama3, mistral, chatml/, args.join(" "));
  }
  assert.deepEqual(readdirSync(cwd), [], "nothing written");
  assert.equal(existsSync(join(cwd, "tokens")), false);
  // A known type (an alias too) passes the check: qa-train then stops on its missing input, as before.
  assert.match(run(["qa-train", "--model-type", "qwen2.5", "-i", "final.jsonl", "-o", "tokens"], cwd).stderr, /E_INPUT/);
});
