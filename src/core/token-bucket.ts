// A token bucket over injected time (ms): `ratePerS` tokens a second, at most `burst` saved.
const MIN_WAIT_MS = 1;

export class TokenBucket {
  private tokens: number;
  private last = -Infinity;

  constructor(private readonly ratePerS: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Spend `n` tokens if there are that many. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Tokens there are now. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /**
   * When the next token will be there (now if one is). At least MIN_WAIT_MS away otherwise: a
   * wait shorter than one float step of `now` (a fraction of a token short) would round back to
   * `now`, and a caller that schedules a retry then would spin.
   */
  nextAt(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? now : now + Math.max(MIN_WAIT_MS, ((1 - this.tokens) * 1000) / this.ratePerS);
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = this.last === -Infinity ? this.burst : Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerS) / 1000);
      this.last = now;
    }
  }
}
