import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { answerFit, isTruncated } from "../../../src/transforms/checks/answer-fit.ts";
import { runChecks } from "../../../src/transforms/checks/run-checks.ts";
import { chunker } from "../../../src/transforms/chunk.ts";
import { heuristicScores } from "../../../src/transforms/extractive-judge.ts";
import { verdictFor } from "../../../src/transforms/validate.ts";
import type { DocRecord } from "../../../src/records.ts";
import { buildJudgeSets, type JudgeChunk, type JudgeCase } from "../../fixtures/judge-sets.ts";

const context = [
  "# Chunking",
  "Chunk overlap is the number of characters two neighbouring chunks share.",
  "The chunk size is the largest chunk in characters; the default is 1500.",
  "To resume an interrupted run, pass --resume and the step skips the inputs already done.",
  "",
  "## Steps",
  "To install the tool:",
  "1. Install Node.js 20.",
  "2. Run npm ci in the checkout.",
].join("\n");

test("an answer to another question of the same chunk fits worse than the answer to this one", () => {
  const q = "What is chunk overlap?";
  const own = answerFit({ question: q, answer: "Chunk overlap is the number of characters two neighbouring chunks share.", evidence: "Chunk overlap is the number of characters two neighbouring chunks share.", context });
  const moved = answerFit({ question: q, answer: "The chunk size is the largest chunk in characters; the default is 1500.", evidence: "The chunk size is the largest chunk in characters; the default is 1500.", context });
  assert.equal(own.fit, 1);
  assert.ok(moved.fit < 0.5, `moved answer fit ${moved.fit}`);
});

test("the form of the answer must match the question: steps want a list, how many wants a number", () => {
  const steps = "What are the steps to install the tool?";
  const list = answerFit({ question: steps, answer: "To install the tool:\n1. Install Node.js 20.\n2. Run npm ci in the checkout.", evidence: "To install the tool:\n1. Install Node.js 20.\n2. Run npm ci in the checkout.", context });
  const prose = answerFit({ question: steps, answer: "To install the tool you need it.", evidence: "To install the tool:", context });
  assert.ok(list.fit > prose.fit, `${list.fit} vs ${prose.fit}`);
  const many = (answer: string) => answerFit({ question: "How many characters is the default chunk size?", answer, evidence: answer, context }).fit;
  assert.ok(many("The default chunk size is 1500 characters.") > many("The chunk size is the largest chunk in characters."));
});

test("truncation: an answer that stops where its sentence goes on, or on a word no sentence ends with", () => {
  const sentence = "To resume an interrupted run, pass --resume and the step skips the inputs already done.";
  assert.equal(isTruncated(sentence, sentence, context), false);
  assert.equal(isTruncated("To resume an interrupted run, pass --resume and the step skips", sentence, context), true);
  assert.equal(isTruncated("Pass --resume so that the", "", context), true, "dangling function word");
  // A list item ends at its line end without a full stop; that is not a cut.
  assert.equal(isTruncated("Run npm ci in the checkout", "2. Run npm ci in the checkout", "1. Install Node.js 20\n2. Run npm ci in the checkout\n3. Done"), false);
  // Link syntax in the source does not hide where the answer's sentence really ends.
  assert.equal(isTruncated("See the guide for the details", "", "See [the guide](https://example.com/guide) for the details of every flag."), true);
});

/** The sample documents that need no parser (markdown and text), chunked as `pipeline chunk` does. */
async function sampleChunks(): Promise<JudgeChunk[]> {
  const split = chunker();
  const out: JudgeChunk[] = [];
  for (const name of ["user-guide.md", "faq.txt"]) {
    const doc: DocRecord = { type: "doc", id: name, source: name, text: readFileSync(`data/documents/${name}`, "utf8") } as DocRecord;
    for await (const c of (await split(doc, { index: 0, signal: new AbortController().signal })) as AsyncIterable<{ docId: string; text: string }>) out.push({ docId: c.docId, text: c.text });
  }
  return out;
}

test("on the sample documents: genuine pairs PASS and answers moved or cut short do not (issue 17 § 3 sets)", async () => {
  const sets = buildJudgeSets(await sampleChunks());
  const tally = new Map<JudgeCase, { n: number; pass: number }>();
  for (const p of sets) {
    const s = heuristicScores(p, runChecks(p, null));
    const t = tally.get(p.kind) ?? { n: 0, pass: 0 };
    t.n++;
    if (verdictFor(s.overall, 8, 7) === "PASS") t.pass++;
    tally.set(p.kind, t);
  }
  for (const kind of ["genuine", "swap-within", "swap-across", "truncated"] as const) assert.ok((tally.get(kind)?.n ?? 0) >= 5, `too few ${kind} pairs: ${JSON.stringify([...tally])}`);
  const share = (k: JudgeCase) => tally.get(k)!.pass / tally.get(k)!.n;
  assert.ok(share("genuine") >= 0.95, `genuine PASS ${share("genuine")}`);
  for (const kind of ["swap-within", "swap-across", "truncated"] as const) assert.ok(share(kind) <= 0.1, `${kind} PASS ${share(kind)}`);
});
