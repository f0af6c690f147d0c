// Anthropic Message Batches: POST /v1/messages/batches with requests[{custom_id, params}], poll processing_status
// until "ended", then read results_url (JSONL, any order). Limits: 100,000 requests or 256 MB per batch
// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing).
import Anthropic from "@anthropic-ai/sdk";
import { toProviderError, type ErrorContext } from "../errors.ts";
import { claudeParams, CLAUDE_DEFAULT_URL, fromClaudeMessage } from "../claude.ts";
import type { BackendOptions } from "../types.ts";
import type { BatchLine, BatchResults, BatchStatus, BatchVendor, LineOutcome } from "./types.ts";

/** How far a batch's created_at may be from the ledger's submittedAt and still be the lost one. */
const CREATED_WITHIN_MS = 5 * 60_000;

/** Error types worth another try; invalid_request_error and the like are not. */
const RETRYABLE = new Set(["api_error", "overloaded_error", "rate_limit_error", "timeout_error"]);

export function claudeBatch(opts: BackendOptions): BatchVendor {
  const baseURL = opts.baseURL ?? CLAUDE_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "claude", model: opts.model, baseURL, keyVar: "ANTHROPIC_API_KEY", urlVar: "--base-url or ANTHROPIC_BASE_URL", apiKey: opts.apiKey };
  const client = new Anthropic({ apiKey: opts.apiKey ?? null, baseURL, fetch: opts.fetch, maxRetries: 0, timeout: 600_000 });
  const wire = (l: BatchLine) => ({ custom_id: l.customId, params: claudeParams(l.request, opts.model) });
  const call = async <T>(fn: () => Promise<T>): Promise<T> => { try { return await fn(); } catch (e) { throw toProviderError(e, ctx); } };

  return {
    name: "claude",
    model: opts.model,
    baseURL,
    limits: { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 },
    // Each request is one element of the JSON body's array: its bytes plus a comma.
    lineBytes: (l) => Buffer.byteLength(JSON.stringify(wire(l))) + 1,
    submit: (lines) => call(async () => ({ id: (await client.messages.batches.create({ requests: lines.map(wire) })).id })),
    status: (id) => call(async (): Promise<BatchStatus> => {
      const b = await client.messages.batches.retrieve(id);
      const c = b.request_counts;
      const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
      return { id, state: b.processing_status, ended: b.processing_status === "ended", total, done: total - c.processing, failed: c.errored + c.canceled + c.expired };
    }),
    results: (id) => call(async (): Promise<BatchResults> => {
      const lines: LineOutcome[] = [];
      for await (const r of await client.messages.batches.results(id)) {
        const res = r.result;
        if (res.type === "succeeded") lines.push({ customId: r.custom_id, ok: true, result: fromClaudeMessage(res.message, opts.model) });
        else if (res.type === "errored") {
          const err = res.error?.error;
          lines.push({ customId: r.custom_id, ok: false, error: `${err?.type ?? "error"}: ${err?.message ?? "errored"}`, retryable: RETRYABLE.has(err?.type ?? "") });
        } else lines.push({ customId: r.custom_id, ok: false, error: `request ${res.type} before it ran`, retryable: true });
      }
      return { lines, missing: { error: `batch ${id} returned no result for this request`, retryable: true } };
    }),
    cancel: (id) => call(async () => { await client.messages.batches.cancel(id); }),
    // Message Batches keep no label or metadata, so the lost batch is recognised by what it must look like: created
    // within CREATED_WITHIN of the ledger's submittedAt (the two clocks differ a little), exactly as many requests,
    // not one the ledger already holds — and only when a single batch fits; two that fit are not guessed between.
    findByLabel: (_label, hint) => call(async () => {
      const at = Date.parse(hint.submittedAt);
      const fits: string[] = [];
      let seen = 0;
      for await (const b of client.messages.batches.list({ limit: 100 })) {
        if (++seen > 1000) break; // newest first: a lost batch is among the latest
        const c = b.request_counts;
        const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
        if (!hint.known.has(b.id) && total === hint.requests && Math.abs(Date.parse(b.created_at) - at) <= CREATED_WITHIN_MS) fits.push(b.id);
      }
      return fits.length === 1 ? fits[0] : undefined;
    }),
  };
}
