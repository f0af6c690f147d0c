// Tokens and cost per step and model, for the end-of-step summary and the step's report.
import { batchPriceFor, costOf, priceFor, type PriceTable } from "./prices.ts";
import type { ProviderName } from "./types.ts";
import type { Usage } from "../records.ts";

export interface UsageRow {
  step: string;
  provider: ProviderName;
  model: string;
  /** Requests answered by the backend (retries not counted). */
  calls: number;
  /** Requests answered from the response cache: no tokens paid. */
  cachedCalls: number;
  /** Of `calls`, those answered through the vendor's batch service (priced at its batch prices). */
  batchCalls: number;
  failedCalls: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  /** USD; 0 for local backends. */
  cost: number;
  /** false when the model is not in the price table, so cost is unknown (shown as 0). */
  priced: boolean;
}

export interface UsageSummary {
  rows: UsageRow[];
  total: { calls: number; cachedCalls: number; failedCalls: number; retries: number; inputTokens: number; outputTokens: number; cost: number };
}

export class UsageMeter {
  private readonly rows = new Map<string, UsageRow>();

  constructor(private readonly step: string, private readonly provider: ProviderName, private readonly prices: PriceTable) {}

  private row(model: string): UsageRow {
    let r = this.rows.get(model);
    if (!r) {
      const priced = priceFor(this.provider, model, this.prices) !== undefined;
      r = { step: this.step, provider: this.provider, model, calls: 0, cachedCalls: 0, batchCalls: 0, failedCalls: 0, retries: 0, inputTokens: 0, outputTokens: 0, cost: 0, priced };
      this.rows.set(model, r);
    }
    return r;
  }

  /** `batch`: the reply came through the vendor's batch service, so it is priced at batch prices. */
  record(model: string, usage: Usage, batch = false): void {
    const r = this.row(model);
    r.calls++;
    if (batch) r.batchCalls++;
    r.inputTokens += usage.inputTokens;
    r.outputTokens += usage.outputTokens;
    const price = batch ? batchPriceFor(this.provider, model, this.prices) : priceFor(this.provider, model, this.prices);
    r.cost += costOf(price, usage.inputTokens, usage.outputTokens);
  }
  recordCached(model: string): void { this.row(model).cachedCalls++; }
  recordRetry(model: string): void { this.row(model).retries++; }
  recordFailure(model: string): void { this.row(model).failedCalls++; }

  get cost(): number {
    let c = 0;
    for (const r of this.rows.values()) c += r.cost;
    return c;
  }

  summary(): UsageSummary {
    return summarize([...this.rows.values()].map((r) => ({ ...r })));
  }
}

/** Sum rows (from one client or several steps) into a summary. */
export function summarize(rows: UsageRow[]): UsageSummary {
  const total = { calls: 0, cachedCalls: 0, batchCalls: 0, failedCalls: 0, retries: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
  for (const r of rows) {
    total.calls += r.calls; total.cachedCalls += r.cachedCalls; total.failedCalls += r.failedCalls; total.retries += r.retries;
    total.inputTokens += r.inputTokens; total.outputTokens += r.outputTokens; total.cost += r.cost;
  }
  return { rows, total };
}

/** Human lines for stderr at the end of a step. */
export function formatUsage(s: UsageSummary): string {
  if (!s.rows.length) return "LLM usage: no calls";
  const lines = s.rows.map(
    (r) =>
      `  ${r.step} · ${r.provider}/${r.model}: ${r.calls} calls` +
      (r.batchCalls ? ` (${r.batchCalls} by batch, at batch prices)` : "") +
      (r.cachedCalls ? ` (+${r.cachedCalls} cached)` : "") +
      (r.retries ? `, ${r.retries} retries` : "") +
      (r.failedCalls ? `, ${r.failedCalls} failed` : "") +
      `, ${r.inputTokens.toLocaleString("en")} in / ${r.outputTokens.toLocaleString("en")} out tokens, ` +
      (r.priced ? `$${r.cost.toFixed(4)}` : "cost unknown (model not in the price table; set PIPELINE_PRICES)"),
  );
  return [`LLM usage: $${s.total.cost.toFixed(4)} for ${s.total.inputTokens + s.total.outputTokens} tokens`, ...lines].join("\n");
}
