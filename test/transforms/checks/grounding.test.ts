import assert from "node:assert/strict";
import { test } from "node:test";
import { answerSupport, checkGrounding, evidenceFound, locateEvidence } from "../../../src/transforms/checks/grounding.ts";

const chunk = "The validate step scores every pair.\nIt never  drops a pair; the “verdict” is PASS, NEEDS_REVIEW or FAIL.";

test("evidence is found after whitespace, case and quote normalisation", () => {
  assert.equal(evidenceFound("it never drops a pair; the \"verdict\" is pass", chunk), true);
  assert.equal(evidenceFound("  The VALIDATE step scores every pair.  ", chunk), true);
  assert.equal(evidenceFound("The validate step ... never drops a pair", chunk), true, "parts around an ellipsis, in order");
  assert.equal(evidenceFound("never drops a pair ... The validate step", chunk), false, "parts out of order");
  assert.equal(evidenceFound("The validate step drops bad pairs", chunk), false);
  assert.equal(evidenceFound("", chunk), false);
  assert.equal(evidenceFound("pair", chunk), false, "a trivially short quote is not evidence");
});

test("answer support is the share of content words found in the chunk", () => {
  assert.equal(answerSupport("The validate step scores every pair", chunk), 1);
  assert.ok(answerSupport("Bananas are yellow fruit grown in Ecuador", chunk) < 0.2);
  const g = checkGrounding("scores every pair", "It scores pairs and never drops them.", chunk);
  assert.equal(g.grounded, true);
  assert.equal(g.supported, true);
});

test("locateEvidence gives exact offsets, tolerating whitespace and case", () => {
  const at = locateEvidence("it never drops a pair", chunk)!;
  assert.equal(chunk.slice(at[0], at[1]), "It never  drops a pair");
  assert.equal(locateEvidence("not there at all", chunk), undefined);
});
