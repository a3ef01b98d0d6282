// Freshness of message 1: a responder answers a message 1 only once, and only while it is
// recent, so a captured message 1 cannot be replayed to make us do work or to probe us later.
//
// Message 1 carries the initiator's wall-clock time (ms) inside its encrypted payload. We
// refuse one whose time is more than TIMESTAMP_WINDOW_MS away from our own wall clock (drop
// 'stale': nodes need clocks within that of each other, e.g. NTP), and remember the
// ephemeral keys of the ones we accepted, refusing the same key again (drop 'replay').
//
// Keys are kept in slots of SLOT_MS by their message's timestamp. A slot whose messages are all
// older than the window is dropped whole (the window refuses them anyway; a floor keeps them
// refused should our clock step back). Should the cache still be full, the oldest slot is
// dropped and its whole time span is refused until the window passes it: the window shrinks
// around what we no longer remember, so a replay is never accepted, and future-stamped
// messages cannot make us refuse messages stamped now. The channel sizes the cache for the
// most message 1s its rate limits let through in a window's span (capacityFor), so with the
// default limits it never fills.
export const TIMESTAMP_WINDOW_MS = 120_000;
const SLOT_MS = 5_000;

export type Freshness = 'fresh' | 'stale' | 'replay';

/** Entries needed to remember every message 1 accepted at `perSec` for the window's whole span. */
export function capacityFor(perSec: number): number {
  return Math.ceil(perSec * (2 * TIMESTAMP_WINDOW_MS + SLOT_MS) / 1000);
}

/** A 48-bit number from the first 6 bytes of an ephemeral key: a cheap Map key (~40 bytes an entry). */
export function ephemeralKey(e: Uint8Array): number {
  return (e[0]! | (e[1]! << 8) | (e[2]! << 16)) + (e[3]! | (e[4]! << 8) | (e[5]! << 16)) * 0x100_0000;
}

export class InitiationReplayCache {
  /** Slot index (timestamp / SLOT_MS) -> the keys accepted with a timestamp in it. */
  private readonly slots = new Map<number, Set<number>>();
  private count = 0;
  /** Timestamps at or below this are refused (slots that expired). */
  private floorMs = -Infinity;
  /** Slots dropped from a full cache before they expired: their timestamps are refused. */
  private readonly banned = new Set<number>();

  constructor(private readonly capacity: number, private readonly windowMs = TIMESTAMP_WINDOW_MS) {}

  /** Cheap check before any decryption: have we accepted this ephemeral key? */
  has(key: number): boolean {
    for (const s of this.slots.values()) if (s.has(key)) return true;
    return false;
  }

  check(wallNow: number, timestampMs: number, key: number): Freshness {
    if (this.has(key)) return 'replay';
    if (timestampMs <= this.floorMs || Math.abs(wallNow - timestampMs) > this.windowMs) return 'stale';
    if (this.banned.has(Math.floor(timestampMs / SLOT_MS))) return 'stale';
    return 'fresh';
  }

  /** Record an accepted message 1 (after check() said fresh). */
  remember(wallNow: number, timestampMs: number, key: number): void {
    const expired = (slot: number): boolean => (slot + 1) * SLOT_MS <= wallNow - this.windowMs;
    for (const [slot, keys] of this.slots) {
      if (!expired(slot)) continue;
      this.slots.delete(slot);
      this.count -= keys.size;
      this.floorMs = Math.max(this.floorMs, (slot + 1) * SLOT_MS - 1);
    }
    for (const slot of this.banned) if (expired(slot)) this.banned.delete(slot);
    while (this.count >= this.capacity && this.slots.size > 0) {
      const oldest = Math.min(...this.slots.keys());
      this.count -= this.slots.get(oldest)!.size;
      this.slots.delete(oldest);
      this.banned.add(oldest);
    }
    const slot = Math.floor(timestampMs / SLOT_MS);
    let keys = this.slots.get(slot);
    if (!keys) this.slots.set(slot, (keys = new Set()));
    keys.add(key);
    this.count++;
  }

  get size(): number {
    return this.count;
  }
}
