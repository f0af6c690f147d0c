import assert from "node:assert/strict";
import { test } from "node:test";
import { modelCard } from "../../src/export/model-card.ts";
import { datasetCard } from "../../src/sinks/dataset-card.ts";
import { mdCode, mdText, yamlString } from "../../src/sinks/markdown.ts";
import { emptyFormatStats } from "../../src/transforms/format.ts";

const EVIL = "notes\n# Injected heading\n| x | y |\n<script>alert(1)</script> [link](http://x) `tick` *bold*";

test("mdText and mdCode keep outside text on its line and inert", () => {
  assert.equal(mdText("a\nb|c*d"), "a\\\\nb\\|c\\*d", "the newline shows as \\n");
  assert.equal(mdText("<b>&"), "\\<b\\>\\&");
  assert.equal(mdCode("a`b"), "``a`b``");
  assert.equal(mdCode("`x"), "`` `x ``");
  assert.equal(yamlString("train.jsonl"), "train.jsonl");
  assert.equal(yamlString("a\n- split: x"), '"a\\n- split: x"');
});

test("a file name with a newline and Markdown in it injects nothing into the dataset card or the model card", () => {
  const stats = emptyFormatStats();
  stats.sources.set(EVIL, 3);
  stats.kept.train = 3;
  const card = datasetCard({ trainFile: "/d/train\n# Injected heading.jsonl", provenanceFile: "/d/p.jsonl", input: `/in/${EVIL}`, options: { template: "alpaca", threshold: 8 } as never, stats });
  const model = modelCard({ name: "docs-x", baseModel: EVIL, architecture: "llama", quant: "q8_0", datasetPath: EVIL, createdAt: "2026-12-03", files: [], chatTemplate: "c", templateSource: "t", runCommands: [], report: { source: EVIL } });
  for (const text of [card, model]) {
    const lines = text.split("\n");
    assert.ok(!lines.some((l) => l.startsWith("# Injected")), "no injected heading");
    assert.ok(!lines.some((l) => l.startsWith("| x | y |")), "no injected table row");
    assert.ok(!text.replace(/(`+)[^`][\s\S]*?\1/g, "").includes("<script>"), "no raw HTML outside code spans");
  }
  const frontMatter = card.split("---")[1]!;
  assert.ok(!/^# Injected/m.test(frontMatter) && frontMatter.includes('\\n# Injected'), "front matter path stays one quoted line");
});
