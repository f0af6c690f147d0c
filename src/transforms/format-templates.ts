// The four training-data shapes, each exactly as its ecosystem loads it unchanged:
// alpaca (instruction/input/output), chatml (a rendered <|im_start|> text), sharegpt (conversations
// with from/value), openai (chat fine-tuning `messages`).
export type TemplateName = "alpaca" | "chatml" | "sharegpt" | "openai";
export const TEMPLATES: readonly TemplateName[] = ["alpaca", "chatml", "sharegpt", "openai"];

export interface Turn { question: string; answer: string; system?: string }

export function alpaca(t: Turn): { instruction: string; input: string; output: string; system?: string } {
  return t.system ? { instruction: t.question, input: "", output: t.answer, system: t.system } : { instruction: t.question, input: "", output: t.answer };
}

/** ChatML as one text field, the form trainers take for raw-text (completion) datasets. */
export function chatml(t: Turn): { text: string } {
  const block = (role: string, content: string) => `<|im_start|>${role}\n${content}<|im_end|>\n`;
  return { text: (t.system ? block("system", t.system) : "") + block("user", t.question) + block("assistant", t.answer) };
}

export function sharegpt(t: Turn): { conversations: Array<{ from: "system" | "human" | "gpt"; value: string }> } {
  const conversations: Array<{ from: "system" | "human" | "gpt"; value: string }> = [];
  if (t.system) conversations.push({ from: "system", value: t.system });
  conversations.push({ from: "human", value: t.question }, { from: "gpt", value: t.answer });
  return { conversations };
}

export function openai(t: Turn): { messages: Array<{ role: "system" | "user" | "assistant"; content: string }> } {
  const messages: Array<{ role: "system" | "user" | "assistant"; content: string }> = [];
  if (t.system) messages.push({ role: "system", content: t.system });
  messages.push({ role: "user", content: t.question }, { role: "assistant", content: t.answer });
  return { messages };
}

export function render(template: TemplateName, t: Turn): Record<string, unknown> {
  switch (template) {
    case "alpaca": return alpaca(t);
    case "chatml": return chatml(t);
    case "sharegpt": return sharegpt(t);
    case "openai": return openai(t);
  }
}
