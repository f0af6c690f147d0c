// qa-train's input path: missing, or through a file (ENOTDIR, once reported as E_OUTPUT), is E_INPUT naming it.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { qaTrain } from "../../src/train/qa-train.ts";

test("qa-train -i through a file or to nothing: E_INPUT naming the path and what to do", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qa-train-input-"));
  const file = join(dir, "final.jsonl");
  writeFileSync(file, "");
  for (const input of [join(file, "x.jsonl"), join(dir, "missing.jsonl")]) {
    await assert.rejects(qaTrain({ input, outDir: join(dir, "tokens"), modelName: "tiny", seqLen: 48 }),
      (e: Error & { code?: string }) => e.code === "E_INPUT" && e.message.includes(input) && /not found; check -i or run `pipeline format` first/.test(e.message), input);
  }
});
