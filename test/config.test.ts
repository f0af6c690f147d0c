import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadSettings, SETTINGS } from "../src/config.ts";

test("config.env.example documents every setting key", () => {
  const example = readFileSync(new URL("../config.env.example", import.meta.url), "utf8");
  const missing = Object.values(SETTINGS).map((s) => s.key).filter((k) => !new RegExp(`^#?${k}=`, "m").test(example));
  assert.deepEqual(missing, []);
});

test("precedence: flag > environment > config.env > default", () => {
  const cwd = mkdtempSync(join(tmpdir(), "cfg-"));
  writeFileSync(join(cwd, "config.env"), "PIPELINE_CHUNK_SIZE=900\nPIPELINE_CHUNK_OVERLAP=90\nPIPELINE_QA_DIR=from-file\n");
  const env = { PIPELINE_CHUNK_OVERLAP: "50", PIPELINE_QA_DIR: "from-env" };
  const s = loadSettings({ cwd, env, flags: { qaDir: "from-flag" } });
  assert.equal(s.qaDir, "from-flag");
  assert.equal(s.chunkOverlap, 50);
  assert.equal(s.chunkSize, 900);
  assert.equal(s.inputDir, "data/documents");
  assert.deepEqual([s.origin.qaDir, s.origin.chunkOverlap, s.origin.chunkSize, s.origin.inputDir], ["flag", "env", "config.env", "default"]);
});

test("a malformed value is an E_CONFIG error naming the key and where it came from", () => {
  const cwd = mkdtempSync(join(tmpdir(), "cfg-"));
  writeFileSync(join(cwd, "config.env"), "PIPELINE_CHUNK_SIZE=big\n");
  assert.throws(() => loadSettings({ cwd, env: {} }), (e: Error & { code?: string }) => e.code === "E_CONFIG" && /bad value "big" for PIPELINE_CHUNK_SIZE in .*config\.env/.test(e.message));
  assert.throws(() => loadSettings({ cwd, env: {}, configPath: "missing.env" }), /config file not found; check the --config path/);
});

test("an unknown PIPELINE_ key is a warning that names it (a likely typo), not an error", () => {
  const write = process.stderr.write.bind(process.stderr);
  let err = "";
  process.stderr.write = ((c: string | Uint8Array) => { err += String(c); return true; }) as typeof process.stderr.write;
  try {
    const s = loadSettings({ cwd: mkdtempSync(join(tmpdir(), "cfg-")), env: { PIPELINE_CHUNK_SIZ: "10" } });
    assert.equal(s.chunkSize, 1500);
  } finally {
    process.stderr.write = write;
  }
  assert.match(err, /warn: unknown setting PIPELINE_CHUNK_SIZ in the environment is ignored \(a typo\? see config\.env\.example\)/);
});

test("PIPELINE_DEBUG=1, which the README documents, is not warned about as an unknown setting", () => {
  const write = process.stderr.write.bind(process.stderr);
  let err = "";
  process.stderr.write = ((c: string | Uint8Array) => { err += String(c); return true; }) as typeof process.stderr.write;
  try {
    loadSettings({ cwd: mkdtempSync(join(tmpdir(), "cfg-")), env: { PIPELINE_DEBUG: "1", PIPELINE_IGNORE_STDIN: "1" } });
  } finally {
    process.stderr.write = write;
  }
  assert.doesNotMatch(err, /unknown setting/);
});

test("a malformed config.env line is an E_CONFIG error naming the file and line; quoted multi-line values are fine", () => {
  const cwd = mkdtempSync(join(tmpdir(), "cfg-"));
  writeFileSync(join(cwd, "config.env"), "# settings\nPIPELINE_CHUNK_SIZE=900\nPIPELINE_CHUNK_OVERLAP 90\n");
  assert.throws(() => loadSettings({ cwd, env: {} }), (e: Error & { code?: string }) => e.code === "E_CONFIG" && /config\.env:3: malformed line: expected KEY=value/.test(e.message));
  writeFileSync(join(cwd, "config.env"), "PIPELINE_CHUNK_SIZE=900\n@@@ garbage\n");
  assert.throws(() => loadSettings({ cwd, env: {} }), /config\.env:2: malformed line/);
  writeFileSync(join(cwd, "config.env"), 'export PIPELINE_CHUNK_SIZE=900\nPIPELINE_SYSTEM_PROMPT="two\nlines"\n\n  # indented comment\n');
  assert.equal(loadSettings({ cwd, env: {} }).chunkSize, 900);
});

test("a flag's bad value is refused by the flag's name: non-setting flags (parseFlag) and settings given by flag", async () => {
  const { flag, parseFlag } = await import("../src/config.ts");
  assert.equal(parseFlag("format-threshold", "7.5"), 7.5);
  assert.equal(parseFlag("format-threshold", undefined), undefined);
  for (const [name, raw] of [["format-threshold", "abc"], ["format-threshold", "11"], ["valid-split", "1"], ["grad-accum", "1.5"], ["num-ctx", ""]] as const) {
    assert.throws(() => parseFlag(name, raw), (e: Error & { code?: string }) => e.code === "E_USAGE" && e.message.includes(`--${name} must be `) && e.message.includes(JSON.stringify(raw)), `${name} ${raw}`);
  }
  const cwd = mkdtempSync(join(tmpdir(), "cfg-"));
  assert.throws(() => loadSettings({ cwd, env: {}, flags: { finetuneEpochs: flag("--epochs", "many") } }), (e: Error & { code?: string }) => e.code === "E_CONFIG" && /bad value "many" for --epochs \(FINETUNE_EPOCHS\)/.test(e.message));
  assert.equal(loadSettings({ cwd, env: {}, flags: { finetuneEpochs: flag("--epochs", "2") } }).finetuneEpochs, 2);
});
