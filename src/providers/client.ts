// openClient: a backend wrapped once with concurrency, rate limits, timeouts, retries, cache, usage and budget.
//
// In a step:
//   const client = await openClient(settings, { step: "generate-qa", defaultCacheDir: cacheDirUnder(outDir) });
//   if (client.provider === "extractive") { /* build from the text itself */ }
//   const out = await client.generateJson({ messages, schema: { name, schema: jsonSchema }, signal }, zodSchema);
//   out.ok ? use(out.value, out.result.usage) : recordFailure(out.error);   // E_BUDGET / E_AUTH / 404 are thrown
//   …finally: log(client.formatUsage()); report.usage = client.usage(); await client.close();
import { join } from "node:path";
import type { z } from "zod";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { AdaptiveConcurrency } from "./adaptive-concurrency.ts";
import { cacheKey, ResponseCache } from "./cache.ts";
import { ProviderError, toProviderError } from "./errors.ts";
import { parseJsonReply, repairMessages } from "./json-reply.ts";
import { loadPrices, priceFor, type PriceTable } from "./prices.ts";
import { RateLimiter } from "./rate-limit.ts";
import { withRequestSignal } from "./request-signal.ts";
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffPolicy } from "./retry.ts";
import { selectProvider, type SelectOptions } from "./select.ts";
import { estimatePromptTokens } from "./tokens.ts";
import type { GenerateRequest, GenerateResult, JsonOutcome, JsonSchemaSpec, LlmClient, Provider } from "./types.ts";
import { formatUsage, UsageMeter, type UsageSummary } from "./usage.ts";

export interface ClientConfig {
  /** The step name usage is recorded under ("generate-qa", "validate", …). */
  step: string;
  concurrency: number;
  rpm?: number;
  tpm?: number;
  timeoutMs: number;
  maxRetries: number;
  /** USD; reaching it makes further requests throw E_BUDGET (a clean, resumable stop). */
  maxCost?: number;
  /** Response cache directory; undefined = no cache. */
  cacheDir?: string;
  prices: PriceTable;
  /** Used when a request names none. */
  temperature?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Several 429s within this window lower the concurrency once; default 1000 ms. */
  aimdCooldownMs?: number;
}

export interface PipelineClient extends LlmClient {
  readonly backend: Provider;
  readonly config: Readonly<ClientConfig>;
  /** Concurrency right now: below --concurrency while the server is answering 429. */
  readonly concurrency: number;
  usage(): UsageSummary;
  /** Lines for stderr at the end of a step. */
  formatUsage(): string;
}

export interface OpenClientOptions extends SelectOptions {
  step: string;
  /** Use this backend instead of choosing one from settings (tests, library users). */
  provider?: Provider;
  /** Where the cache lives when --cache is not given: the step's output dir, typically. Default: none. */
  defaultCacheDir?: string;
  backoff?: Partial<BackoffPolicy>;
  aimdCooldownMs?: number;
}

/** The client for a step, configured from settings (provider, model, limits, cache, prices). */
export async function openClient(settings: Settings, opts: OpenClientOptions): Promise<PipelineClient> {
  const provider = opts.provider ?? (await selectProvider(settings, opts));
  return createClient(provider, clientConfigFromSettings(settings, opts));
}

export function clientConfigFromSettings(settings: Settings, opts: Pick<OpenClientOptions, "step" | "defaultCacheDir" | "backoff" | "aimdCooldownMs">): ClientConfig {
  const cacheDir = settings.cache === false ? undefined : (settings.cacheDir ?? opts.defaultCacheDir);
  return {
    step: opts.step,
    concurrency: settings.concurrency,
    rpm: settings.rpm,
    tpm: settings.tpm,
    timeoutMs: settings.timeoutSec * 1000,
    maxRetries: settings.maxRetries,
    maxCost: settings.maxCost,
    cacheDir,
    prices: loadPrices(settings.prices),
    temperature: settings.temperature,
    backoff: opts.backoff,
    aimdCooldownMs: opts.aimdCooldownMs,
  };
}

/** Default cache location under a step's output directory. */
export const cacheDirUnder = (outputDir: string): string => join(outputDir, ".llm-cache");

export function createClient(provider: Provider, config: ClientConfig): PipelineClient {
  const aimd = new AdaptiveConcurrency(Math.min(config.concurrency, provider.maxConcurrency ?? Infinity), config.aimdCooldownMs ?? 1000);
  const rate = new RateLimiter({ rpm: config.rpm, tpm: config.tpm });
  const meter = new UsageMeter(config.step, provider.name, config.prices);
  const cache = config.cacheDir && provider.name !== "extractive" ? new ResponseCache(config.cacheDir) : undefined;
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...config.backoff };
  const inflight = new Map<string, Promise<GenerateResult>>();

  if (config.maxCost !== undefined && !priceFor(provider.name, provider.model, config.prices)) {
    log.warn(`--max-cost cannot be enforced: ${provider.model} is not in the price table; add it with PIPELINE_PRICES`);
  }

  function checkBudget(): void {
    if (config.maxCost === undefined || meter.cost < config.maxCost) return;
    throw new PipelineError(
      "E_BUDGET",
      `spent $${meter.cost.toFixed(4)} of --max-cost $${config.maxCost}: stopped before the next request; what is done is kept — rerun with --resume and a higher --max-cost to continue`,
      { stage: config.step },
    );
  }

  async function callWithRetries(req: GenerateRequest): Promise<GenerateResult> {
    const estimate = estimatePromptTokens(req.messages, req.schema?.schema) + (req.maxTokens ?? 256);
    for (let attempt = 0; ; attempt++) {
      checkBudget();
      try {
        const result = await aimd.limit(async () => {
          checkBudget(); // the budget may have run out while this request queued
          await rate.acquire(estimate);
          return withRequestSignal(config.timeoutMs, req.signal, (signal) => provider.generate({ ...req, signal }));
        });
        meter.record(provider.model, result.usage, result.batch);
        void rate.settle(estimate, result.usage.inputTokens + result.usage.outputTokens);
        const raised = aimd.onSuccess();
        if (raised !== undefined) log.debug(`${provider.name}: concurrency back up to ${raised}`);
        return result;
      } catch (e) {
        if (req.signal?.aborted) throw req.signal.reason ?? e;
        if (e instanceof PipelineError && !(e instanceof ProviderError)) throw e; // budget, config: not ours to retry
        const err = toProviderError(e, { provider: provider.name, model: provider.model });
        if (!err.retryable || attempt >= config.maxRetries) {
          meter.recordFailure(provider.model);
          throw attempt > 0 ? withAttempts(err, attempt + 1) : err;
        }
        if (err.status === 429) {
          const lowered = aimd.onRateLimited();
          if (lowered !== undefined) log.info(`${provider.name} is rate limiting: concurrency lowered to ${lowered}`);
        }
        meter.recordRetry(provider.model);
        const delay = backoffDelay(attempt, backoff, err.retryAfterMs);
        log.debug(`retry ${attempt + 1}/${config.maxRetries} in ${delay} ms: ${err.message}`);
        await sleep(delay, req.signal);
      }
    }
  }

  /** `usable` decides what may be cached (and replayed): a reply that failed validation is asked again next time. */
  async function generateCached(req: GenerateRequest, usable: (r: GenerateResult) => boolean): Promise<GenerateResult> {
    if (provider.name === "extractive") return provider.generate(req);
    const request: GenerateRequest = { ...req, temperature: req.temperature ?? config.temperature };
    if (!cache) return callWithRetries(request);
    const key = cacheKey({ provider: provider.name, baseURL: provider.baseURL, model: provider.model, messages: request.messages, schema: request.schema, temperature: request.temperature, maxTokens: request.maxTokens });
    const hit = await cache.get(key);
    if (hit && usable(hit)) {
      meter.recordCached(provider.model);
      return hit;
    }
    // The same request already on its way (duplicate chunks, repeated prompts): wait for it instead of paying twice.
    const pending = inflight.get(key);
    if (pending) {
      const r = await pending;
      meter.recordCached(provider.model);
      return r;
    }
    const p = callWithRetries(request).then(async (r) => {
      if (usable(r)) await cache.put(key, r).catch((e: Error) => log.warn(`response cache: could not write ${cache.dir}: ${e.message}`));
      return r;
    });
    inflight.set(key, p);
    try {
      return await p;
    } finally {
      inflight.delete(key);
    }
  }

  const generate = (req: GenerateRequest): Promise<GenerateResult> => generateCached(req, () => true);

  /** Errors that belong to one record (it is recorded as failed); everything else stops the run. */
  const isRecordFailure = (e: unknown): e is ProviderError => e instanceof ProviderError && !e.fatal;

  async function generateJson<T>(req: GenerateRequest & { schema: JsonSchemaSpec }, parse: z.ZodType<T>): Promise<JsonOutcome<T>> {
    let first: GenerateResult;
    try {
      first = await generateCached(req, (r) => parseJsonReply(r.text, parse).ok);
    } catch (e) {
      if (isRecordFailure(e)) return { ok: false, error: e.message };
      throw e;
    }
    const p1 = parseJsonReply(first.text, parse);
    if (p1.ok) return { ok: true, value: p1.value, result: first, repaired: false };
    let second: GenerateResult;
    try {
      second = await generateCached({ ...req, messages: repairMessages(req.messages, first.text, p1.error) }, (r) => parseJsonReply(r.text, parse).ok);
    } catch (e) {
      if (isRecordFailure(e)) return { ok: false, error: `${p1.error}; the repair request failed: ${e.message}`, result: first };
      throw e;
    }
    const both: GenerateResult = {
      ...second,
      usage: { inputTokens: first.usage.inputTokens + second.usage.inputTokens, outputTokens: first.usage.outputTokens + second.usage.outputTokens },
    };
    const p2 = parseJsonReply(second.text, parse);
    if (p2.ok) return { ok: true, value: p2.value, result: both, repaired: true };
    return { ok: false, error: `${p2.error} (still wrong after one repair attempt)`, result: both };
  }

  return {
    provider: provider.name,
    model: provider.model,
    backend: provider,
    config,
    get concurrency() { return aimd.current; },
    generate,
    generateJson,
    usage: () => meter.summary(),
    formatUsage: () => formatUsage(meter.summary()),
    async close() {
      await rate.stop();
      await provider.close?.();
    },
  };
}

function withAttempts(err: ProviderError, attempts: number): ProviderError {
  return new ProviderError(err.code, `${err.message} (gave up after ${attempts} attempts)`, {
    provider: err.provider, kind: err.kind, status: err.status, retryAfterMs: err.retryAfterMs, retryable: err.retryable, fatal: err.fatal, cause: err.cause,
  });
}
