// Gemini batch mode: batches.create with inlined GenerateContentRequests (each with metadata.key = our custom id),
// states JOB_STATE_*, results as inlinedResponses. Inlined requests must stay under 20 MB per batch
// (https://ai.google.dev/gemini-api/docs/batch-mode).
import { GoogleGenAI, type BatchJob, type InlinedRequest } from "@google/genai";
import { isRetryableStatus, statusCheckingFetch, toProviderError, type ErrorContext } from "../errors.ts";
import { fromGeminiResponse, GEMINI_DEFAULT_URL, geminiRequest } from "../gemini.ts";
import type { BackendOptions } from "../types.ts";
import type { BatchLine, BatchResults, BatchStatus, BatchVendor, LineOutcome } from "./types.ts";

const ENDED = new Set(["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED"]);
/** gRPC status names the API puts on a failed line that are worth another try. */
const RETRYABLE_STATUS = new Set(["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"]);

export function geminiBatch(opts: BackendOptions): BatchVendor {
  const baseURL = opts.baseURL ?? GEMINI_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "gemini", model: opts.model, baseURL, keyVar: "GEMINI_API_KEY (or GOOGLE_API_KEY)", urlVar: "--base-url or GEMINI_BASE_URL", apiKey: opts.apiKey };
  const client = new GoogleGenAI({ apiKey: opts.apiKey, httpOptions: { baseUrl: baseURL, fetch: statusCheckingFetch(opts.fetch ?? globalThis.fetch) } });
  const inlined = (l: BatchLine): InlinedRequest => ({ ...geminiRequest(l.request), metadata: { key: l.customId } });
  const call = async <T>(fn: () => Promise<T>): Promise<T> => { try { return await fn(); } catch (e) { throw toProviderError(e, ctx); } };
  const get = (id: string): Promise<BatchJob> => client.batches.get({ name: id });

  return {
    name: "gemini",
    model: opts.model,
    baseURL,
    // No request count is documented for inlined batches; the 20 MB body is the limit.
    limits: { maxRequests: Number.POSITIVE_INFINITY, maxBytes: 20 * 1024 * 1024 },
    lineBytes: (l) => Buffer.byteLength(JSON.stringify(inlined(l))) + 1,
    submit: (lines, label) => call(async () => {
      const job = await client.batches.create({ model: opts.model, src: lines.map(inlined), config: { displayName: label } });
      return { id: job.name! };
    }),
    status: (id) => call(async (): Promise<BatchStatus> => {
      const job = await get(id);
      const state = String(job.state ?? "JOB_STATE_UNSPECIFIED");
      // The SDK's BatchJob carries no request counts for the Gemini API: done is known once it ends.
      const n = job.dest?.inlinedResponses?.length;
      return { id, state, ended: ENDED.has(state), done: n, failed: job.dest?.inlinedResponses?.filter((r) => r.error).length };
    }),
    results: (id, customIds) => call(async (): Promise<BatchResults> => {
      const job = await get(id);
      const lines: LineOutcome[] = (job.dest?.inlinedResponses ?? []).map((r, i): LineOutcome => {
        // Responses come in request order; the metadata key says which when it is echoed.
        const customId = String((r.metadata as Record<string, unknown> | undefined)?.key ?? customIds[i] ?? "");
        if (r.response && !r.error) return { customId, ok: true, result: fromGeminiResponse(r.response, opts.model) };
        const err = r.error as { code?: number; message?: string; status?: string } | undefined;
        const retryable = err?.code !== undefined ? isRetryableStatus(err.code) : RETRYABLE_STATUS.has(err?.status ?? "");
        return { customId, ok: false, error: `${err?.status ?? err?.code ?? "error"}: ${err?.message ?? "no response"}`, retryable };
      });
      const state = String(job.state);
      return { lines, missing: { error: `batch ${id} ended ${state} without a response for this request`, retryable: state !== "JOB_STATE_FAILED" } };
    }),
    cancel: (id) => call(async () => { await client.batches.cancel({ name: id }); }),
    findByLabel: (label) => call(async () => {
      for await (const job of await client.batches.list({ config: { pageSize: 100 } })) if (job.displayName === label) return job.name;
      return undefined;
    }),
  };
}
