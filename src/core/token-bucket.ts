// A token bucket over injected time (ms): `ratePerS` tokens a second, at most `burst` saved.

/**
 * Refills add fractions of a token: 0.9999999999999998 must count as one, or nextAt() says
 * "now + 2e-14", which at large clock values is now itself, and a timer spins on it.
 */
const EPSILON = 1e-9;
export class TokenBucket {
  private tokens: number;
  private last = -Infinity;

  constructor(private readonly ratePerS: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Spend `n` tokens if there are that many. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n - EPSILON) return false;
    this.tokens = Math.max(0, this.tokens - n);
    return true;
  }

  /** Tokens there are now. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** When the next token will be there (now if one is). */
  nextAt(now: number): number {
    this.refill(now);
    return this.tokens >= 1 - EPSILON ? now : now + ((1 - this.tokens) * 1000) / this.ratePerS;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = this.last === -Infinity ? this.burst : Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerS) / 1000);
      this.last = now;
    }
  }
}
