// --dry-run: what the planned work would cost in calls, tokens, money and time, without calling anything.
import type { Settings } from "../config.ts";
import { costOf, loadPrices, priceFor, type PriceTable } from "./prices.ts";
import { resolveSelection, type SelectOptions } from "./select.ts";
import type { ProviderName } from "./types.ts";

export interface PlannedWork {
  /** Requests the step would send (e.g. chunks × 1, or pairs to judge). */
  calls: number;
  /** Estimated prompt tokens over all calls (estimatePromptTokens helps). */
  inputTokens: number;
  /** Estimated reply tokens over all calls. */
  outputTokens: number;
}

export interface PlanEstimate extends PlannedWork {
  provider: ProviderName;
  model: string;
  /** USD; undefined when the model is not in the price table. */
  cost?: number;
  seconds: number;
  /** What sets the pace: the number of parallel requests, or a rate limit. */
  limitedBy: "concurrency" | "rpm" | "tpm";
}

export interface PlanLimits { concurrency: number; rpm?: number; tpm?: number; prices: PriceTable }

/** Rough generation speeds (reply tokens per second per request) by where the model runs. */
const TOKENS_PER_SECOND: Record<ProviderName, number> = { openai: 60, claude: 50, gemini: 80, ollama: 20, "llama-cpp": 8, extractive: Infinity };
const FIRST_TOKEN_SECONDS = 0.6;

export function estimatePlan(work: PlannedWork, provider: ProviderName, model: string, limits: PlanLimits): PlanEstimate {
  const base = { ...work, provider, model };
  if (provider === "extractive" || work.calls === 0) return { ...base, cost: 0, seconds: 0, limitedBy: "concurrency" };
  const price = priceFor(provider, model, limits.prices);
  const perCall = FIRST_TOKEN_SECONDS + work.outputTokens / work.calls / TOKENS_PER_SECOND[provider];
  // llama-cpp runs one request at a time in this process.
  const parallel = provider === "llama-cpp" ? 1 : limits.concurrency;
  const candidates: Array<[PlanEstimate["limitedBy"], number]> = [["concurrency", (work.calls * perCall) / parallel]];
  if (limits.rpm) candidates.push(["rpm", (work.calls / limits.rpm) * 60]);
  if (limits.tpm) candidates.push(["tpm", ((work.inputTokens + work.outputTokens) / limits.tpm) * 60]);
  const [limitedBy, seconds] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { ...base, cost: price ? costOf(price, work.inputTokens, work.outputTokens) : undefined, seconds, limitedBy };
}

export function formatPlan(e: PlanEstimate, step?: string): string {
  const cost = e.cost === undefined ? "unknown (model not in the price table; set PIPELINE_PRICES)" : `$${e.cost.toFixed(4)}`;
  return [
    `dry run${step ? ` of ${step}` : ""}: ${e.provider} / ${e.model}`,
    `  calls:   ${e.calls.toLocaleString("en")}`,
    `  tokens:  ~${e.inputTokens.toLocaleString("en")} in + ~${e.outputTokens.toLocaleString("en")} out`,
    `  cost:    ${cost}`,
    `  time:    ~${formatSeconds(e.seconds)} (limited by ${e.limitedBy})`,
  ].join("\n");
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** For a step's --dry-run: pick the backend as a real run would (no key needed), estimate, print to stderr. */
export async function dryRun(settings: Settings, work: PlannedWork, opts: SelectOptions & { step?: string; write?: (text: string) => void } = {}): Promise<PlanEstimate> {
  const sel = await resolveSelection(settings, opts);
  const estimate = estimatePlan(work, sel.provider, sel.model, { concurrency: settings.concurrency, rpm: settings.rpm, tpm: settings.tpm, prices: loadPrices(settings.prices) });
  (opts.write ?? ((t) => process.stderr.write(t)))(formatPlan(estimate, opts.step) + "\n");
  return estimate;
}
