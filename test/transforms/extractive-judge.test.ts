import assert from "node:assert/strict";
import { test } from "node:test";
import { runChecks } from "../../src/transforms/checks/run-checks.ts";
import { heuristicScores } from "../../src/transforms/extractive-judge.ts";

const context = "Chunk overlap is the number of characters two neighbouring chunks share. The validate step scores every pair and never drops one.";
const judge = (p: { question: string; answer: string; evidence: string }) => heuristicScores({ ...p, context }, runChecks({ ...p, context }, null));

test("a grounded, well-formed pair scores high; every score is within 0-10", () => {
  const s = judge({ question: "What is chunk overlap?", answer: "Chunk overlap is the number of characters two neighbouring chunks share.", evidence: "Chunk overlap is the number of characters two neighbouring chunks share." });
  assert.ok(s.overall >= 9, JSON.stringify(s));
  for (const v of Object.values(s)) assert.ok(v >= 0 && v <= 10);
});

test("ungrounded, off-topic or malformed pairs score lower, in that order of harm", () => {
  const good = judge({ question: "What is chunk overlap?", answer: "Chunk overlap is the number of characters two neighbouring chunks share.", evidence: "number of characters two neighbouring chunks share" }).overall;
  const invented = judge({ question: "What is chunk overlap?", answer: "Overlap is configured in megabytes through a YAML file on the server.", evidence: "configured in megabytes" });
  const notAQuestion = judge({ question: "chunk overlap", answer: "Chunk overlap is the number of characters two neighbouring chunks share.", evidence: "number of characters two neighbouring chunks share" });
  const fragment = judge({ question: "What is chunk overlap?", answer: "Characters.", evidence: "number of characters" });
  assert.ok(invented.overall < 7, `invented answer FAILs: ${invented.overall}`);
  assert.ok(invented.accuracy < 4);
  assert.ok(notAQuestion.overall < good && notAQuestion.clarity <= 4);
  assert.ok(fragment.overall < good && fragment.completeness <= 4);
});

test("deterministic", () => {
  const p = { question: "What does the validate step score?", answer: "The validate step scores every pair and never drops one.", evidence: "scores every pair" };
  assert.deepEqual(judge(p), judge(p));
});
