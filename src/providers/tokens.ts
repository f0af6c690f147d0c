// Token estimates for planning and rate limiting, before a server has counted anything.
import type { ChatMessage } from "./types.ts";

/** About four characters per token for English text with common BPE vocabularies. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Prompt tokens plus a few per message for the chat template's framing. */
export function estimatePromptTokens(messages: ChatMessage[], schema?: Record<string, unknown>): number {
  let n = 0;
  for (const m of messages) n += 4 + estimateTokens(m.content);
  if (schema) n += estimateTokens(JSON.stringify(schema));
  return n;
}
