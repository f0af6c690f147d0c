// Bad numbers on the command line stop the command before any work, naming the flag (exit code 2).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "pipeline-flags-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", input: "", env: { ...process.env, OLLAMA_HOST: "127.0.0.1:9" } });

test("pipeline --format-threshold abc, format --valid-split 2 and qa-train --seq-len x are refused by name", () => {
  for (const [args, pattern] of [
    [["pipeline", "--provider", "extractive", "--format-threshold", "abc"], /error \[E_USAGE\] .*--format-threshold must be a score from 0 to 10 \(got "abc"\)/],
    [["format", "--valid-split", "2", "-i", "missing.json", "-o", "out.jsonl"], /error \[E_USAGE\] .*--valid-split must be a share of documents/],
    [["qa-train", "--seq-len", "x"], /error \[E_CONFIG\] .*bad value "x" for --seq-len \(FINETUNE_SEQ_LEN\)/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
