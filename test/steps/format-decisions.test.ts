// format applies review_decisions.ndjson found beside its input (or --decisions FILE, or none with false),
// marks reviewed examples in the provenance file and says how many decisions it applied.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REVIEW_DECISIONS_FILE } from "../../src/layout.ts";
import type { ScoredRecord } from "../../src/records.ts";
import { formatSummary, runFormat } from "../../src/steps/format.ts";
import { qaRecord } from "../transforms/qa-fixtures.ts";

const at = "2026-12-04T04:00:00.000Z";

function scored(question: string, overall: number): ScoredRecord {
  const qa = qaRecord({ question, answer: "The number of characters two chunks share." });
  return { ...qa, type: "scored", qaId: qa.id, scores: { accuracy: 9, relevance: 9, clarity: 9, completeness: 9, overall }, verdict: "PASS", checks: { grounded: true, duplicateOf: null, length: "ok" } };
}

test("decisions beside the input are applied, marked in provenance and counted in the summary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "format-decisions-"));
  const pairs = [scored("What is A?", 2), scored("What is B?", 9), scored("What is C?", 9)];
  const input = join(dir, "scored.ndjson");
  writeFileSync(input, pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
  writeFileSync(join(dir, REVIEW_DECISIONS_FILE), [
    { qaId: pairs[0]!.qaId, action: "accept", at },
    { qaId: pairs[1]!.qaId, action: "reject", at },
    { qaId: pairs[2]!.qaId, action: "edit", edits: { question: "What is C, really?" }, at },
  ].map((d) => JSON.stringify(d)).join("\n") + "\n");
  const options = { template: "alpaca" as const, threshold: 7 };
  const result = await runFormat({ input, output: join(dir, "train.jsonl"), toStdout: false, options });
  const train = readFileSync(join(dir, "train.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(train.map((t) => t.instruction), ["What is A?", "What is C, really?"]);
  const prov = readFileSync(join(dir, "train.provenance.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(prov.map((p) => p.review), [{ accepted: true }, { edited: true }]);
  assert.match(formatSummary(result, options), /applied 3 review decision\(s\) from .*review_decisions\.ndjson: 1 accepted, 1 rejected, 1 edited/);
  const none = await runFormat({ input, output: join(dir, "plain.jsonl"), toStdout: false, options, decisions: false });
  assert.deepEqual([none.stats.kept.train, none.decisionsFile], [2, undefined]);
  assert.doesNotMatch(formatSummary(none, options), /review/);
});
