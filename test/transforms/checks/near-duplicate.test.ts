import assert from "node:assert/strict";
import { test } from "node:test";
import { NearDuplicateIndex } from "../../../src/transforms/checks/near-duplicate.ts";

test("near-duplicate questions point at the first one seen; distinct ones do not", () => {
  const idx = new NearDuplicateIndex();
  assert.equal(idx.check("a", "What is chunk overlap in the pipeline?"), null);
  assert.equal(idx.check("b", "What is the default chunk size?"), null);
  assert.equal(idx.check("c", "what is chunk overlap in the pipeline"), "a", "case and punctuation do not matter");
  assert.equal(idx.check("d", "What is chunk overlap in the pipeline tool?"), "a", "one added word is still a near duplicate");
  assert.equal(idx.check("e", "How do you install the pipeline?"), null);
  assert.equal(idx.check("f", "What is Ollama?"), null);
  assert.equal(idx.count, 6);
});

test("similar-looking but different questions are not merged", () => {
  const idx = new NearDuplicateIndex();
  const qs = ["What is chunk overlap?", "What is chunk size?", "What is the validation threshold?", "What is the filter threshold?", "What does the format step write?", "What does the validate step write?"];
  const dups = qs.map((q, i) => idx.check(String(i), q)).filter((d) => d !== null);
  assert.deepEqual(dups, []);
});

test("the index is deterministic and handles many questions", () => {
  const run = () => {
    const idx = new NearDuplicateIndex();
    const out: Array<string | null> = [];
    for (let i = 0; i < 3000; i++) out.push(idx.check(`q${i}`, `What is setting number ${i % 1500} of module ${Math.floor(i / 3)}?`));
    return out;
  };
  const a = run();
  assert.deepEqual(a, run());
  assert.ok(a.filter((x) => x !== null).length > 0);
});

test("templated questions that share only the template are not merged (candidates are verified exactly)", () => {
  const idx = new NearDuplicateIndex();
  const names = ["alpha bravo charlie", "delta echo foxtrot", "golf hotel india", "juliet kilo lima", "mike november oscar", "papa quebec romeo"];
  const flagged = names.map((n, i) => idx.check(String(i), `Which part of a run does the ${n} setting control?`)).filter((d) => d !== null);
  assert.deepEqual(flagged, []);
  assert.equal(NearDuplicateIndex.jaccard(Uint32Array.of(1, 2, 3, 4), Uint32Array.of(2, 3, 4, 5)), 0.6);
});
