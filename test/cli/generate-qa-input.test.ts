// `pipeline qa -i FILE`: the chunks file `chunk -o DIR` wrote, named itself, is read (it was an ENOTDIR error
// reported as E_OUTPUT, with no word on what to do).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/pipeline", import.meta.url));

test("qa -i names the chunks file itself or its folder: the same pairs", () => {
  const dir = mkdtempSync(join(tmpdir(), "qa-input-"));
  const text = "The chunk step splits documents into chunks. The overlap is the number of characters shared by neighbouring chunks.";
  const chunk = { type: "chunk", id: "chunk_1", docId: "doc_1", source: "a.md", seq: 0, start: 0, end: text.length, text };
  writeFileSync(join(dir, "chunks.ndjson"), JSON.stringify(chunk) + "\n");
  const qa = (input: string, out: string) =>
    spawnSync(process.execPath, [bin, "qa", "-i", input, "-o", join(dir, out), "--provider", "extractive"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const byFile = qa(join(dir, "chunks.ndjson"), "by-file");
  assert.equal(byFile.status, 0, byFile.stderr);
  const byDir = qa(dir, "by-dir");
  assert.equal(byDir.status, 0, byDir.stderr);
  const pairs = JSON.parse(readFileSync(join(dir, "by-file", "training_data.json"), "utf8"));
  assert.ok(pairs.length > 0);
  assert.equal(readFileSync(join(dir, "by-file", "training_data.json"), "utf8"), readFileSync(join(dir, "by-dir", "training_data.json"), "utf8"));
});
