// Model JSON parsed and validated in one place, and the follow-up that asks the model to fix a bad reply.
import type { z } from "zod";
import type { ChatMessage } from "./types.ts";

export type ParsedReply<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse a reply as JSON (tolerating code fences and chatter around one object) and validate it. */
export function parseJsonReply<T>(text: string, schema: z.ZodType<T>): ParsedReply<T> {
  const candidate = extractJson(text);
  if (candidate === undefined) return { ok: false, error: `reply is not JSON: ${preview(text)}` };
  let data: unknown;
  try {
    data = JSON.parse(candidate);
  } catch (e) {
    return { ok: false, error: `reply is not valid JSON (${(e as Error).message}): ${preview(text)}` };
  }
  const parsed = schema.safeParse(data);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  return { ok: false, error: `reply does not match the schema: ${issues.join("; ")}` };
}

function extractJson(text: string): string | undefined {
  const t = text.trim();
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(t);
  const body = fenced ? fenced[1]!.trim() : t;
  if (body.startsWith("{") || body.startsWith("[")) return body;
  const start = body.search(/[{[]/);
  if (start < 0) return undefined;
  const end = Math.max(body.lastIndexOf("}"), body.lastIndexOf("]"));
  return end > start ? body.slice(start, end + 1) : body.slice(start);
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > 160 ? `${JSON.stringify(one.slice(0, 160))}…` : JSON.stringify(one);
}

/** The one repair turn: show the model its reply and what was wrong with it. */
export function repairMessages(messages: ChatMessage[], badReply: string, error: string): ChatMessage[] {
  return [
    ...messages,
    { role: "assistant", content: badReply },
    {
      role: "user",
      content: `Your reply could not be used: ${error}\nReply again with only the corrected JSON object, matching the requested schema exactly, and nothing else.`,
    },
  ];
}
