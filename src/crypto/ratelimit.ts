// Token buckets over injected time, used to cap how many handshake messages one source
// address (and everyone together) may make us process, so a flood cannot pin the CPU on
// X25519 operations. Sans-IO: `now` is passed in.
import type { Endpoint } from '../core/types.js';

export interface RateLimitOptions {
  /** Sustained handshake messages per second from one source IP. */
  perSourcePerSec: number;
  /** Burst allowance per source IP. */
  perSourceBurst: number;
  /** Sustained handshake messages per second from all sources together. */
  globalPerSec: number;
  globalBurst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  perSourcePerSec: 20,
  perSourceBurst: 40,
  globalPerSec: 1000,
  globalBurst: 1000,
};

/** Buckets beyond this many sources are garbage-collected (full ones first). */
const MAX_TRACKED_SOURCES = 4096;

class Bucket {
  constructor(public tokens: number, public last: number) {}

  take(now: number, perSec: number, burst: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(burst, this.tokens + ((now - this.last) * perSec) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The host part of "1.2.3.4:3210" / "[::1]:3210": limits apply per address, not per port. */
export function hostOf(endpoint: Endpoint): string {
  if (endpoint.startsWith('[')) {
    const end = endpoint.indexOf(']');
    return end > 0 ? endpoint.slice(1, end) : endpoint;
  }
  const colon = endpoint.lastIndexOf(':');
  return colon > 0 ? endpoint.slice(0, colon) : endpoint;
}

export class HandshakeRateLimiter {
  private readonly sources = new Map<string, Bucket>();
  private readonly global: Bucket;

  constructor(private readonly opts: RateLimitOptions) {
    this.global = new Bucket(opts.globalBurst, -Infinity);
  }

  /** Spend one token for a handshake message from `from`; false if over the limit. */
  allow(now: number, from: Endpoint): boolean {
    const host = hostOf(from);
    let b = this.sources.get(host);
    if (!b) {
      if (this.sources.size >= MAX_TRACKED_SOURCES) this.collect(now);
      b = new Bucket(this.opts.perSourceBurst, now);
      this.sources.set(host, b);
    }
    if (!b.take(now, this.opts.perSourcePerSec, this.opts.perSourceBurst)) return false;
    return this.global.take(now, this.opts.globalPerSec, this.opts.globalBurst);
  }

  private collect(now: number): void {
    const refillMs = (this.opts.perSourceBurst / this.opts.perSourcePerSec) * 1000;
    for (const [host, b] of this.sources) if (now - b.last >= refillMs) this.sources.delete(host);
    // everyone is active: forget the oldest half rather than grow without bound
    if (this.sources.size >= MAX_TRACKED_SOURCES) {
      let n = this.sources.size / 2;
      for (const host of this.sources.keys()) { if (n-- <= 0) break; this.sources.delete(host); }
    }
  }
}
