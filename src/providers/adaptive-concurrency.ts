// AIMD for 429s: halve the concurrency when the server pushes back, add one back per window of successes.
import pLimit, { type LimitFunction } from "p-limit";

export class AdaptiveConcurrency {
  readonly limit: LimitFunction;
  private lastDecreaseAt = -Infinity;
  private successes = 0;

  constructor(
    /** The configured --concurrency: never exceeded. */
    readonly max: number,
    /** Several 429s from one burst count as one signal. */
    private readonly cooldownMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = pLimit(max);
  }

  get current(): number {
    return this.limit.concurrency;
  }

  /** Returns the new concurrency when it changed. */
  onRateLimited(): number | undefined {
    const t = this.now();
    if (t - this.lastDecreaseAt < this.cooldownMs) return undefined;
    this.lastDecreaseAt = t;
    this.successes = 0;
    const next = Math.max(1, Math.floor(this.current / 2));
    if (next === this.current) return undefined;
    this.limit.concurrency = next;
    return next;
  }

  /** Returns the new concurrency when it changed. */
  onSuccess(): number | undefined {
    if (this.current >= this.max) return undefined;
    // One more slot after a full window of successes at the current level.
    if (++this.successes < this.current) return undefined;
    this.successes = 0;
    this.limit.concurrency = this.current + 1;
    return this.current;
  }
}
