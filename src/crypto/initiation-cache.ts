// Freshness of message 1: a responder answers a message 1 only once, and only while it is
// recent, so a captured message 1 cannot be replayed to make us do work or to probe us later.
//
// Message 1 carries the initiator's wall-clock time (ms) inside its encrypted payload. We
// refuse one whose time is more than TIMESTAMP_WINDOW_MS away from our own wall clock (drop
// 'stale': nodes need clocks within that of each other, e.g. NTP), and remember the
// ephemeral keys of the ones we accepted, refusing the same key again (drop 'replay'). Keys
// older than the window are forgotten, since the window refuses their messages anyway (a
// floor keeps refusing them should our clock step back). When
// the cache is full, the oldest entry is evicted and every timestamp up to its own is refused
// from then on: the window shrinks to the age of what we still remember, so a replay is never
// accepted; at worst a genuine but old-stamped message 1 is refused (the initiator retries with a new
// one, stamped afresh after initiationRenewMs).
export const TIMESTAMP_WINDOW_MS = 120_000;
export const MAX_REMEMBERED_INITIATIONS = 16_384;

export type Freshness = 'fresh' | 'stale' | 'replay';

export class InitiationReplayCache {
  /** Ephemeral key (hex) -> its message's timestamp, oldest insertion first. */
  private readonly seen = new Map<string, number>();
  /** Timestamps at or below this are refused (raised when a full cache evicts). */
  private floorMs = -Infinity;

  constructor(private readonly capacity = MAX_REMEMBERED_INITIATIONS, private readonly windowMs = TIMESTAMP_WINDOW_MS) {}

  /** Cheap check before any decryption: have we accepted this ephemeral key? */
  has(ephemeralHex: string): boolean {
    return this.seen.has(ephemeralHex);
  }

  check(wallNow: number, timestampMs: number, ephemeralHex: string): Freshness {
    if (this.seen.has(ephemeralHex)) return 'replay';
    if (timestampMs <= this.floorMs || Math.abs(wallNow - timestampMs) > this.windowMs) return 'stale';
    return 'fresh';
  }

  /** Record an accepted message 1 (after check() said fresh). */
  remember(wallNow: number, timestampMs: number, ephemeralHex: string): void {
    for (const [key, ts] of this.seen) {
      if (ts >= wallNow - this.windowMs) break; // roughly in time order: stop at the first live one
      this.seen.delete(key);
      this.floorMs = Math.max(this.floorMs, ts); // stays refused even if our clock steps back
    }
    while (this.seen.size >= this.capacity) {
      const [key, ts] = this.seen.entries().next().value as [string, number];
      this.seen.delete(key);
      this.floorMs = Math.max(this.floorMs, ts);
    }
    this.seen.set(ephemeralHex, timestampMs);
  }

  get size(): number {
    return this.seen.size;
  }
}
