// format never replaces a file it did not write: a user's README.md (and a user's file where our
// .valid/.provenance sibling would go) survive byte for byte; ours go under a docs2model name and a log says so.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ScoredRecord } from "../../src/records.ts";
import { millPairs } from "../fixtures/mill-pairs.ts";
import { runFormat } from "../../src/steps/format.ts";
import { CARD_FALLBACK_FILE } from "../../src/sinks/own-files.ts";
import { log } from "../../src/log.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-own-files-"));
after(() => rmSync(root, { recursive: true, force: true }));

const scored: ScoredRecord[] = millPairs(6);
async function* records() { yield* scored; }
const options = { template: "alpaca" as const, threshold: 7, validFraction: 0.5 };

function captureWarnings(): { lines: string[]; stop: () => void } {
  const lines: string[] = [];
  const orig = log.warn;
  log.warn = ((...a: unknown[]) => { lines.push(a.join(" ")); }) as typeof log.warn;
  return { lines, stop: () => { log.warn = orig; } };
}

test("a user's README.md and valid-split file beside the output survive; ours go under our own names", async () => {
  const dir = join(root, "user");
  mkdirSync(dir);
  const readme = "# My project\n\nHand-written notes.\n";
  const theirValid = '{"mine":true}\n';
  writeFileSync(join(dir, "README.md"), readme);
  writeFileSync(join(dir, "train.valid.jsonl"), theirValid);
  const w = captureWarnings();
  let r;
  try { r = await runFormat({ output: join(dir, "train.jsonl"), toStdout: false, options }, records()); } finally { w.stop(); }
  assert.equal(readFileSync(join(dir, "README.md"), "utf8"), readme, "the user's README is untouched");
  assert.equal(readFileSync(join(dir, "train.valid.jsonl"), "utf8"), theirValid, "the user's file is untouched");
  assert.equal(r.cardPath, join(dir, CARD_FALLBACK_FILE));
  assert.equal(r.validPath, join(dir, "train.docs2model.valid.jsonl"));
  assert.equal(r.provenancePath, join(dir, "train.provenance.jsonl"), "a free name is used as usual");
  const card = readFileSync(r.cardPath!, "utf8");
  assert.match(card, /path: train\.docs2model\.valid\.jsonl/, "the card points at where the split really is");
  assert.ok(w.lines.some((l) => l.includes(join(dir, "README.md")) && l.includes(CARD_FALLBACK_FILE)), w.lines.join("\n"));
  assert.ok(w.lines.some((l) => l.includes("train.valid.jsonl") && l.includes("train.docs2model.valid.jsonl")), w.lines.join("\n"));

  // A second run finds its own files by the card's marker and replaces them in place (no new names, no warning about ours).
  const w2 = captureWarnings();
  let r2;
  try { r2 = await runFormat({ output: join(dir, "train.jsonl"), toStdout: false, options }, records()); } finally { w2.stop(); }
  assert.equal(r2.cardPath, r.cardPath);
  assert.equal(r2.validPath, r.validPath);
  assert.equal(readFileSync(join(dir, "README.md"), "utf8"), readme);
});

test("with no foreign files the card is README.md and a rerun replaces it (it carries our marker)", async () => {
  const dir = join(root, "clean");
  const r = await runFormat({ output: join(dir, "train.jsonl"), toStdout: false, options }, records());
  assert.equal(r.cardPath, join(dir, "README.md"));
  assert.match(readFileSync(r.cardPath!, "utf8"), /^---\n[\s\S]*?\n---\n<!-- docs2model dataset card: \{"files":\["train\.jsonl","train\.valid\.jsonl","train\.provenance\.jsonl"\]\} -->/);
  const r2 = await runFormat({ output: join(dir, "train.jsonl"), toStdout: false, options }, records());
  assert.equal(r2.cardPath, join(dir, "README.md"));
  assert.ok(!existsSync(join(dir, CARD_FALLBACK_FILE)));
});

test("a foreign README.md and a foreign docs2model.dataset-card.md: refused before anything is written", async () => {
  const dir = join(root, "both");
  mkdirSync(dir);
  writeFileSync(join(dir, "README.md"), "mine\n");
  writeFileSync(join(dir, CARD_FALLBACK_FILE), "also mine\n");
  await assert.rejects(runFormat({ output: join(dir, "train.jsonl"), toStdout: false, options }, records()), (e: Error & { code?: string }) => e.code === "E_OUTPUT" && /move one of them/.test(e.message));
  assert.ok(!existsSync(join(dir, "train.jsonl")));
});
