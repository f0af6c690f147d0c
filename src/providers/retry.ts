// Backoff for retried requests: exponential with full jitter, never sooner than the server's Retry-After.
export interface BackoffPolicy {
  /** First retry waits up to this long (doubling each time). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we obey before giving up the wait at this cap. */
  maxRetryAfterMs: number;
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 };

/** Delay before retry number `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, retryAfterMs?: number): number {
  const random = policy.random ?? Math.random;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  // Full jitter spreads a crowd of clients that failed together; half the ceiling is the floor so it still backs off.
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  if (retryAfterMs === undefined) return Math.round(jittered);
  // The server said when; add a little jitter so everyone who was told the same thing does not return at once.
  const told = Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return Math.round(told + random() * Math.min(1000, policy.baseDelayMs));
}

/** setTimeout as a promise that an AbortSignal cuts short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() { signal?.removeEventListener("abort", onAbort); resolve(); }
    function onAbort() { clearTimeout(timer); reject(signal!.reason); }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
