// Every example template through every consumer: format → qa-train → finetune → export, with the offline `tiny` base.
// The four files hold the same conversations, so qa-train must make the same tokens of each, and export must
// find the same held-out questions in each.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { exportModel } from "../../src/export/export.ts";
import type { ScoredRecord } from "../../src/records.ts";
import { millPairs } from "../fixtures/mill-pairs.ts";
import { runFormat } from "../../src/steps/format.ts";
import { finetune } from "../../src/train/trainer-run.ts";
import { qaTrain } from "../../src/train/qa-train.ts";
import { TEMPLATES } from "../../src/transforms/format-templates.ts";
import { splitOf } from "../../src/transforms/format.ts";

const root = mkdtempSync(join(tmpdir(), "d2m-templates-"));
after(() => rmSync(root, { recursive: true, force: true }));

const SYSTEM = "Answer from the mill records.";
const VALID_FRACTION = 0.5;
const scored: ScoredRecord[] = millPairs(8, { answerTail: "\nIt runs north of the bridge." });
async function* records() { yield* scored; }

test("chatml, alpaca, sharegpt and openai each go format → qa-train → finetune → export", async () => {
  const heldOut = scored.filter((r) => splitOf(r.docId, VALID_FRACTION) === "valid").map((r) => r.question).sort();
  assert.ok(heldOut.length >= 1 && heldOut.length < scored.length, "the fixture has both splits");
  const tokens: Record<string, Buffer> = {};
  for (const template of TEMPLATES) {
    const dir = join(root, template);
    const final = join(dir, "training_data_final.jsonl");
    const formatted = await runFormat({ output: final, toStdout: false, options: { template, threshold: 7, validFraction: VALID_FRACTION, system: SYSTEM } }, records());
    assert.equal(formatted.stats.kept.train + formatted.stats.kept.valid, scored.length, template);

    const { report, meta } = await qaTrain({ input: final, outDir: join(dir, "tokens"), modelName: "tiny", seqLen: 64 });
    assert.equal(report.badLines, 0, template);
    assert.equal(report.train.examples + report.valid.examples, scored.length, template);
    assert.equal(report.valid.examples, heldOut.length, `${template}: format's held-out file is the validation split`);
    tokens[template] = readFileSync(join(dir, "tokens", "train.tokens"));

    const ft = await finetune({
      tokensDir: join(dir, "tokens"), outDir: join(dir, "ft"), epochs: 1, lr: 3e-3, rank: 4, alpha: 8, dropout: 0, targets: ["q", "v"],
      batch: 4, gradAccum: 1, backend: "wasm", threads: 1, resume: false, checkpointEvery: 100, evalEvery: 100, seed: 1,
    });
    assert.equal(ft.status, "completed", template);
    assert.equal(meta.tiny, true);
    assert.equal(meta.system, SYSTEM, `${template}: qa-train records the system prompt the data carried`);

    const r = await exportModel({
      modelPath: join(dir, "ft"), name: `mills-${template}`, outputDir: join(dir, "out"), quant: "f16", datasetPath: final,
      install: "never", ollamaBaseUrl: "http://127.0.0.1:9", backend: "cpu",
    });
    assert.deepEqual(r.eval!.rows.map((row) => row.question).sort(), heldOut, `${template}: export evaluates on the held-out questions`);
    // Verify probes the model with training questions and their answers, read from the same file.
    const trained = new Map(scored.map((x) => [x.question, x.answer]));
    assert.ok(r.verify!.samples.length >= 1, template);
    for (const s of r.verify!.samples) assert.equal(s.expected, trained.get(s.question), `${template}: verify probe ${s.question}`);
    // The Modelfile keeps the system prompt the model was trained with; the card has Hugging Face front matter.
    assert.match(readFileSync(r.modelfile, "utf8"), new RegExp(`^SYSTEM """${SYSTEM.replace(/\./g, "\\.")}"""$`, "m"), template);
    assert.match(readFileSync(r.card, "utf8"), /^---\n[\s\S]*^pipeline_tag: text-generation\n[\s\S]*^---\n\n# /m, template);
  }
  // The same conversations, whichever shape carried them: the same training tokens.
  for (const template of TEMPLATES) assert.ok(tokens[template]!.equals(tokens.alpaca!), `${template} tokens equal alpaca's`);
});
