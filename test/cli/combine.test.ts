// `pipeline combine` as a user runs it: a bad record stops it keeping what is merged and saying
// "rerun with --resume"; after the file is fixed, --resume finishes it to the same bytes as a fresh run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const seed = (i: number) => JSON.stringify({ question: `What does setting ${i} control?`, answer: `Setting ${i} controls part ${i} of a run.`, context: `Setting ${i} controls part ${i} of a run.` });

test("combine stopped by a bad record continues with --resume, as its message says, to a fresh run's bytes", () => {
  const dir = mkdtempSync(join(tmpdir(), "combine-resume-"));
  const input = join(dir, "qa_results");
  mkdirSync(input);
  writeFileSync(join(input, "a.ndjson"), [1, 2, 3].map(seed).join("\n") + "\n");
  writeFileSync(join(input, "b.ndjson"), `{"type":"scored","id":"x"}\n${seed(4)}\n`);
  const out = join(dir, "merged.json");
  const failed = run(["combine", "-i", input, "-o", out]);
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, /b\.ndjson.*record 1/);
  assert.match(failed.stderr, /3 input\(s\) kept in .*merged\.json\.partial; rerun with --resume to continue/);

  writeFileSync(join(input, "b.ndjson"), `${seed(4)}\n`);
  const resumed = run(["combine", "-i", input, "-o", out, "--resume"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const fresh = run(["combine", "-i", input, "-o", join(dir, "fresh.json")]);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.equal(readFileSync(out, "utf8"), readFileSync(join(dir, "fresh.json"), "utf8"));
  assert.equal(JSON.parse(readFileSync(out, "utf8")).length, 4);
});
