// Step 2, generate-qa: each chunk → up to N self-contained Q&A pairs with an evidence quote, made by an
// LLM (structured output) or, with the `extractive` provider, from the chunk's own sentences.
import { z } from "zod";
import { withRecordSignal } from "./checks/signal.ts";
import type { LlmClient, JsonSchemaSpec } from "../providers/types.ts";
import { jsonSchemaSpec } from "../providers/json-schema.ts";
import type { StyleShare } from "../config.ts";
import { qaId, type ChunkRecord, type QaRecord, type QaStyle, type QaTurn, type Usage } from "../records.ts";
import { asTransform, type Stage } from "../streams/as-transform.ts";
import { locateEvidence } from "./checks/grounding.ts";
import { extractPairs, EXTRACTIVE_MODEL } from "./extractive.ts";
import {
  conversationPrompt, conversationsFor, ConversationReply, CONVERSATION_REPLY_SCHEMA, extractiveConversation, extractiveReasoning,
  MAX_TURNS, reasoningPrompt, ReasoningReply, REASONING_REPLY_SCHEMA, styleFor,
} from "./qa-styles.ts";

export interface GenerateQaOptions {
  /** null or a client whose provider is "extractive" → the offline generator. */
  client: LlmClient | null;
  questionsPerChunk: number;
  temperature?: number;
  maxTokens?: number;
  /** Styles and their shares of the chunks (default: all "qa"); each chunk gets one, fixed by its id. */
  styles?: readonly StyleShare[];
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

/** The request a chunk gets under a style mix (for --dry-run's estimate). */
export function promptFor(chunk: ChunkRecord, n: number, styles?: readonly StyleShare[]): ReturnType<typeof qaPrompt> {
  const style = styleFor(chunk.id, styles?.length ? styles : [{ style: "qa", weight: 1 }]);
  return style === "multi-turn" ? conversationPrompt(chunk, n) : style === "reasoning" ? reasoningPrompt(chunk, n) : qaPrompt(chunk, n);
}

/** What one record holds besides its first (or only) turn. */
interface Extra { style?: QaStyle; turns?: QaTurn[]; reasoning?: string }

function record(chunk: ChunkRecord, p: { question: string; answer: string; evidence: string; start?: number; end?: number }, provider: string, model: string, usage: Usage, error?: string, extra: Extra = {}): QaRecord {
  // The id covers everything the record says, so two conversations that open alike stay two records.
  const said = extra.turns ? extra.turns.map((t) => `${t.question}\u0000${t.answer}`).join("\u0001") : extra.reasoning ? `${p.answer}\u0000${extra.reasoning}` : p.answer;
  const rec: QaRecord = {
    type: "qa",
    id: error ? qaId(chunk.id, "\u0000error", "") : qaId(chunk.id, p.question, said),
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
  if (extra.style && extra.style !== "qa") rec.style = extra.style;
  if (extra.turns) rec.turns = extra.turns;
  if (extra.reasoning !== undefined) rec.reasoning = extra.reasoning;
  return rec;
}

const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0 };

/** The stage function: chunk → QaRecord[] (pure apart from the LLM call; no stream needed to test it). */
export function qaGenerator(opts: GenerateQaOptions, stats: GenerateQaStats = emptyGenerateQaStats()): Stage<ChunkRecord, QaRecord> {
  const n = opts.questionsPerChunk;
  const client = opts.client && opts.client.provider !== "extractive" ? opts.client : null;
  const styles = opts.styles?.length ? opts.styles : [{ style: "qa" as const, weight: 1 }];

  const count = (chunk: ChunkRecord, made: QaRecord[], failed: boolean, asked = n): QaRecord[] => {
    stats.chunks++;
    if (failed) { stats.failedChunks++; return made; }
    stats.pairs += made.length;
    if (made.length < asked) {
      stats.shortChunks++;
      if (!made.length) stats.emptyChunks++;
      if (stats.shortfalls.length < 10_000) stats.shortfalls.push({ chunkId: chunk.id, asked, made: made.length });
    }
    for (const r of made) {
      stats.usage.inputTokens += r.usage.inputTokens;
      stats.usage.outputTokens += r.usage.outputTokens;
    }
    return made;
  };

  if (!client) {
    return (chunk) => {
      const style = styleFor(chunk.id, styles);
      const at = (p: { start: number; end: number }) => ({ start: chunk.start + p.start, end: chunk.start + p.end });
      if (style === "multi-turn") {
        // One conversation per chunk offline: the chunk's pairs in order, follow-ups leaning on the turn before.
        const pairs = extractPairs(chunk.text, Math.min(MAX_TURNS, Math.max(2, n)));
        const turns = extractiveConversation(pairs);
        if (!turns) return count(chunk, [], false, 1);
        return count(chunk, [record(chunk, { ...turns[0]!, ...at(pairs[0]!) }, "extractive", EXTRACTIVE_MODEL, NO_USAGE, undefined, { style, turns })], false, 1);
      }
      return count(chunk, extractPairs(chunk.text, n).map((p) =>
        record(chunk, { ...p, ...at(p) }, "extractive", EXTRACTIVE_MODEL, NO_USAGE, undefined,
          style === "reasoning" ? { style, reasoning: extractiveReasoning(p, chunk.text) } : {})), false);
    };
  }

  const failed = (chunk: ChunkRecord, outcome: { result?: { usage: Usage; model: string }; error: string }, asked: number) => {
    const usage = outcome.result?.usage ?? NO_USAGE;
    stats.usage.inputTokens += usage.inputTokens;
    stats.usage.outputTokens += usage.outputTokens;
    return count(chunk, [record(chunk, { question: "", answer: "", evidence: "" }, client.provider, outcome.result?.model ?? client.model, usage, outcome.error)], true, asked);
  };
  const located = (chunk: ChunkRecord, evidence: string) => {
    const at = locateEvidence(evidence, chunk.text);
    return { start: at ? chunk.start + at[0] : undefined, end: at ? chunk.start + at[1] : undefined };
  };
  /** Records of one reply: the call's tokens are booked on the first, so sums over records stay exact. */
  const booked = (made: QaRecord[], usage: Usage) => {
    if (!made.length) { stats.usage.inputTokens += usage.inputTokens; stats.usage.outputTokens += usage.outputTokens; }
    else made[0]!.usage = usage;
    return made;
  };
  const trimmed = <T extends { question: string; answer: string; evidence: string }>(p: T): T => ({ ...p, question: p.question.trim(), answer: p.answer.trim(), evidence: p.evidence.trim() });

  return async (chunk, ctx) => {
    const style = styleFor(chunk.id, styles);
    const ask = <T>(messages: ReturnType<typeof qaPrompt>, schema: JsonSchemaSpec, parser: z.ZodType<T>) =>
      withRecordSignal(ctx.signal, (signal) => client.generateJson({ messages, schema, temperature: opts.temperature, maxTokens: opts.maxTokens, signal }, parser));

    if (style === "multi-turn") {
      const asked = conversationsFor(n);
      const outcome = await ask(conversationPrompt(chunk, n), CONVERSATION_REPLY_SCHEMA, ConversationReply);
      if (!outcome.ok) return failed(chunk, outcome, asked);
      const model = outcome.result.model || client.model;
      const made = outcome.value.conversations
        .map((c) => c.turns.map(trimmed).filter((t) => t.question && t.answer).slice(0, MAX_TURNS))
        .filter((turns) => turns.length >= 2)
        .slice(0, asked)
        .map((turns) => record(chunk, { ...turns[0]!, ...located(chunk, turns[0]!.evidence) }, client.provider, model, NO_USAGE, undefined, { style, turns }));
      return count(chunk, booked(made, outcome.result.usage), false, asked);
    }

    const reasoning = style === "reasoning";
    const outcome = reasoning
      ? await ask(reasoningPrompt(chunk, n), REASONING_REPLY_SCHEMA, ReasoningReply)
      : await ask(qaPrompt(chunk, n), QA_REPLY_SCHEMA, QaReply);
    if (!outcome.ok) return failed(chunk, outcome, n);
    const seen = new Set<string>();
    const pairs = (outcome.value.pairs as Array<{ question: string; answer: string; evidence: string; reasoning?: string }>)
      .map((p) => ({ ...trimmed(p), reasoning: p.reasoning?.trim() }))
      .filter((p) => {
        const key = p.question.toLowerCase();
        if (!p.question || !p.answer || seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, n);
    const model = outcome.result.model || client.model;
    const made = pairs.map((p) => record(chunk, { question: p.question, answer: p.answer, evidence: p.evidence, ...located(chunk, p.evidence) }, client.provider, model, NO_USAGE, undefined,
      reasoning ? { style, reasoning: p.reasoning ?? "" } : {}));
    return count(chunk, booked(made, outcome.result.usage), false);
  };
}

/** The stage as a Transform for library users: `pipeline(chunks, generateQa(opts), sink)`. */
export const generateQa = (opts: GenerateQaOptions & { concurrency?: number }) =>
  asTransform(qaGenerator(opts), { name: "generate-qa", concurrency: opts.concurrency ?? 4 });
