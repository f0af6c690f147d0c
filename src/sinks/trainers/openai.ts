// OpenAI fine-tuning's data rules, checked before upload
// (https://platform.openai.com/docs/guides/supervised-fine-tuning, "Preparing your dataset"): at least 10 examples
// (errors below that; 50-100 recommended), messages of role system/user/assistant with string content, at least
// one assistant message, and each example within the model's context (per-example token limit).
import type { TrainerLayout } from "./targets.ts";

export const OPENAI_MIN_EXAMPLES = 10;
export const OPENAI_RECOMMENDED_EXAMPLES = 50;
/** gpt-4o-mini's training context, the smallest of the current fine-tunable models; longer examples are truncated. */
export const OPENAI_EXAMPLE_TOKEN_LIMIT = 65536;

export interface OpenaiProblem { level: "error" | "warn"; line?: number; message: string }

/** Roughly 4 characters a token in English (OpenAI's rule of thumb); enough to flag examples near the limit. */
const roughTokens = (text: string): number => Math.ceil(text.length / 4);

export function checkOpenaiExamples(lines: unknown[], file: string): OpenaiProblem[] {
  const out: OpenaiProblem[] = [];
  if (lines.length < OPENAI_MIN_EXAMPLES) out.push({ level: "error", message: `${file}: ${lines.length} example(s); OpenAI fine-tuning needs at least ${OPENAI_MIN_EXAMPLES} (lower --threshold or add documents)` });
  else if (lines.length < OPENAI_RECOMMENDED_EXAMPLES) out.push({ level: "warn", message: `${file}: ${lines.length} examples; OpenAI recommends ${OPENAI_RECOMMENDED_EXAMPLES}-100 for a clear improvement` });
  lines.forEach((value, i) => {
    const line = i + 1;
    const messages = (value as { messages?: unknown }).messages;
    if (!Array.isArray(messages) || !messages.length) { out.push({ level: "error", line, message: `${file}:${line}: no messages list` }); return; }
    let tokens = 0;
    for (const m of messages as Array<{ role?: unknown; content?: unknown }>) {
      if (m.role !== "system" && m.role !== "user" && m.role !== "assistant") out.push({ level: "error", line, message: `${file}:${line}: role ${JSON.stringify(m.role)}; use system, user or assistant` });
      if (typeof m.content !== "string") out.push({ level: "error", line, message: `${file}:${line}: a message's content is not a string` });
      else tokens += roughTokens(m.content) + 4;
    }
    if (!messages.some((m: { role?: unknown }) => m.role === "assistant")) out.push({ level: "error", line, message: `${file}:${line}: no assistant message to learn from` });
    if (tokens > OPENAI_EXAMPLE_TOKEN_LIMIT) out.push({ level: "warn", line, message: `${file}:${line}: about ${tokens} tokens, over the ${OPENAI_EXAMPLE_TOKEN_LIMIT}-token example limit; it will be truncated` });
  });
  return out;
}

export function openaiLayout(files: { train: string; valid?: string }): TrainerLayout {
  return {
    files: [],
    commands: [
      `openai api files.create -f ${files.train} -p fine-tune${files.valid ? ` && openai api files.create -f ${files.valid} -p fine-tune` : ""}`,
      `openai api fine_tuning.jobs.create -m gpt-4o-mini-2024-07-18 -F <training file id>${files.valid ? " -V <validation file id>" : ""}`,
    ],
  };
}
