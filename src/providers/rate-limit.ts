// --rpm and --tpm: request spacing and a token bucket, through bottleneck.
import Bottleneck from "bottleneck";

export interface RateLimits { rpm?: number; tpm?: number }

export class RateLimiter {
  private readonly requests?: Bottleneck;
  private readonly tokens?: Bottleneck;
  private readonly tpm?: number;

  constructor(limits: RateLimits) {
    // Evenly spaced starts: never more than rpm in any minute, and no burst for the server to refuse.
    if (limits.rpm) this.requests = new Bottleneck({ minTime: 60_000 / limits.rpm });
    if (limits.tpm) {
      this.tpm = limits.tpm;
      const perSecond = limits.tpm / 60;
      this.tokens = new Bottleneck({
        reservoir: limits.tpm, // a full bucket, as vendors' per-minute windows allow
        reservoirIncreaseInterval: 1000,
        reservoirIncreaseAmount: Math.ceil(perSecond),
        reservoirIncreaseMaximum: limits.tpm,
      });
    }
  }

  get active(): boolean {
    return !!(this.requests || this.tokens);
  }

  /** Wait until one request of about `estimatedTokens` may start. */
  async acquire(estimatedTokens: number): Promise<void> {
    if (this.tokens) {
      // A request bigger than a whole minute's budget could never start; let it through at the cap.
      const weight = this.weight(estimatedTokens);
      await this.tokens.schedule({ weight }, async () => {});
    }
    if (this.requests) await this.requests.schedule(async () => {});
  }

  private weight(estimatedTokens: number): number {
    return Math.max(1, Math.min(Math.ceil(estimatedTokens), Math.floor(this.tpm!)));
  }

  /** Charge tokens the estimate missed, so the bucket tracks what the server counted. */
  async settle(estimatedTokens: number, actualTokens: number): Promise<void> {
    if (!this.tokens) return;
    const extra = actualTokens - this.weight(estimatedTokens);
    if (extra > 0) await this.tokens.incrementReservoir(-extra);
  }

  async stop(): Promise<void> {
    await Promise.all([this.requests?.disconnect(), this.tokens?.disconnect()]);
  }
}
