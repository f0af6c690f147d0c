import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { childFolder, exportFolder, exportNameFor, normalizeModelName, ollamaNameProblem } from "../src/layout.ts";

const BIN = fileURLToPath(new URL("../bin/pipeline", import.meta.url));

test("childFolder keeps a name inside its folder", () => {
  assert.equal(childFolder("out", "qwen2.5-0.5b", "--name"), resolve("out", "qwen2.5-0.5b"));
  for (const bad of ["..", ".", "", "../../x", "a/b", "/etc", "a\\b", "new\nline"]) {
    assert.throws(() => childFolder("out", bad, "--name"), (e: Error & { code?: string }) => e.code === "E_USAGE" && e.message.includes("--name must be a plain name"), bad);
  }
});

test("Ollama model names: what Ollama accepts passes, the rest is refused with the reason", () => {
  for (const ok of ["docs-assistant", "docs-qwen2.5-0.5b", "llama3.2:1b", "user/model:tag_1", "m:latest"]) assert.equal(ollamaNameProblem(ok), undefined, ok);
  for (const bad of ["..", ".hidden", "-x", "a..b", "a/b/c", "my.ns/m", "a:b:c", "x".repeat(81), "sp ace", "a:", ":t"]) assert.ok(ollamaNameProblem(bad), bad);
  assert.equal(exportFolder("merged", "docs-x"), resolve("merged", "docs-x"));
  assert.throws(() => exportFolder("merged", ".."), /--name "\.\." is not a valid Ollama model name/);
});

test("--name keeps an Ollama namespace (lower-cased, other characters → -), and a path-like name is refused, not flattened", () => {
  assert.equal(exportNameFor("Team/Docs Assistant:v1", "fine_tuned_models/tiny"), "team/docs-assistant:v1");
  assert.equal(exportFolder("merged", exportNameFor("team/docs", "x")), resolve("merged", "team", "docs"));
  for (const bad of ["a/b/c", "../x", "/etc/x"]) assert.throws(() => exportFolder("merged", normalizeModelName(bad)), /is not a valid Ollama model name/, bad);
});

test("CLI: export --name .. and finetune --name ../../x fail before any work, writing nothing", () => {
  const cwd = mkdtempSync(join(tmpdir(), "names-"));
  for (const args of [["export", "--name", ".."], ["finetune", "--name", "../../x"], ["finetune", "--name", ".."]]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, OLLAMA_HOST: "127.0.0.1:9" } });
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), /^error \[E_USAGE\] .*--name/, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.deepEqual(readdirSync(cwd), [], "nothing written");
});
