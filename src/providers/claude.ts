// Anthropic Claude backend: structured output through one forced tool whose input_schema is the schema.
import Anthropic from "@anthropic-ai/sdk";
import { toProviderError, type ErrorContext } from "./errors.ts";
import { probeReachable, requireKey } from "./probe.ts";
import type { BackendOptions, GenerateRequest, GenerateResult, Provider } from "./types.ts";

export const CLAUDE_DEFAULT_MODEL = "claude-3-5-haiku-latest";
export const CLAUDE_DEFAULT_URL = "https://api.anthropic.com";
/** Anthropic requires max_tokens on every request. */
const DEFAULT_MAX_TOKENS = 4096;

/** The Messages API params for a request: the same whether sent now or inside a message batch (batch/claude.ts). */
export function claudeParams(req: GenerateRequest, model: string): Anthropic.MessageCreateParamsNonStreaming {
  // Claude takes the system prompt apart from the turns.
  const system = req.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  const turns = req.messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role as "user" | "assistant", content: m.content }));
  return {
    model,
    max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: turns,
    ...(system && { system }),
    ...(req.temperature !== undefined && { temperature: Math.min(1, req.temperature) }),
    ...(req.schema && {
      tools: [{ name: req.schema.name, description: `Reply with a ${req.schema.name} object.`, input_schema: req.schema.schema as Anthropic.Tool.InputSchema }],
      tool_choice: { type: "tool" as const, name: req.schema.name },
    }),
  };
}

/** A message → our result: the forced tool's input as JSON text (also each succeeded line of a batch's results). */
export function fromClaudeMessage(res: Anthropic.Message, model: string): GenerateResult {
  let text = "";
  for (const block of res.content ?? []) {
    if (block.type === "tool_use") { text = JSON.stringify(block.input); break; }
    if (block.type === "text") text += block.text;
  }
  return {
    text,
    usage: { inputTokens: res.usage?.input_tokens ?? 0, outputTokens: res.usage?.output_tokens ?? 0 },
    model: res.model || model,
    finishReason: res.stop_reason ?? undefined,
  };
}

export function claudeProvider(opts: BackendOptions): Provider {
  const baseURL = opts.baseURL ?? CLAUDE_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "claude", model: opts.model, baseURL, keyVar: "ANTHROPIC_API_KEY", urlVar: "--base-url or ANTHROPIC_BASE_URL", apiKey: opts.apiKey };
  const client = new Anthropic({ apiKey: opts.apiKey ?? null, baseURL, fetch: opts.fetch, maxRetries: 0, timeout: 24 * 3600_000 });

  return {
    name: "claude",
    baseURL,
    model: opts.model,
    async generate(req: GenerateRequest): Promise<GenerateResult> {
      try {
        const res = await client.messages.create(claudeParams(req, opts.model), { signal: req.signal });
        return fromClaudeMessage(res, opts.model);
      } catch (error) {
        throw toProviderError(error, ctx, req.signal);
      }
    },
    async check() {
      requireKey(opts.apiKey, "claude", "ANTHROPIC_API_KEY");
      await probeReachable(baseURL, "the Anthropic API", "check your network, --base-url or ANTHROPIC_BASE_URL", { fetch: opts.fetch });
    },
  };
}
