// Opens the LLM client a step uses (provider layer's openClient); `extractive` means no client at all,
// and --dry-run estimates the planned calls from the input instead of making them.
import type { Settings } from "../config.ts";
import { openClient, type PipelineClient } from "../providers/client.ts";
import { dryRun } from "../providers/plan.ts";
import { estimatePromptTokens } from "../providers/tokens.ts";
import type { ChatMessage } from "../providers/types.ts";

/** null means: build output offline (extractive generator / heuristic judge). */
export async function openStepClient(settings: Settings, step: string, defaultCacheDir?: string): Promise<PipelineClient | null> {
  if (settings.provider === "extractive") return null;
  const client = await openClient(settings, { step, defaultCacheDir });
  if (client.provider === "extractive") {
    await client.close();
    return null;
  }
  return client;
}

/**
 * --dry-run: stream the input once, build each prompt as the real run would, sum estimated tokens,
 * and let the provider layer price and time it. Nothing is called.
 */
export async function planFromInput<T>(settings: Settings, step: string, input: AsyncIterable<T>, prompt: (record: T) => ChatMessage[] | null, outputTokensPerCall: number, schema?: Record<string, unknown>): Promise<void> {
  let calls = 0;
  let inputTokens = 0;
  for await (const r of input) {
    const messages = prompt(r);
    if (!messages) continue;
    calls++;
    inputTokens += estimatePromptTokens(messages, schema);
  }
  await dryRun(settings, { calls, inputTokens, outputTokens: calls * outputTokensPerCall }, { step });
}

/**
 * Records a step keeps in flight for a client: twice its request concurrency. The client never sends more
 * than --concurrency requests at once; the extra records keep its slots fed while a record waits out a
 * retry's backoff (after a timeout, say) or is parsed and checked, so no slot idles for want of work.
 */
export const recordsInFlight = (client: PipelineClient | null | undefined): number => (client ? 2 * client.config.concurrency : 1);
