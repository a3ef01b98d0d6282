// Per-pair limits of a relay: relayed traffic (packets and bytes a second per origin and
// destination) and forwarded punches (one a second per pair). Keyed by the two peers' ids, so
// a member cannot make a relay keep state for strangers; bounded per origin, and an origin's
// pairs go when it does.
import { MAX_RELAY_PAIRS_PER_ORIGIN, RELAY_BURST_S } from './constants.js';
import { TokenBucket } from './token-bucket.js';
import type { PeerId } from './types.js';

export interface RelayLimit {
  packetsPerSec: number;
  bytesPerSec: number;
}

interface Pair {
  readonly packets: TokenBucket;
  readonly bytes: TokenBucket;
  /** The last punch forwarded for this pair. */
  lastPunchMs: number;
}

export class RelayLimiter {
  /** origin -> destination -> its limits; each inner map oldest first. */
  private readonly pairs = new Map<PeerId, Map<PeerId, Pair>>();

  constructor(private readonly limit: RelayLimit) {}

  /** May `origin` send `bytes` more to `dest` through us now? Spends the tokens if so. */
  allow(now: number, origin: PeerId, dest: PeerId, bytes: number): boolean {
    const pair = this.pair(origin, dest);
    // check both before spending either, so a refused packet costs nothing
    if (pair.packets.nextAt(now) > now || pair.bytes.available(now) < bytes) return false;
    pair.packets.take(now);
    pair.bytes.take(now, bytes);
    return true;
  }

  /** May we forward a punch from `origin` to `dest` now (at most one per `intervalMs`)? */
  allowPunch(now: number, origin: PeerId, dest: PeerId, intervalMs: number): boolean {
    const pair = this.pair(origin, dest);
    if (now < pair.lastPunchMs + intervalMs) return false;
    pair.lastPunchMs = now;
    return true;
  }

  /** `peer` is gone: forget every pair it is part of. */
  forget(peer: PeerId): void {
    this.pairs.delete(peer);
    for (const dests of this.pairs.values()) dests.delete(peer);
  }

  /** Pairs tracked (tests check the bound). */
  get size(): number {
    let n = 0;
    for (const d of this.pairs.values()) n += d.size;
    return n;
  }

  private pair(origin: PeerId, dest: PeerId): Pair {
    let dests = this.pairs.get(origin);
    if (!dests) this.pairs.set(origin, (dests = new Map()));
    let pair = dests.get(dest);
    if (pair) return pair;
    // the oldest pair makes room (an origin talking to that many peers through us is rare)
    if (dests.size >= MAX_RELAY_PAIRS_PER_ORIGIN) dests.delete(dests.keys().next().value!);
    const { packetsPerSec, bytesPerSec } = this.limit;
    pair = {
      packets: new TokenBucket(packetsPerSec, Math.max(1, packetsPerSec * RELAY_BURST_S)),
      bytes: new TokenBucket(bytesPerSec, Math.max(MAX_BURST_FLOOR_BYTES, bytesPerSec * RELAY_BURST_S)),
      lastPunchMs: -Infinity,
    };
    dests.set(dest, pair);
    return pair;
  }
}

/** A byte bucket always holds at least one largest datagram, so a low limit still passes one. */
const MAX_BURST_FLOOR_BYTES = 65_535;
