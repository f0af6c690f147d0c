// review_decisions.ndjson: appended whole lines that survive a restart, a torn last line ignored with a
// warning naming file and line (and the next append stays whole), any other bad line refused by line.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PipelineError } from "../../src/errors.ts";
import { DecisionLog, readDecisions, readReviewStates } from "../../src/sinks/review-decisions.ts";

const at = "2026-12-04T04:00:00.000Z";
const dir = () => mkdtempSync(join(tmpdir(), "review-decisions-"));

test("appends are on disk when append resolves, in order, and read back after a reopen", async () => {
  const path = join(dir(), "review_decisions.ndjson");
  const log = await DecisionLog.open(path);
  await log.append([{ qaId: "a", action: "accept", at }]);
  assert.equal(readFileSync(path, "utf8").split("\n").length, 2, "one whole line before close");
  await Promise.all([log.append([{ qaId: "b", action: "reject", at }]), log.append([{ qaId: "a", action: "edit", edits: { answer: "x" }, at }, { qaId: "a", action: "undo", at }])]);
  await log.close();
  const again = await DecisionLog.open(path);
  await again.append([{ qaId: "c", action: "accept", at }]);
  await again.close();
  assert.deepEqual(readDecisions(path).decisions.map((d) => `${d.qaId}:${d.action}`), ["a:accept", "b:reject", "a:edit", "a:undo", "c:accept"]);
  const states = readReviewStates(path);
  assert.deepEqual([states.get("a")!.status, states.get("a")!.edits, states.get("b")!.status], ["accepted", undefined, "rejected"]);
});

test("append refuses a decision that does not match the schema (nothing written)", async () => {
  const path = join(dir(), "review_decisions.ndjson");
  const log = await DecisionLog.open(path);
  await assert.rejects(log.append([{ qaId: "a", action: "nuke", at } as never]));
  await log.close();
  assert.equal(readFileSync(path, "utf8"), "");
});

test("a torn last line is ignored with its file and line named; reopening cuts it, the next append is whole", async () => {
  const path = join(dir(), "review_decisions.ndjson");
  writeFileSync(path, JSON.stringify({ qaId: "a", action: "accept", at }) + "\n" + `{"qaId":"b","act`);
  const read = readDecisions(path);
  assert.equal(read.decisions.length, 1);
  assert.equal(read.tornLine, 2);
  const log = await DecisionLog.open(path);
  await log.append([{ qaId: "c", action: "reject", at }]);
  await log.close();
  const after = readDecisions(path);
  assert.deepEqual(after.decisions.map((d) => d.qaId), ["a", "c"]);
  assert.equal(after.tornLine, undefined);
  assert.equal(readFileSync(path, "utf8").split("\n").length, 3, "two whole lines, the torn bytes gone");
});

test("a bad line that is not the last is refused naming file, line and field", () => {
  const path = join(dir(), "review_decisions.ndjson");
  writeFileSync(path, `{"qaId":"b","act\n`);
  appendFileSync(path, JSON.stringify({ qaId: "a", action: "accept", at }) + "\n");
  assert.throws(() => readDecisions(path), (e: unknown) => e instanceof PipelineError && e.message.includes(`${path}:1`));
  writeFileSync(path, JSON.stringify({ qaId: "a", action: "accept", at: "now" }) + "\n");
  assert.throws(() => readDecisions(path), (e: unknown) => e instanceof PipelineError && e.message.includes(`${path}:1`) && e.message.includes(`field "at"`));
});
