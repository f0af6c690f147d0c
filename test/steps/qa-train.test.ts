// `pipeline qa-train --verbose` prints the whole qa_train_report.json after the summary (and only with --verbose).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "d2m-qa-train-verbose-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("qa-train --verbose prints the report; without it, only the summary", () => {
  const data = join(dir, "final.jsonl");
  writeFileSync(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ instruction: `Where is mill ${i}?`, input: "", output: `By the river, ${i}.` })).join("\n"));
  const run = (extra: string[]) => spawnSync(process.execPath, [BIN, "qa-train", "-i", data, "-o", join(dir, "tokens"), "--seq-len", "64", ...extra], { cwd: dir, encoding: "utf8", input: "" });
  const verbose = run(["--verbose"]);
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.match(verbose.stderr, /QA-TRAIN SUMMARY[^]*"packingEfficiency":/);
  const plain = run([]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.doesNotMatch(plain.stderr, /"packingEfficiency":/);
});
