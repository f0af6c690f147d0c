import assert from "node:assert/strict";
import { test } from "node:test";
import { extractPairs, usableSentence } from "../../src/transforms/extractive.ts";

const guide = [
  "# Chunking",
  "",
  "Chunk overlap is the number of characters two neighbouring chunks share. It keeps a sentence that straddles a boundary readable in both chunks.",
  "To change the chunk size, pass `--chunk-size` with a number of characters. The chunk step splits each document into pieces of about 1500 characters.",
  "",
  "## Installation",
  "",
  "1. Install Node.js 20.",
  "2. Run `npm ci` in the project folder.",
  "3. Run `pipeline all` to process the sample documents.",
  "",
  "The ingest step reads these formats:",
  "- plain text and Markdown",
  "- HTML pages",
  "- PDF files",
  "",
  "```bash",
  "pipeline chunk -i data/documents -o data/document_chunks is the command to run.",
  "```",
  "Ollama is a tool that runs language models on your own machine.",
].join("\n");

test("definitions, how-tos, actions and lists become self-contained questions with exact evidence", () => {
  const pairs = extractPairs(guide, 10);
  const qs = pairs.map((p) => p.question);
  assert.deepEqual(qs, [
    "What is chunk overlap?",
    "How do you change the chunk size?",
    "What does the chunk step do?",
    "What are the steps for installation?",
    "What formats does the ingest step read?",
    "What is Ollama?",
  ]);
  for (const p of pairs) {
    assert.equal(guide.slice(p.start, p.end), p.evidence, "evidence is the exact text at its offsets");
    assert.ok(p.answer.length > 10);
  }
  const def = pairs[0]!;
  assert.match(def.answer, /^Chunk overlap is the number of characters .* readable in both chunks\.$/, "the following 'It …' sentence completes the answer");
  const list = pairs.find((p) => p.question.startsWith("What formats"))!;
  assert.equal(list.answer, "The ingest step reads these formats:\n- plain text and Markdown\n- HTML pages\n- PDF files");
  assert.ok(!qs.some((q) => /pipeline chunk -i/.test(q)), "code blocks are not used");
});

test("honours the count, best rules first, and gives fewer for a short chunk", () => {
  const two = extractPairs(guide, 2);
  assert.equal(two.length, 2);
  assert.deepEqual(two.map((p) => p.rule), ["definition", "how-to"]);
  assert.deepEqual(extractPairs("Short note.", 3), []);
  assert.equal(extractPairs("# Title\n\nThe exporter writes a GGUF file and a Modelfile for Ollama.", 3).length, 1);
});

test("fragments, code noise and dangling references are skipped", () => {
  assert.equal(usableSentence("const x = { a: 1 }; return x;"), false);
  assert.equal(usableSentence("See below"), false);
  assert.equal(usableSentence("The validate step scores every pair of the dataset."), true);
  assert.deepEqual(extractPairs("It is a tool that runs models locally and quickly.\nThis is the best way to go for most users.", 3), []);
});

test("hard-wrapped paragraphs are read as sentences; passive, 'asks for' and lower-case names are handled", () => {
  const text = [
    "docs2model needs Node.js 20 or newer, and it runs on any operating",
    "system that Node supports.",
    "",
    "Each document is split with a recursive character splitter that prefers to break at blank",
    "lines, then at line ends, then at spaces.",
    "The prompt asks for self-contained questions in the chunk's own language and an evidence",
    "quote copied from the chunk.",
    "Heuristic checks always run, whatever the judge; the heuristic checks are free.",
    "Files whose names start with a dot are ignored by the chunk step.",
    "When the output is piped and no file is named, chunks go to standard output.",
    "The step prints a short summary at the end of every run.",
  ].join("\n");
  const pairs = extractPairs(text, 10);
  assert.deepEqual(pairs.map((p) => p.question), [
    "What does docs2model need?",
    "How is each document split?",
    "What does the prompt ask for?",
  ]);
  const split = pairs[1]!;
  assert.equal(split.evidence, text.slice(split.start, split.end));
  assert.ok(split.evidence.includes("\n"), "evidence keeps the line break of the source");
  assert.equal(split.answer, "Each document is split with a recursive character splitter that prefers to break at blank lines, then at line ends, then at spaces.");
});

test("deterministic: same text, same pairs", () => {
  assert.deepEqual(extractPairs(guide, 3), extractPairs(guide, 3));
});
