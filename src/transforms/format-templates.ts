// The four training-data shapes, each exactly as its ecosystem loads it unchanged: alpaca (instruction/input/
// output), chatml (a rendered <|im_start|> text), sharegpt (conversations with from/value), openai (chat
// fine-tuning `messages`). `render()` writes them; `toMessages()` reads any of them back — the one place that does.
import { ExampleData, type AlpacaData, type ChatmlData, type OpenaiData, type SharegptData } from "../records.ts";

export type TemplateName = "alpaca" | "chatml" | "sharegpt" | "openai";
export const TEMPLATES: readonly TemplateName[] = ["alpaca", "chatml", "sharegpt", "openai"];

export interface Turn { question: string; answer: string; system?: string }
export type Role = "system" | "user" | "assistant";
export interface Message { role: Role; content: string }

const IM_START = "<|im_start|>";
const IM_END = "<|im_end|>";

export function alpaca(t: Turn): AlpacaData {
  return t.system ? { instruction: t.question, input: "", output: t.answer, system: t.system } : { instruction: t.question, input: "", output: t.answer };
}

/** ChatML as one text field, the form trainers take for raw-text (completion) datasets. */
export function chatml(t: Turn): ChatmlData {
  const block = (role: Role, content: string) => `${IM_START}${role}\n${content}${IM_END}\n`;
  return { text: (t.system ? block("system", t.system) : "") + block("user", t.question) + block("assistant", t.answer) };
}

export function sharegpt(t: Turn): SharegptData {
  const conversations: SharegptData["conversations"] = [];
  if (t.system) conversations.push({ from: "system", value: t.system });
  conversations.push({ from: "human", value: t.question }, { from: "gpt", value: t.answer });
  return { conversations };
}

export function openai(t: Turn): OpenaiData {
  const messages: OpenaiData["messages"] = [];
  if (t.system) messages.push({ role: "system", content: t.system });
  messages.push({ role: "user", content: t.question }, { role: "assistant", content: t.answer });
  return { messages };
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
    return [...(d.system ? [{ role: "system" as const, content: d.system }] : []), { role: "user", content: user }, { role: "assistant", content: d.output }];
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
