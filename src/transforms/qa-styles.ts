// Generation styles beyond the plain pair (issue 17 § 2): which style a chunk gets, what the LLM is asked for in
// each, and the offline (extractive) form of each — deterministic, built from the chunk's own sentences.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { StyleShare } from "../config.ts";
import type { JsonSchemaSpec } from "../providers/types.ts";
import { jsonSchemaSpec } from "../providers/json-schema.ts";
import type { ChunkRecord, QaStyle, QaTurn } from "../records.ts";
import type { ExtractivePair } from "./extractive.ts";
import { parseChunk, plain } from "./extractive-text.ts";

/**
 * The style of a chunk under a mix: fixed by the chunk's id, so a resumed or repeated run gives every chunk the
 * same style, and the shares hold over many chunks.
 */
export function styleFor(chunkId: string, mix: readonly StyleShare[]): QaStyle {
  if (mix.length === 1) return mix[0]!.style;
  const u = createHash("sha256").update(`style\u0000${chunkId}`).digest().readUInt32BE(0) / 2 ** 32;
  let acc = 0;
  for (const s of mix) {
    acc += s.weight;
    if (u < acc) return s.style;
  }
  return mix.at(-1)!.style;
}

/** Conversations per chunk for a --questions-per-chunk of n: a conversation holds 2–4 questions. */
export const conversationsFor = (n: number): number => Math.max(1, Math.round(n / 3));
export const MAX_TURNS = 4;

// ---- what the LLM is asked for -------------------------------------------------------------------------------

const Turn = z.object({ question: z.string(), answer: z.string(), evidence: z.string() });
export const CONVERSATION_REPLY_SCHEMA: JsonSchemaSpec = jsonSchemaSpec("qa_conversations", z.strictObject({ conversations: z.array(z.strictObject({ turns: z.array(Turn.strict()) })) }));
export const ConversationReply = z.object({ conversations: z.array(z.object({ turns: z.array(Turn.extend({ evidence: z.string().default("") })) })) });

const ReasonedPair = z.object({ question: z.string(), reasoning: z.string(), answer: z.string(), evidence: z.string() });
export const REASONING_REPLY_SCHEMA: JsonSchemaSpec = jsonSchemaSpec("qa_reasoning", z.strictObject({ pairs: z.array(ReasonedPair.strict()) }));
export const ReasoningReply = z.object({ pairs: z.array(ReasonedPair.extend({ evidence: z.string().default("") })) });

const SYSTEM =
  "You write training data for fine-tuning a language model on a collection of documents. " +
  "You only use what the given passage says, and you reply with JSON only.";
const COMMON_RULES =
  "- Write in the same language as the passage. Use only what the passage says; add no outside facts.\n" +
  '- "evidence" is a short quote copied exactly, character for character, from the passage, that supports the answer.\n' +
  '- Never write "the passage", "the text" or "this document".\n';

export function conversationPrompt(chunk: ChunkRecord, n: number): Array<{ role: "system" | "user"; content: string }> {
  const k = conversationsFor(n);
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content:
        `Write up to ${k} conversation${k === 1 ? "" : "s"} of 2 to ${MAX_TURNS} turns about the passage below, between a user who asks and an assistant who answers.\n` +
        "Rules:\n" +
        "- The first question is self-contained: it names its subject.\n" +
        '- Each follow-up question builds on the turns before it (it may refer back to them: "Why is that?", "And how do I undo it?") and asks something new.\n' +
        "- Each answer is complete for its question and supported by the passage.\n" +
        COMMON_RULES +
        "- If the passage cannot support a conversation of at least 2 turns, return none.\n" +
        'Reply as JSON: {"conversations":[{"turns":[{"question":"...","answer":"...","evidence":"..."}]}]}\n\n' +
        `Source: ${chunk.source}\nPassage:\n"""\n${chunk.text}\n"""`,
    },
  ];
}

export function reasoningPrompt(chunk: ChunkRecord, n: number): Array<{ role: "system" | "user"; content: string }> {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content:
        `Write up to ${n} question${n === 1 ? "" : "s"} about the passage below that take a step of reasoning to answer (combining two statements, applying a rule, comparing, or explaining why), each with its reasoning and its answer.\n` +
        "Rules:\n" +
        "- Each question is self-contained: a reader who has not seen the passage understands it.\n" +
        '- "reasoning" works through the answer step by step from what the passage says; "answer" is the final answer alone, complete, without the steps.\n' +
        COMMON_RULES +
        `- If the passage cannot support ${n} such questions, return fewer (or none). Never repeat a question.\n` +
        'Reply as JSON: {"pairs":[{"question":"...","reasoning":"...","answer":"...","evidence":"..."}]}\n\n' +
        `Source: ${chunk.source}\nPassage:\n"""\n${chunk.text}\n"""`,
    },
  ];
}

// ---- the offline forms ---------------------------------------------------------------------------------------

const OPENER = /^(what|how|why|when|where|which|who)\s+(?:is|are|was|were|does|do|did|can|could|should|would|will|has|have)\s+/i;

/**
 * A follow-up question that leans on the turn before: the subject the two questions share becomes "it"
 * ("What does the format step write?" after a question about the format step → "What does it write?"); with
 * nothing shared, "And …" ties it to the conversation.
 */
export function followUp(previous: string, question: string): string {
  const subjectOf = (q: string) => {
    const m = OPENER.exec(q);
    if (!m) return undefined;
    const rest = q.slice(m[0].length).replace(/\?$/, "");
    const words = rest.split(/\s+/);
    return { words, at: m[0].length };
  };
  const prev = subjectOf(previous);
  const cur = subjectOf(question);
  // The same question about another subject ("What is A?" then "What is B?"): "What about B?".
  const opener = (q: string) => OPENER.exec(q)?.[0].toLowerCase();
  if (prev && cur && opener(previous) === opener(question) && /^what (?:is|are) $/.test(opener(question)!)) {
    return `What about ${question.slice(cur.at).replace(/\?$/, "")}?`;
  }
  if (prev && cur) {
    // The longest run of words at the start of this question's subject that the previous question also holds.
    const prevText = ` ${prev.words.join(" ").toLowerCase()} `;
    for (let len = Math.min(cur.words.length - 1, 6); len >= 1; len--) {
      const phrase = cur.words.slice(0, len).join(" ");
      const significant = len >= 2 || /^\p{Lu}/u.test(phrase) || phrase.length >= 6;
      if (significant && !/^(?:a|an|the|you|your|it|they|this)$/i.test(phrase) && prevText.includes(` ${phrase.toLowerCase()} `)) {
        const plural = /^(?:the\s+)?\S+s$/i.test(phrase) && !/ss$/i.test(phrase);
        return question.slice(0, cur.at) + (plural ? "they" : "it") + question.slice(cur.at + phrase.length);
      }
    }
  }
  return `And ${question[0]!.toLowerCase()}${question.slice(1)}`;
}

/** The chunk's pairs as one conversation of 2–4 turns, in the order they appear; undefined when it has fewer than 2. */
export function extractiveConversation(pairs: ExtractivePair[]): QaTurn[] | undefined {
  const use = pairs.slice(0, MAX_TURNS);
  if (use.length < 2) return undefined;
  return use.map((p, i) => ({ question: i === 0 ? p.question : followUp(use[i - 1]!.question, p.question), answer: p.answer, evidence: p.evidence }));
}

/**
 * The worked explanation of an extractive answer: where the document says it, the words it says it in, and how
 * they answer the question. Everything in it is read off the chunk, so it is as grounded as the answer.
 */
export function extractiveReasoning(pair: ExtractivePair, chunkText: string): string {
  const structure = parseChunk(chunkText);
  const sentence = structure.sentences.find((s) => s.start <= pair.start && pair.start < s.end);
  const list = structure.lists.find((l) => (l.lead?.start ?? l.start) === pair.start);
  const heading = list?.heading ?? sentence?.heading;
  const where = heading ? `the section "${heading}"` : "the source";
  const quote = plain(pair.evidence);
  const short = quote.length > 400 ? `${quote.slice(0, 397).replace(/\s+\S*$/, "")}…` : quote;
  if (list) {
    const n = list.items.length;
    return `The question is answered in ${where}, which gives ${n} item${n === 1 ? "" : "s"}: "${short}"${/[.!?…]$/.test(short) ? "" : "."} Each item is part of the answer, so the answer lists them in the document's order.`;
  }
  const sentences = [...new Intl.Segmenter("en", { granularity: "sentence" }).segment(quote)].length;
  return `The question is answered in ${where}. It says: "${short}"${/[.!?…]$/.test(short) ? "" : "."} ` +
    (sentences > 1 ? "The first sentence answers the question and the next one adds what it needs, so the answer keeps both." : "That statement answers the question directly, so the answer restates it.");
}

/** The mix as a step's ledger records it; nothing for plain pairs, so the ledgers of earlier runs still match. */
export function styleSettings(mix: readonly StyleShare[] | undefined): { style?: string } {
  if (!mix?.length || (mix.length === 1 && mix[0]!.style === "qa")) return {};
  return { style: mix.map((s) => `${s.style}=${Math.round(s.weight * 1000) / 1000}`).join(",") };
}
