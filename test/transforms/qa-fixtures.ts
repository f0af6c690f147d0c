// Test helper: a small user guide (generated, deterministic) and chunk/QA records made from it.
import { chunkId, docId, qaId, type ChunkRecord, type QaRecord } from "../../src/records.ts";

const TOPICS = ["chunk overlap", "the validation threshold", "the filter threshold", "the response cache", "the dataset card", "the provenance file", "the resume ledger", "the judge model", "the extractive provider", "the format step", "the combine command", "the tiny model"];

/** A guide of `sections` sections, each with a definition, a how-to, an action sentence and a list. */
export function guideText(sections = 6, seed = 0): string {
  const out: string[] = [];
  for (let i = 0; i < sections; i++) {
    const t = TOPICS[(i + seed) % TOPICS.length]!;
    const T = t[0]!.toUpperCase() + t.slice(1);
    const n = i + seed;
    out.push(
      `## Section ${n}: ${T}`,
      "",
      `${T} is the setting number ${n} that controls how the pipeline treats part ${n} of every run. It is read once at start-up from config.env or the environment.`,
      `To change ${t} for part ${n}, pass the matching flag on the command line or set its key in config.env.`,
      `The pipeline stores ${t} for part ${n} in the report of the step that uses it.`,
      "",
      `To inspect ${t} for part ${n}:`,
      `1. Open the report of step ${n}.`,
      `2. Find the settings block near the top.`,
      `3. Compare it with config.env for part ${n}.`,
      "",
    );
  }
  return out.join("\n");
}

export function chunksOf(text: string, size = 700, source = "guide.md"): ChunkRecord[] {
  const d = docId(source, text);
  const out: ChunkRecord[] = [];
  let start = 0, seq = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    const para = text.lastIndexOf("\n\n", end);
    if (end < text.length && para > start + 100) end = para;
    const t = text.slice(start, end);
    out.push({ type: "chunk", id: chunkId(d, seq, t), docId: d, source, seq, start, end, text: t });
    seq++;
    start = end;
  }
  return out;
}

export function qaRecord(over: Partial<QaRecord> & { question: string; answer: string }, context = "The validate step scores every pair and never drops one."): QaRecord {
  const chunk = over.chunkId ?? "chunk_test";
  return {
    type: "qa", id: qaId(chunk, over.question, over.answer), docId: "doc_test", chunkId: chunk, source: "test.md",
    evidence: "", context, provider: "test", model: "test", usage: { inputTokens: 0, outputTokens: 0 }, start: 0, end: context.length,
    ...over,
  };
}
