// The four training-data shapes, each exactly as its ecosystem loads it unchanged: alpaca (instruction/input/
// output), chatml (a rendered <|im_start|> text), sharegpt (conversations with from/value), openai (chat
// fine-tuning `messages`). `render()` writes them; `toMessages()` reads any of them back — the one place that does.
import { ExampleData, type AlpacaData, type ChatmlData, type OpenaiData, type SharegptData } from "../records.ts";

export type TemplateName = "alpaca" | "chatml" | "sharegpt" | "openai";
export const TEMPLATES: readonly TemplateName[] = ["alpaca", "chatml", "sharegpt", "openai"];

/**
 * What one example says: a question and its answer, after the earlier turns of the conversation when there are
 * any (`history`, oldest first), under an optional system prompt.
 */
export interface Turn { question: string; answer: string; system?: string; history?: Array<{ question: string; answer: string }> }
export type Role = "system" | "user" | "assistant";
export interface Message { role: Role; content: string }

const IM_START = "<|im_start|>";
const IM_END = "<|im_end|>";

/** The example as chat messages: system, then user/assistant for every turn. */
export function turnMessages(t: Turn): Message[] {
  const out: Message[] = t.system ? [{ role: "system", content: t.system }] : [];
  for (const h of [...(t.history ?? []), t]) out.push({ role: "user", content: h.question }, { role: "assistant", content: h.answer });
  return out;
}

/** Alpaca: the last turn as instruction/output, earlier turns in `history` (LLaMA-Factory's alpaca format). */
export function alpaca(t: Turn): AlpacaData {
  const d: AlpacaData = { instruction: t.question, input: "", output: t.answer };
  if (t.system) d.system = t.system;
  if (t.history?.length) d.history = t.history.map((h) => [h.question, h.answer]);
  return d;
}

/** ChatML as one text field, the form trainers take for raw-text (completion) datasets. */
export function chatml(t: Turn): ChatmlData {
  return { text: turnMessages(t).map((m) => `${IM_START}${m.role}\n${m.content}${IM_END}\n`).join("") };
}

const SHAREGPT_FROM: Record<Role, "system" | "human" | "gpt"> = { system: "system", user: "human", assistant: "gpt" };
export function sharegpt(t: Turn): SharegptData {
  return { conversations: turnMessages(t).map((m) => ({ from: SHAREGPT_FROM[m.role], value: m.content })) };
}

export function openai(t: Turn): OpenaiData {
  return { messages: turnMessages(t) };
}

/**
 * A reasoning answer as trainers take it: `think` puts the reasoning in a <think>…</think> block before the answer
 * (the form of models whose chat template has one: Qwen3, DeepSeek-R1 and their distills), `plain` writes it as
 * text followed by the answer.
 */
export type ReasoningFormat = "think" | "plain";
export const REASONING_FORMATS: readonly ReasoningFormat[] = ["think", "plain"];
export function answerWithReasoning(reasoning: string, answer: string, format: ReasoningFormat): string {
  return format === "think" ? `<think>\n${reasoning}\n</think>\n\n${answer}` : `${reasoning}\n\nAnswer: ${answer}`;
}

export function render(template: "alpaca", t: Turn): AlpacaData;
export function render(template: "chatml", t: Turn): ChatmlData;
export function render(template: "sharegpt", t: Turn): SharegptData;
export function render(template: "openai", t: Turn): OpenaiData;
export function render(template: TemplateName, t: Turn): ExampleData;
export function render(template: TemplateName, t: Turn): ExampleData {
  switch (template) {
    case "alpaca": return alpaca(t);
    case "chatml": return chatml(t);
    case "sharegpt": return sharegpt(t);
    case "openai": return openai(t);
  }
}

/** The data of an example in one of the four shapes, or undefined when it is none of them. */
export function exampleData(value: unknown): ExampleData | undefined {
  const parsed = ExampleData.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function templateOf(d: ExampleData): TemplateName {
  return "instruction" in d ? "alpaca" : "text" in d ? "chatml" : "conversations" in d ? "sharegpt" : "openai";
}

const SPEAKER: Record<SharegptData["conversations"][number]["from"], Role> = { system: "system", human: "user", user: "user", gpt: "assistant", assistant: "assistant", model: "assistant" };

/** The conversation an example holds, whichever shape; undefined for a chatml text that is not exactly ChatML blocks. */
export function toMessages(d: ExampleData): Message[] | undefined {
  if ("instruction" in d) {
    const user = d.input ? `${d.instruction}\n\n${d.input}` : d.instruction;
    const history = (d.history ?? []).map(([question, answer]) => ({ question, answer }));
    return turnMessages({ question: user, answer: d.output, system: d.system, history });
  }
  if ("text" in d) return parseChatml(d.text);
  if ("conversations" in d) return d.conversations.map((m) => ({ role: SPEAKER[m.from], content: m.value }));
  return d.messages.map((m) => ({ role: m.role, content: m.content }));
}

/** `<|im_start|>role\ncontent<|im_end|>\n` blocks, the whole text and nothing else (the newline after the last block may be missing). */
export function parseChatml(text: string): Message[] | undefined {
  const block = /<\|im_start\|>(system|user|assistant)\n([\s\S]*?)<\|im_end\|>(?:\n|$)/y;
  const out: Message[] = [];
  while (block.lastIndex < text.length) {
    const at = block.lastIndex;
    const m = block.exec(text);
    if (!m || m.index !== at) return undefined;
    out.push({ role: m[1] as Role, content: m[2]! });
  }
  return out.length ? out : undefined;
}

/** A trainable conversation in a training-file value: one of the four shapes, ending with an assistant answer. */
export function conversationOf(value: unknown): Message[] | undefined {
  const d = exampleData(value);
  const messages = d && toMessages(d);
  return messages && messages.length >= 2 && messages.at(-1)!.role === "assistant" ? messages : undefined;
}
