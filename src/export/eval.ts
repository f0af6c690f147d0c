// Held-out evaluation: each validation question answered by the base and the fine-tuned model, scored by a judge
// model when one is configured, otherwise by token-overlap F1 against the reference answer (SQuAD's metric).
import { z } from "zod";
import { parseJsonReply } from "../providers/json-reply.ts";
import { jsonSchemaSpec } from "../providers/json-schema.ts";
import type { GenerateRequest, GenerateResult } from "../providers/types.ts";
import type { ExampleRecord } from "../records.ts";
import { exampleData, toMessages } from "../transforms/format-templates.ts";

/** One held-out question; `history` holds the earlier turns of its conversation (with their reference answers). */
export interface EvalItem { id: string; question: string; reference: string; system?: string; history?: Array<{ role: "user" | "assistant"; content: string }> }
export type Answerer = (item: EvalItem) => Promise<string>;
/** Anything that can answer a chat request: a Provider or an LlmClient. */
export interface JudgeModel { readonly model: string; readonly provider?: string; readonly name?: string; generate(req: GenerateRequest): Promise<GenerateResult> }

export interface EvalScore { answer: string; score: number; reason?: string }
export interface EvalRow { id: string; question: string; reference: string; results: Record<string, EvalScore> }
export interface EvalReport {
  scorer: string;
  /** Model labels in column order, e.g. ["base", "fine-tuned"]. */
  models: string[];
  rows: EvalRow[];
  /** Mean score per model, 0..1. */
  mean: Record<string, number>;
}

/**
 * The held-out questions of a formatted example, whichever template wrote it: one per assistant turn, each after
 * the turns before it (so a conversation is asked turn by turn, as a user would), with the system prompt.
 */
export function evalItemsFromExample(ex: ExampleRecord): EvalItem[] {
  const data = exampleData(ex.data);
  const messages = data && toMessages(data);
  if (!messages) return [];
  const system = messages.find((m) => m.role === "system")?.content;
  const chat = messages.filter((m): m is { role: "user" | "assistant"; content: string } => m.role !== "system");
  const items: EvalItem[] = [];
  chat.forEach((m, i) => {
    if (m.role !== "assistant" || chat[i - 1]?.role !== "user") return;
    const history = chat.slice(0, i - 1);
    items.push({ id: items.length ? `${ex.id}#${items.length + 1}` : ex.id, question: chat[i - 1]!.content, reference: m.content, ...(system ? { system } : {}), ...(history.length ? { history } : {}) });
  });
  return items;
}

/** The first held-out question of an example (its only one unless it is a conversation). */
export function evalItemFromExample(ex: ExampleRecord): EvalItem | undefined {
  return evalItemsFromExample(ex)[0];
}

/** The final answer of a reply that shows its reasoning in a <think> block: what F1 compares. */
const finalAnswer = (text: string) => text.replace(/^\s*<think>[\s\S]*?<\/think>\s*/, "");

const ARTICLES = new Set(["a", "an", "the"]);
/** SQuAD normalization: lower case, no punctuation, no articles, single spaces. Unicode letters count. */
export function normalizeTokens(text: string): string[] {
  return text.toLowerCase().normalize("NFKC").replace(/[^\p{L}\p{N}\s]/gu, " ").split(/\s+/).filter((t) => t && !ARTICLES.has(t));
}

export function tokenF1(prediction: string, reference: string): number {
  const p = normalizeTokens(prediction), r = normalizeTokens(reference);
  if (!p.length || !r.length) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) { common++; counts.set(t, c - 1); }
  }
  if (!common) return 0;
  const precision = common / p.length, recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

const Grade = z.object({ score: z.number().min(0).max(10), reason: z.string() });
/** What the judge is asked for (OpenAI strict mode: every field required, no others). */
const JUDGE_SCHEMA = jsonSchemaSpec("answer_grade", Grade.strict(), { strict: true });
/** What is accepted back: a score given as a numeric string counts; the reason may be missing. */
const JudgeReply = Grade.extend({ score: z.coerce.number().min(0).max(10), reason: z.string().optional() });

/** A judge's grade, 0..1. A reply that is not a grade counts as 0 with the reason kept, never as a crash. */
export async function judgeScore(judge: JudgeModel, item: EvalItem, answer: string): Promise<{ score: number; reason?: string }> {
  const messages: GenerateRequest["messages"] = [
    { role: "system", content: "You grade answers against a reference answer. Reply with JSON only: {\"score\": 0-10, \"reason\": \"one sentence\"}. 10 = same facts as the reference, 0 = wrong or empty." },
    { role: "user", content: `Question: ${item.question}\n\nReference answer: ${item.reference}\n\nAnswer to grade: ${answer || "(empty)"}` },
  ];
  const res = await judge.generate({ messages, schema: JUDGE_SCHEMA, temperature: 0, maxTokens: 200 });
  const parsed = parseJsonReply(res.text, JudgeReply);
  if (!parsed.ok) return { score: 0, reason: `judge reply unusable: ${parsed.error}` };
  return { score: parsed.value.score / 10, ...(parsed.value.reason ? { reason: parsed.value.reason } : {}) };
}

export interface RunEvalOptions {
  items: EvalItem[];
  /** Label → answerer, in column order (e.g. { base, "fine-tuned" }). */
  answerers: Record<string, Answerer>;
  judge?: JudgeModel;
  onProgress?: (done: number, total: number) => void;
}

export async function runEval(o: RunEvalOptions): Promise<EvalReport> {
  const models = Object.keys(o.answerers);
  const rows: EvalRow[] = [];
  const total = o.items.length * models.length;
  let done = 0;
  for (const item of o.items) {
    const results: Record<string, EvalScore> = {};
    for (const label of models) {
      const answer = (await o.answerers[label]!(item)).trim();
      const graded = o.judge ? await judgeScore(o.judge, item, answer) : { score: tokenF1(finalAnswer(answer), finalAnswer(item.reference)) };
      results[label] = { answer, ...graded };
      o.onProgress?.(++done, total);
    }
    rows.push({ id: item.id, question: item.question, reference: item.reference, results });
  }
  const mean: Record<string, number> = {};
  for (const label of models) mean[label] = rows.length ? rows.reduce((s, r) => s + r.results[label]!.score, 0) / rows.length : 0;
  const scorer = o.judge ? `judge ${o.judge.provider ?? o.judge.name ?? ""}${o.judge.provider || o.judge.name ? "/" : ""}${o.judge.model} (0-10, shown as 0-1)` : "token-overlap F1 vs reference";
  return { scorer, models, rows, mean };
}

const cell = (s: string, max = 80) => {
  const one = s.replace(/\s+/g, " ").trim().replace(/\|/g, "\\|");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** Markdown: the summary line per model, then one row per question. Used by the model card and the terminal. */
export function evalMarkdown(r: EvalReport, maxRows = 20): string {
  if (!r.rows.length) return "_No held-out questions: the validation split is empty._\n";
  const lines = [
    `Scored by ${r.scorer} on ${r.rows.length} held-out question${r.rows.length === 1 ? "" : "s"} (validation split).`,
    "",
    `| model | mean score |`,
    `|---|---|`,
    ...r.models.map((m) => `| ${m} | ${r.mean[m]!.toFixed(3)} |`),
    "",
    `| question | reference | ${r.models.map((m) => `${m} answer | ${m} score`).join(" | ")} |`,
    `|${"---|".repeat(2 + r.models.length * 2)}`,
    ...r.rows.slice(0, maxRows).map((row) => `| ${cell(row.question)} | ${cell(row.reference)} | ${r.models.map((m) => `${cell(row.results[m]!.answer)} | ${row.results[m]!.score.toFixed(2)}`).join(" | ")} |`),
  ];
  if (r.rows.length > maxRows) lines.push("", `(${r.rows.length - maxRows} more rows in eval.json)`);
  return lines.join("\n") + "\n";
}

/** A short table for the terminal. */
export function evalSummary(r: EvalReport): string {
  if (!r.rows.length) return "eval: no held-out questions (validation split is empty)";
  const parts = r.models.map((m) => `${m} ${r.mean[m]!.toFixed(3)}`);
  return `eval (${r.scorer}, ${r.rows.length} questions): ${parts.join(" · ")}`;
}
