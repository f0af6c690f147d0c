import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { requireDocuments } from "../../src/transforms/input-check.ts";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));

test("requireDocuments refuses a folder with no document it can read", () => {
  assert.doesNotThrow(() => requireDocuments(["d/a.md", "d/b.bin"], ["d"]));
  assert.throws(() => requireDocuments([], ["d"]), (e: Error & { code?: string; exitCode?: number }) => e.code === "E_INPUT" && e.exitCode === 1 && /d: no files to read/.test(e.message));
  assert.throws(() => requireDocuments(["d/x.bin"], ["d"]), /only 1 file\(s\) of unsupported types/);
});

test("CLI: chunk and pipeline on an empty folder exit 1 with one line and replace no output", () => {
  const dir = mkdtempSync(join(tmpdir(), "empty-input-"));
  mkdirSync(join(dir, "empty"));
  mkdirSync(join(dir, "chunks"));
  writeFileSync(join(dir, "chunks", "chunks.ndjson"), "earlier output\n");
  const env = { ...process.env, PIPELINE_CHUNKS_DIR: join(dir, "chunks"), PIPELINE_QA_DIR: join(dir, "qa") };
  for (const args of [["chunk", "-i", join(dir, "empty"), "-o", join(dir, "chunks")], ["pipeline", "-i", join(dir, "empty"), "--provider", "extractive"]]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env, encoding: "utf8" });
    assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr.trim(), /^error \[E_INPUT\] .*empty: no files to read/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.equal(readFileSync(join(dir, "chunks", "chunks.ndjson"), "utf8"), "earlier output\n");
  }
});
