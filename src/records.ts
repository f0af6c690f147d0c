// The record types that flow between stages: one zod schema each, the single source of truth.
import { createHash } from "node:crypto";
import { z } from "zod";

/** Stable id: a short hash of the parts that make a record what it is (content + parent). */
export function stableId(prefix: string, ...parts: Array<string | number | undefined>): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(String(p ?? "")).update("\u0000");
  return `${prefix}_${h.digest("hex").slice(0, 16)}`;
}

const Usage = z.object({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() });
export type Usage = z.infer<typeof Usage>;

export const DocRecord = z.object({
  type: z.literal("doc"),
  id: z.string().min(1),
  source: z.string().min(1),
  text: z.string(),
  title: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type DocRecord = z.infer<typeof DocRecord>;

/** A doc record as a user may write it by hand in NDJSON: only `text` is required. */
export const DocInput = z.object({
  type: z.literal("doc").optional(),
  id: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  text: z.string(),
  title: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

export const ChunkRecord = z.object({
  type: z.literal("chunk"),
  id: z.string().min(1),
  docId: z.string().min(1),
  source: z.string(),
  seq: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  text: z.string(),
});
export type ChunkRecord = z.infer<typeof ChunkRecord>;

/** How a record's data is shaped: a plain pair, a conversation of 2–4 turns, or an answer with its worked reasoning. */
export const QaStyle = z.enum(["qa", "multi-turn", "reasoning"]);
export type QaStyle = z.infer<typeof QaStyle>;
export const QA_STYLES = QaStyle.options;

/** One question and answer of a conversation, with the quote that supports the answer. */
export const QaTurn = z.object({ question: z.string(), answer: z.string(), evidence: z.string().default("") });
export type QaTurn = z.infer<typeof QaTurn>;

export const QaRecord = z.object({
  type: z.literal("qa"),
  id: z.string().min(1),
  docId: z.string(),
  chunkId: z.string(),
  source: z.string(),
  question: z.string(),
  answer: z.string(),
  evidence: z.string().default(""),
  /** The chunk text the pair was made from, so validate can check grounding without the chunk file. */
  context: z.string().optional(),
  start: z.number().int().nonnegative().optional(),
  end: z.number().int().nonnegative().optional(),
  provider: z.string(),
  model: z.string(),
  usage: Usage.default({ inputTokens: 0, outputTokens: 0 }),
  /** Set when generation failed for this chunk: the pair is recorded, never silently dropped. */
  error: z.string().optional(),
  /** Absent means "qa". */
  style: QaStyle.optional(),
  /**
   * multi-turn: every turn in order (2–4). question/answer/evidence repeat the first turn, so a tool that knows
   * only pairs still reads a true pair.
   */
  turns: z.array(QaTurn).min(2).optional(),
  /** reasoning: the worked explanation that leads to `answer` (kept apart so format can shape it per trainer). */
  reasoning: z.string().optional(),
});
export type QaRecord = z.infer<typeof QaRecord>;

export const Scores = z.object({
  accuracy: z.number().min(0).max(10),
  relevance: z.number().min(0).max(10),
  clarity: z.number().min(0).max(10),
  completeness: z.number().min(0).max(10),
  overall: z.number().min(0).max(10),
});
export type Scores = z.infer<typeof Scores>;

export const Verdict = z.enum(["PASS", "NEEDS_REVIEW", "FAIL"]);
export type Verdict = z.infer<typeof Verdict>;

export const Checks = z.object({
  grounded: z.boolean(),
  supported: z.boolean().optional(),
  duplicateOf: z.string().nullable().default(null),
  length: z.enum(["ok", "too_short", "too_long"]).default("ok"),
  language: z.string().optional(),
  languageMatches: z.boolean().optional(),
  /** 0–1: the answer answers this question, against the chunk's best passage (checks/answer-fit.ts). */
  answerFit: z.number().min(0).max(1).optional(),
  /** The answer stops mid-sentence. */
  truncated: z.boolean().optional(),
  /** multi-turn: the checks of each turn (the fields above then hold the worst of them). */
  turns: z.array(z.object({
    grounded: z.boolean(),
    supported: z.boolean().optional(),
    answerFit: z.number().min(0).max(1).optional(),
    truncated: z.boolean().optional(),
  })).optional(),
});
export type Checks = z.infer<typeof Checks>;

export const ScoredRecord = QaRecord.extend({
  type: z.literal("scored"),
  qaId: z.string(),
  scores: Scores,
  verdict: Verdict,
  checks: Checks,
  judge: z.object({ provider: z.string(), model: z.string(), usage: Usage, error: z.string().optional() }).optional(),
});
export type ScoredRecord = z.infer<typeof ScoredRecord>;

// The four shapes of an example's data, each exactly as its ecosystem loads it; the keys tell them apart
// (instruction / text / conversations / messages), so a bare training-file line needs no template tag.
/** Alpaca; `history` holds the earlier [question, answer] turns of a conversation, as LLaMA-Factory reads it. */
export const AlpacaData = z.object({ instruction: z.string(), input: z.string().optional(), output: z.string(), system: z.string().optional(), history: z.array(z.tuple([z.string(), z.string()])).optional() });
export type AlpacaData = z.infer<typeof AlpacaData>;
/** ChatML as one rendered text of <|im_start|>role\n…<|im_end|>\n blocks. */
export const ChatmlData = z.object({ text: z.string() });
export type ChatmlData = z.infer<typeof ChatmlData>;
/** ShareGPT speakers; user/assistant/model appear in the wild as well as human/gpt. */
export const SharegptData = z.object({ conversations: z.array(z.object({ from: z.enum(["system", "human", "gpt", "user", "assistant", "model"]), value: z.string() })) });
export type SharegptData = z.infer<typeof SharegptData>;
export const OpenaiData = z.object({ messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })) });
export type OpenaiData = z.infer<typeof OpenaiData>;
export const ExampleData = z.union([AlpacaData, ChatmlData, SharegptData, OpenaiData]);
export type ExampleData = AlpacaData | ChatmlData | SharegptData | OpenaiData;

export const Split = z.enum(["train", "valid"]);
export const ExampleRecord = z.object({
  type: z.literal("example"),
  id: z.string(),
  qaId: z.string(),
  docId: z.string(),
  chunkId: z.string(),
  source: z.string(),
  start: z.number().int().optional(),
  end: z.number().int().optional(),
  template: z.enum(["alpaca", "chatml", "sharegpt", "openai"]),
  split: Split,
  /**
   * The formatted training record, in the target ecosystem's own shape. Read it through `exampleData()`
   * (transforms/format-templates.ts): records written by hand may hold anything here.
   */
  data: z.record(z.string(), z.unknown()),
  /** Set when a person reviewed the pair (pipeline review): accepted whatever its score, and/or its text edited. */
  review: z.object({ accepted: z.boolean().optional(), edited: z.boolean().optional() }).optional(),
});
export type ExampleRecord = z.infer<typeof ExampleRecord>;

export const AnyRecord = z.discriminatedUnion("type", [DocRecord, ChunkRecord, QaRecord, ScoredRecord, ExampleRecord]);
export type AnyRecord = z.infer<typeof AnyRecord>;

export function docId(source: string, text: string): string {
  return stableId("doc", source, text);
}
export function chunkId(docIdValue: string, seq: number, text: string): string {
  return stableId("chunk", docIdValue, seq, text);
}
export function qaId(chunkIdValue: string, question: string, answer: string): string {
  return stableId("qa", chunkIdValue, question, answer);
}
