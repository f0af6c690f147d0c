// The one place that decides what a failed LLM request means: retry it, or stop with a clear message.
import { PipelineError, redact, secretsFromEnv, type ErrorCode } from "../errors.ts";
import type { ProviderName } from "./types.ts";

export type FailureKind = "http" | "network" | "timeout" | "abort" | "other";

/** A backend failure, normalised: every vendor SDK's error becomes one of these. */
export class ProviderError extends PipelineError {
  readonly provider: ProviderName;
  readonly kind: FailureKind;
  readonly status?: number;
  /** Milliseconds the server asked us to wait (Retry-After / retry-after-ms), when it said. */
  readonly retryAfterMs?: number;
  readonly retryable: boolean;
  /** Retrying or moving on to the next record cannot help (bad key, unknown model, budget): stop the run. */
  readonly fatal: boolean;
  constructor(
    code: ErrorCode,
    message: string,
    info: { provider: ProviderName; kind: FailureKind; status?: number; retryAfterMs?: number; retryable: boolean; fatal: boolean; cause?: unknown },
  ) {
    super(code, message, {}, { cause: info.cause });
    this.name = "ProviderError";
    this.provider = info.provider;
    this.kind = info.kind;
    this.status = info.status;
    this.retryAfterMs = info.retryAfterMs;
    this.retryable = info.retryable;
    this.fatal = info.fatal;
  }
}

/** Statuses worth another try: timeouts, conflicts, rate limits and server trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Where a backend is and which variables configure it, so messages can say what to set. */
export interface ErrorContext {
  provider: ProviderName;
  model: string;
  baseURL?: string;
  /** e.g. "OPENAI_API_KEY" */
  keyVar?: string;
  /** e.g. "--base-url or OPENAI_BASE_URL" */
  urlVar?: string;
  /** The key itself, so it can be scrubbed from anything we show. */
  apiKey?: string;
}

/** Thrown by our fetch wrapper for SDKs whose errors drop the response headers (Gemini, Ollama). */
export class HttpStatusError extends Error {
  constructor(readonly status: number, readonly headers: Headers, readonly body: string) {
    super(`HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = "HttpStatusError";
  }
}

/** Wrap fetch so a non-2xx answer throws with its status, headers and body intact. */
export function statusCheckingFetch(base: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    if (res.ok) return res;
    const body = await res.text().catch(() => "");
    throw new HttpStatusError(res.status, res.headers, body);
  };
}

/** Turn anything a vendor SDK (or fetch) threw into a classified ProviderError. */
export function toProviderError(error: unknown, ctx: ErrorContext, signal?: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  // SDKs name their abort errors differently; the signal itself says whether and why we aborted.
  if (signal?.aborted) {
    const why = signal.reason as { name?: string } | undefined;
    error = why?.name === "TimeoutError" ? why : Object.assign(new Error("aborted"), { name: "AbortError", cause: error });
  }
  const e = error as { name?: string; message?: string; status?: unknown; status_code?: unknown; headers?: unknown; body?: string; cause?: unknown; code?: unknown };
  const scrub = (s: string) => redact(s, [ctx.apiKey, ...secretsFromEnv()]);
  const where = `${ctx.provider}${ctx.baseURL ? ` at ${ctx.baseURL}` : ""} (model ${ctx.model})`;
  const status = typeof e?.status === "number" ? e.status : typeof e?.status_code === "number" ? e.status_code : undefined;
  const detail = scrub(vendorMessage(e, status));

  if (status === undefined) {
    if (isAbort(e)) {
      return new ProviderError("E_PROVIDER", `request to ${where} was aborted`, { provider: ctx.provider, kind: "abort", retryable: false, fatal: true, cause: error });
    }
    if (isTimeout(e)) {
      return new ProviderError("E_TIMEOUT", `request to ${where} timed out`, { provider: ctx.provider, kind: "timeout", retryable: true, fatal: false, cause: error });
    }
    if (isNetwork(e)) {
      return new ProviderError("E_PROVIDER", `cannot reach ${where}: ${detail}${ctx.urlVar ? ` (check ${ctx.urlVar})` : ""}`, { provider: ctx.provider, kind: "network", retryable: true, fatal: false, cause: error });
    }
    return new ProviderError("E_PROVIDER", `${where} failed: ${detail}`, { provider: ctx.provider, kind: "other", retryable: false, fatal: false, cause: error });
  }

  const retryAfterMs = retryAfterFromHeaders(e.headers);
  const info = { provider: ctx.provider, kind: "http" as const, status, retryAfterMs, cause: error };
  if (status === 401 || status === 403) {
    const fix = ctx.keyVar ? `check ${ctx.keyVar}` : "check the API key";
    return new ProviderError("E_AUTH", `${where} refused the API key (HTTP ${status}): ${detail}; ${fix}`, { ...info, retryable: false, fatal: true });
  }
  if (status === 404) {
    return new ProviderError("E_CONFIG", `${where} answered 404 (model or endpoint not found): ${detail}; check --model${ctx.urlVar ? ` and ${ctx.urlVar}` : ""}`, { ...info, retryable: false, fatal: true });
  }
  if (status === 429) {
    return new ProviderError("E_RATE_LIMIT", `${where} is rate limiting (HTTP 429): ${detail}; lower --concurrency or set --rpm/--tpm`, { ...info, retryable: true, fatal: false });
  }
  if (isRetryableStatus(status)) {
    return new ProviderError(status === 408 ? "E_TIMEOUT" : "E_PROVIDER", `${where} answered HTTP ${status}: ${detail}`, { ...info, retryable: true, fatal: false });
  }
  return new ProviderError("E_PROVIDER", `${where} rejected the request (HTTP ${status}): ${detail}`, { ...info, retryable: false, fatal: false });
}

function vendorMessage(e: { message?: string; body?: string; error?: unknown } | undefined, status: number | undefined): string {
  if (!e) return "unknown error";
  // Vendor bodies are JSON like {"error":{"message":"…"}}; show the message, not the envelope.
  const raw = typeof e.body === "string" && e.body ? e.body : e.message ?? String(e);
  const fromJson = pickMessage(raw);
  const text = (fromJson ?? raw).replace(/\s+/g, " ").trim();
  const withoutStatus = status !== undefined ? text.replace(new RegExp(`^(HTTP )?${status}:?\\s*`), "") : text;
  return withoutStatus.slice(0, 300) || "no detail";
}

function pickMessage(raw: string): string | undefined {
  const start = raw.indexOf("{");
  if (start < 0) return undefined;
  try {
    const j = JSON.parse(raw.slice(start)) as { error?: { message?: string } | string; message?: string };
    if (typeof j.error === "string") return j.error;
    return j.error?.message ?? j.message;
  } catch {
    return undefined;
  }
}

function isAbort(e: { name?: string; constructor?: { name?: string } }): boolean {
  return e?.name === "AbortError" || e?.constructor?.name === "APIUserAbortError";
}
function isTimeout(e: { name?: string; code?: unknown; constructor?: { name?: string } }): boolean {
  return e?.name === "TimeoutError" || e?.constructor?.name === "APIConnectionTimeoutError" || e?.code === "ETIMEDOUT" || e?.code === "UND_ERR_HEADERS_TIMEOUT";
}
function isNetwork(e: { name?: string; message?: string; cause?: unknown; code?: unknown }): boolean {
  const cls = (e as { constructor?: { name?: string } })?.constructor?.name;
  if (cls === "APIConnectionError" || e?.name === "FetchError") return true;
  if (e?.name === "TypeError" && /fetch failed|terminated|network/i.test(e.message ?? "")) return true;
  const code = String(e?.code ?? (e?.cause as { code?: unknown } | undefined)?.code ?? "");
  return /^(ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_SOCKET|UND_ERR_CLOSED)$/.test(code) || /socket hang up|other side closed|terminated/i.test(e?.message ?? "");
}

/** Retry-After (seconds or HTTP date) or retry-after-ms, from a Headers object or a plain record. */
export function retryAfterFromHeaders(headers: unknown, now = Date.now()): number | undefined {
  const get = (name: string): string | null | undefined => {
    if (!headers) return undefined;
    if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name);
    const rec = headers as Record<string, string | undefined>;
    return rec[name] ?? rec[name.toLowerCase()];
  };
  const ms = get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get("retry-after");
  if (!ra) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
