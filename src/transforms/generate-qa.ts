// Step 2, generate-qa: each chunk → up to N self-contained Q&A pairs with an evidence quote, made by an
// LLM (structured output) or, with the `extractive` provider, from the chunk's own sentences.
import { z } from "zod";
import { withRecordSignal } from "./checks/signal.ts";
import type { LlmClient, JsonSchemaSpec } from "../providers/types.ts";
import { jsonSchemaSpec } from "../providers/json-schema.ts";
import { qaId, type ChunkRecord, type QaRecord, type Usage } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { locateEvidence } from "./checks/grounding.ts";
import { extractPairs, EXTRACTIVE_MODEL } from "./extractive.ts";

export interface GenerateQaOptions {
  /** null or a client whose provider is "extractive" → the offline generator. */
  client: LlmClient | null;
  questionsPerChunk: number;
  temperature?: number;
  maxTokens?: number;
}

/** What a run produced; a chunk that yields fewer than N pairs is counted, and listed with --verbose. */
export interface GenerateQaStats {
  chunks: number;
  pairs: number;
  /** Chunks that gave fewer pairs than asked (too short or too little to ask about). */
  shortChunks: number;
  /** Chunks that gave none. */
  emptyChunks: number;
  /** Chunks whose generation failed after the repair attempt (recorded as QaRecords with `error`). */
  failedChunks: number;
  usage: Usage;
  shortfalls: Array<{ chunkId: string; asked: number; made: number }>;
}

export function emptyGenerateQaStats(): GenerateQaStats {
  return { chunks: 0, pairs: 0, shortChunks: 0, emptyChunks: 0, failedChunks: 0, usage: { inputTokens: 0, outputTokens: 0 }, shortfalls: [] };
}

const QaPair = z.object({ question: z.string(), answer: z.string(), evidence: z.string() });
/** What the model is asked for: every field, no others. */
export const QA_REPLY_SCHEMA: JsonSchemaSpec = jsonSchemaSpec("qa_pairs", z.strictObject({ pairs: z.array(QaPair.strict()) }));
/** What is accepted back: a pair without evidence is kept (its grounding check then fails). */
export const QaReply = z.object({ pairs: z.array(QaPair.extend({ evidence: z.string().default("") })) });
export type QaReply = z.infer<typeof QaReply>;

export function qaPrompt(chunk: ChunkRecord, n: number): Array<{ role: "system" | "user"; content: string }> {
  return [
    {
      role: "system",
      content:
        "You write question-answer pairs for fine-tuning a language model on a collection of documents. " +
        "You only use what the given passage says, and you reply with JSON only.",
    },
    {
      role: "user",
      content:
        `Write up to ${n} question-answer pair${n === 1 ? "" : "s"} about the passage below.\n` +
        "Rules:\n" +
        "- Each question is self-contained: a reader who has not seen the passage understands it. Name the subject; " +
        'never write "the passage", "the text", "this document" or an unexplained "it".\n' +
        "- Write each question and answer in the same language as the passage.\n" +
        "- Each answer is complete and fully supported by the passage; add no outside facts.\n" +
        '- "evidence" is a short quote copied exactly, character for character, from the passage, that supports the answer.\n' +
        `- If the passage cannot support ${n} good pairs, return fewer (or none). Never repeat a question.\n` +
        'Reply as JSON: {"pairs":[{"question":"...","answer":"...","evidence":"..."}]}\n\n' +
        `Source: ${chunk.source}\n` +
        `Passage:\n"""\n${chunk.text}\n"""`,
    },
  ];
}

function record(chunk: ChunkRecord, p: { question: string; answer: string; evidence: string; start?: number; end?: number }, provider: string, model: string, usage: Usage, error?: string): QaRecord {
  const rec: QaRecord = {
    type: "qa",
    id: error ? qaId(chunk.id, "\u0000error", "") : qaId(chunk.id, p.question, p.answer),
    docId: chunk.docId,
    chunkId: chunk.id,
    source: chunk.source,
    question: p.question,
    answer: p.answer,
    evidence: p.evidence,
    context: chunk.text,
    start: p.start ?? chunk.start,
    end: p.end ?? chunk.end,
    provider,
    model,
    usage,
  };
  if (error) rec.error = error;
  return rec;
}

const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };

/** The stage function: chunk → QaRecord[] (pure apart from the LLM call; no stream needed to test it). */
export function qaGenerator(opts: GenerateQaOptions, stats: GenerateQaStats = emptyGenerateQaStats()): Stage<ChunkRecord, QaRecord> {
  const n = opts.questionsPerChunk;
  const client = opts.client && opts.client.provider !== "extractive" ? opts.client : null;

  const count = (chunk: ChunkRecord, made: QaRecord[], failed: boolean): QaRecord[] => {
    stats.chunks++;
    if (failed) { stats.failedChunks++; return made; }
    stats.pairs += made.length;
    if (made.length < n) {
      stats.shortChunks++;
      if (!made.length) stats.emptyChunks++;
      if (stats.shortfalls.length < 10_000) stats.shortfalls.push({ chunkId: chunk.id, asked: n, made: made.length });
    }
    for (const r of made) {
      stats.usage.inputTokens += r.usage.inputTokens;
      stats.usage.outputTokens += r.usage.outputTokens;
    }
    return made;
  };

  if (!client) {
    return (chunk) =>
      count(chunk, extractPairs(chunk.text, n).map((p) =>
        record(chunk, { ...p, start: chunk.start + p.start, end: chunk.start + p.end }, "extractive", EXTRACTIVE_MODEL, NO_USAGE)), false);
  }

  return async (chunk, ctx) => {
    const outcome = await withRecordSignal(ctx.signal, (signal) => client.generateJson(
      { messages: qaPrompt(chunk, n), schema: QA_REPLY_SCHEMA, temperature: opts.temperature, maxTokens: opts.maxTokens, signal },
      QaReply,
    ));
    if (!outcome.ok) {
      const usage = outcome.result?.usage ?? NO_USAGE;
      stats.usage.inputTokens += usage.inputTokens;
      stats.usage.outputTokens += usage.outputTokens;
      return count(chunk, [record(chunk, { question: "", answer: "", evidence: "" }, client.provider, outcome.result?.model ?? client.model, usage, outcome.error)], true);
    }
    const seen = new Set<string>();
    const pairs = outcome.value.pairs
      .map((p) => ({ question: p.question.trim(), answer: p.answer.trim(), evidence: p.evidence.trim() }))
      .filter((p) => {
        const key = p.question.toLowerCase();
        if (!p.question || !p.answer || seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, n);
    const model = outcome.result.model || client.model;
    if (!pairs.length) {
      stats.usage.inputTokens += outcome.result.usage.inputTokens;
      stats.usage.outputTokens += outcome.result.usage.outputTokens;
    }
    return count(chunk, pairs.map((p, i) => {
      const at = locateEvidence(p.evidence, chunk.text);
      // The call's tokens are booked on the first pair so sums over records stay exact.
      return record(chunk, { ...p, start: at ? chunk.start + at[0] : undefined, end: at ? chunk.start + at[1] : undefined }, client.provider, model, i === 0 ? outcome.result.usage : NO_USAGE);
    }), false);
  };
}

/** The stage as a Transform for library users: `pipeline(chunks, generateQa(opts), sink)`. */
export const generateQa = (opts: GenerateQaOptions & { concurrency?: number }) =>
  asTransform(qaGenerator(opts), { name: "generate-qa", concurrency: opts.concurrency ?? 4 });
