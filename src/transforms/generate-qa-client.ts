// Opens the LLM client a step uses (provider layer's openClient); `extractive` means no client at all,
// and --dry-run estimates the planned calls from the input instead of making them.
import type { Settings } from "../config.ts";
import { openClient, type PipelineClient } from "../providers/client.ts";
import { dryRun } from "../providers/plan.ts";
import { estimateBatches, formatBatchPlan, splitBatches } from "../providers/batch/plan.ts";
import type { BatchLine } from "../providers/batch/types.ts";
import { batchVendorFor, requireBatchProvider } from "../providers/batch/vendor.ts";
import { loadPrices } from "../providers/prices.ts";
import { normalizeProviderName, resolveSelection } from "../providers/select.ts";
import { estimatePromptTokens } from "../providers/tokens.ts";
import type { ChatMessage } from "../providers/types.ts";

/** null means: build output offline (extractive generator / heuristic judge). */
export async function openStepClient(settings: Settings, step: string, defaultCacheDir?: string): Promise<PipelineClient | null> {
  // --batch with a backend that has no batch service is refused before anything is loaded or sent.
  if (settings.batch && settings.provider) requireBatchProvider(normalizeProviderName(settings.provider));
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
  if (settings.batch) return planBatches(settings, step, input, prompt, outputTokensPerCall, schema);
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

/** --dry-run --batch: the batches the first round would submit (split by the vendor's limits), their bytes and cost. */
async function planBatches<T>(settings: Settings, step: string, input: AsyncIterable<T>, prompt: (record: T) => ChatMessage[] | null, outputTokensPerCall: number, schema?: Record<string, unknown>): Promise<void> {
  const sel = await resolveSelection(settings);
  requireBatchProvider(sel.provider);
  // No request is made: a placeholder key only keeps the SDKs from warning when none is set.
  const vendor = batchVendorFor({ name: sel.provider, model: sel.model, baseURL: sel.baseURL }, { GEMINI_API_KEY: "dry-run", ...settings.env });
  const lines: BatchLine[] = [];
  let i = 0;
  for await (const r of input) {
    const messages = prompt(r);
    if (!messages) continue;
    lines.push({ customId: `r${i++}-000000000000000000000000`, request: { messages, temperature: settings.temperature, ...(schema && { schema: { name: "reply", schema } }) } });
  }
  const parts = splitBatches(lines, vendor.limits, (l) => vendor.lineBytes(l));
  const estimate = estimateBatches(parts, vendor.name, vendor.model, loadPrices(settings.prices), outputTokensPerCall);
  process.stderr.write(formatBatchPlan(estimate, parts, `dry run of ${step} --batch: ${vendor.name} / ${vendor.model}`) + "\n");
  if (settings.maxCost !== undefined && estimate.cost !== undefined && estimate.cost > settings.maxCost) {
    process.stderr.write(`  over --max-cost $${settings.maxCost}: a real run would refuse to submit\n`);
  }
}
