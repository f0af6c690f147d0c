// OpenAI Batch: a JSONL file (custom_id, method, url, body) uploaded with purpose "batch", then POST /v1/batches;
// results in output_file_id, failures in error_file_id. Limits: 50,000 requests and 200 MB per input file
// (https://platform.openai.com/docs/guides/batch, API reference "Create batch").
import OpenAI, { toFile } from "openai";
import { isRetryableStatus, toProviderError, type ErrorContext } from "../errors.ts";
import { fromOpenAiCompletion, openAiBody, OPENAI_DEFAULT_URL } from "../openai.ts";
import type { BackendOptions } from "../types.ts";
import type { BatchLine, BatchResults, BatchStatus, BatchVendor, LineOutcome } from "./types.ts";

const ENDED = new Set(["completed", "failed", "expired", "cancelled"]);
const ENDPOINT = "/v1/chat/completions";

export function openaiBatch(opts: BackendOptions): BatchVendor {
  const baseURL = opts.baseURL ?? OPENAI_DEFAULT_URL;
  const ctx: ErrorContext = { provider: "openai", model: opts.model, baseURL, keyVar: "OPENAI_API_KEY", urlVar: "--base-url or OPENAI_BASE_URL", apiKey: opts.apiKey };
  const client = new OpenAI({ apiKey: opts.apiKey ?? "no-key", baseURL, fetch: opts.fetch, maxRetries: 0, timeout: 600_000 });
  const wire = (l: BatchLine): string => JSON.stringify({ custom_id: l.customId, method: "POST", url: ENDPOINT, body: openAiBody(l.request, opts.model) });
  const call = async <T>(fn: () => Promise<T>): Promise<T> => { try { return await fn(); } catch (e) { throw toProviderError(e, ctx); } };

  return {
    name: "openai",
    model: opts.model,
    baseURL,
    limits: { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 },
    lineBytes: (l) => Buffer.byteLength(wire(l)) + 1,
    submit: (lines, label) => call(async () => {
      const jsonl = Buffer.from(lines.map(wire).join("\n") + "\n");
      const file = await client.files.create({ file: await toFile(jsonl, `${label}.jsonl`, { type: "application/jsonl" }), purpose: "batch" });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: ENDPOINT, completion_window: "24h", metadata: { docs2model: label } });
      return { id: batch.id, inputFileId: file.id };
    }),
    status: (id) => call(async (): Promise<BatchStatus> => {
      const b = await client.batches.retrieve(id);
      const c = b.request_counts;
      return { id, state: b.status, ended: ENDED.has(b.status), total: c?.total, done: c ? c.completed + c.failed : undefined, failed: c?.failed };
    }),
    results: (id) => call(async (): Promise<BatchResults> => {
      const b = await client.batches.retrieve(id);
      const lines: LineOutcome[] = [];
      for (const fileId of [b.output_file_id, b.error_file_id]) {
        if (!fileId) continue;
        const text = await (await client.files.content(fileId)).text();
        for (const row of text.split("\n")) if (row.trim()) lines.push(parseLine(JSON.parse(row), opts.model));
      }
      const why = b.errors?.data?.map((e) => e.message).join("; ");
      // A batch that failed validation will fail again as it is; expired and cancelled ones are worth another go.
      return { lines, missing: { error: `batch ${id} ${b.status}${why ? `: ${why}` : ""}`, retryable: b.status !== "failed" } };
    }),
    cancel: (id) => call(async () => { await client.batches.cancel(id); }),
    findByLabel: (label) => call(async () => {
      for await (const b of client.batches.list({ limit: 100 })) if (b.metadata?.docs2model === label) return b.id;
      return undefined;
    }),
  };
}

interface OutputLine {
  custom_id: string;
  response?: { status_code: number; body?: any } | null;
  error?: { code?: string; message?: string } | null;
}

function parseLine(line: OutputLine, model: string): LineOutcome {
  const status = line.response?.status_code;
  if (status === 200 && line.response?.body) return { customId: line.custom_id, ok: true, result: fromOpenAiCompletion(line.response.body, model) };
  const message = line.error?.message ?? line.response?.body?.error?.message ?? `HTTP ${status}`;
  const code = line.error?.code ?? "";
  // batch_expired / batch_cancelled: the request never ran.
  const retryable = status !== undefined ? isRetryableStatus(status) : /expired|cancel/.test(code);
  return { customId: line.custom_id, ok: false, error: `${code ? `${code}: ` : ""}${message}`, retryable };
}
