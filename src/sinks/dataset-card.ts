// The dataset card (README.md beside the training data): counts, score histogram, sources, settings,
// with Hugging Face front matter so `load_dataset(folder)` finds the train/validation files.
import { basename } from "node:path";
import { mdCode, mdText, yamlString } from "./markdown.ts";
import { cardMarker } from "./own-files.ts";
import type { FormatOptions, FormatStats } from "../transforms/format.ts";

export interface CardInput {
  trainFile: string;
  validFile?: string;
  provenanceFile: string;
  input: string;
  options: FormatOptions;
  stats: FormatStats;
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function datasetCard(c: CardInput): string {
  const s = c.stats;
  const kept = s.kept.train + s.kept.valid;
  const dataFiles = [`  - split: train\n    path: ${yamlString(basename(c.trainFile))}`];
  if (c.validFile) dataFiles.push(`  - split: validation\n    path: ${yamlString(basename(c.validFile))}`);
  const sources = [...s.sources.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = sources.slice(0, 100);
  return [
    "---",
    "configs:",
    "- config_name: default",
    "  data_files:",
    ...dataFiles,
    "task_categories:",
    "- question-answering",
    "- text-generation",
    "---",
    // Marks the card (and the files it names) as ours, so a later run may replace them and nothing else.
    cardMarker([c.trainFile, c.validFile, c.provenanceFile].filter((f): f is string => !!f).map((f) => basename(f))),
    "",
    "# Training data",
    "",
    `Question-answer pairs generated from documents, scored, filtered and written in the **${c.options.template}** template.`,
    "",
    "## Counts",
    "",
    table(["", "examples"], [
      ["pairs read", s.seen],
      ["kept: train", s.kept.train],
      ["kept: validation", s.kept.valid],
      ["dropped: generation failed", s.dropped.generation_failed],
      ["dropped: overall score below threshold", s.dropped.below_threshold],
      ["dropped: near-duplicate question", s.dropped.duplicate],
      ["dropped: evidence not found in the source chunk", s.dropped.ungrounded],
    ]),
    "",
    "## Score histogram (kept examples, overall 0-10)",
    "",
    table(["overall", "examples", "share"], s.histogram.map((n, i) => [`${i}-${i + 1}`, n, `${kept ? ((n / kept) * 100).toFixed(1) : "0.0"}%`])),
    "",
    "## Sources",
    "",
    table(["document", "examples"], shown.map(([src, n]) => [mdText(src), n])),
    sources.length > shown.length ? `\n…and ${sources.length - shown.length} more documents.` : "",
    "",
    "## Settings",
    "",
    table(["setting", "value"], [
      ["input", mdText(c.input)],
      ["template", c.options.template],
      ["threshold (keep overall >=)", c.options.threshold],
      ["keep duplicates and ungrounded pairs", c.options.keepDuplicates ? "yes" : "no"],
      ["validation share of documents", c.options.validFraction ?? 0],
      ["system prompt", c.options.system ? mdText(JSON.stringify(c.options.system)) : "(none)"],
    ]),
    "",
    "## Provenance",
    "",
    `Each line of ${mdCode(basename(c.provenanceFile))} describes one example: its \`split\` and \`line\` (1-based, in that split's file),`,
    "`docId`, `chunkId`, `qaId`, `source` and the `start`/`end` character offsets of the evidence",
    "in the source document, so every example traces back to the sentence it came from.",
    "",
  ].join("\n");
}
