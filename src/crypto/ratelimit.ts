// How many handshake messages that need asymmetric crypto we process, and for whom, so a flood
// cannot pin the CPU on X25519 nor starve other senders. Sans-IO: `now` is passed in.
//
// Only messages that passed every cheap check are charged (length, type, version, mac1,
// unknown index, replay cache: see channel.ts), so junk never drains a budget.
//
// Counting is per one-second window:
//   - a source is an IPv4 address or an IPv6 /64 (one host holds a whole /64, so counting per
//     IPv6 address would give it unlimited sources); it gets at most perSourcePerSec;
//   - all sources together get globalPerSec; past that a source still gets its fair share
//     (globalPerSec / sources seen in this window), so many sources cannot starve one; the
//     window's total is then at most twice globalPerSec;
//   - endpoints of peers with a live session (rekeys, a restarted peer) draw first on their
//     own reserve of establishedPerSec, so no flood delays keeping the mesh up;
//   - "busy" = at least half of globalPerSec spent in this or the previous window: then
//     message 1 needs a cookie (macs.ts), which spoofed sources cannot get. Cookie replies
//     have their own per-source and global limits.
import { isRelayKey } from '../core/path.js';
import type { Endpoint } from '../core/types.js';
import { parseIPv4, parseIPv6 } from '../wire/addr.js';

export interface RateLimitOptions {
  /** Handshake messages per second (all sources) that we process with asymmetric crypto. */
  globalPerSec: number;
  /** Of those, at most this many per second from one source (IPv4 address / IPv6 /64). */
  perSourcePerSec: number;
  /** Extra per second, only for endpoints of peers with a live session. */
  establishedPerSec: number;
  /** Cookie replies per second to one source, and to all sources together. */
  cookiesPerSourcePerSec: number;
  cookiesPerSec: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  globalPerSec: 500,
  perSourcePerSec: 20,
  establishedPerSec: 200,
  cookiesPerSourcePerSec: 4,
  cookiesPerSec: 2000,
};

/** Sources counted separately per window; later ones share one count (bounds memory). */
export const MAX_TRACKED_SOURCES = 4096;
const OVERFLOW = '*';
const WINDOW_MS = 1000;

/**
 * The rate-limit source of an endpoint: "1.2.3.4" for "1.2.3.4:3210", the /64 ("2001:db8:0:1::/64")
 * for "[2001:db8:0:1::5]:3210"; an IPv4-mapped IPv6 address counts as its IPv4 address. Everything
 * that comes through one relay ("relay:<via>/<peer>") is one source, "relay:<via>": the relay
 * stamps the origin key itself, so a per-origin count would let one member invent sources.
 */
export function sourceKey(endpoint: Endpoint): string {
  if (isRelayKey(endpoint)) {
    const slash = endpoint.indexOf('/');
    return slash > 0 ? endpoint.slice(0, slash) : endpoint;
  }
  let host = endpoint;
  if (endpoint.startsWith('[')) {
    const end = endpoint.indexOf(']');
    host = end > 0 ? endpoint.slice(1, end) : endpoint;
  } else {
    const colon = endpoint.lastIndexOf(':');
    if (colon > 0 && endpoint.indexOf(':') === colon) host = endpoint.slice(0, colon);
  }
  if (parseIPv4(host)) return host;
  const v6 = parseIPv6(host);
  if (!v6) return host;
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return v6.subarray(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((v6[i]! << 8) | v6[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

export class HandshakeRateLimiter {
  private windowStart = -Infinity;
  private counts = new Map<string, number>();
  private total = 0;
  private previousTotal = 0;
  private established = 0;
  private cookies = new Map<string, number>();
  private cookieTotal = 0;

  constructor(private readonly opts: RateLimitOptions) {}

  /** At least half the global budget spent (this window or the last): ask for cookies. */
  busy(now: number): boolean {
    this.roll(now);
    const half = this.opts.globalPerSec / 2;
    return this.total >= half || this.previousTotal >= half;
  }

  /**
   * Spend one unit for an expensive handshake message from `from`; `establishedPeer` when
   * `from` is the endpoint of a peer with a live session. false: over the limit.
   */
  allow(now: number, from: Endpoint, establishedPeer: boolean): boolean {
    this.roll(now);
    if (establishedPeer && this.established < this.opts.establishedPerSec) {
      this.established++;
      return true;
    }
    const key = this.trackedKey(this.counts, sourceKey(from));
    const used = this.counts.get(key) ?? 0;
    if (used >= this.opts.perSourcePerSec) return false;
    const sources = this.counts.size + (used === 0 ? 1 : 0);
    const fairShare = Math.max(1, Math.floor(this.opts.globalPerSec / sources));
    if (this.total >= this.opts.globalPerSec && used >= fairShare) return false;
    this.counts.set(key, used + 1);
    this.total++;
    return true;
  }

  /** May we send a cookie reply to `from` now? */
  allowCookie(now: number, from: Endpoint): boolean {
    this.roll(now);
    const key = this.trackedKey(this.cookies, sourceKey(from));
    const used = this.cookies.get(key) ?? 0;
    if (used >= this.opts.cookiesPerSourcePerSec || this.cookieTotal >= this.opts.cookiesPerSec) return false;
    this.cookies.set(key, used + 1);
    this.cookieTotal++;
    return true;
  }

  /** Sources tracked in the current window (tests check the bound). */
  get trackedSources(): number {
    return this.counts.size + this.cookies.size;
  }

  private trackedKey(m: Map<string, number>, key: string): string {
    return m.has(key) || m.size < MAX_TRACKED_SOURCES ? key : OVERFLOW;
  }

  private roll(now: number): void {
    if (now < this.windowStart + WINDOW_MS) return;
    this.previousTotal = now < this.windowStart + 2 * WINDOW_MS ? this.total : 0;
    this.windowStart = now;
    this.counts = new Map();
    this.cookies = new Map();
    this.total = 0;
    this.established = 0;
    this.cookieTotal = 0;
  }
}
