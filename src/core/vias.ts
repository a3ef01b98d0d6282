// Who reaches whom directly, from gossip: a peer's NodeInfo marks the peers it reaches
// directly with its RTT to them (control.ts T_PEER_RTT). That is what relay choice and punch
// requests need: "B reaches C, in so many ms". Bounded per target and in total; entries not
// repeated for VIA_TTL_MS are forgotten, and a relay that goes down takes its entries along.
//
// Relay choice (the same rule on both sides of a pair): preferred relays first, then the lowest
// RTT sum (our RTT to the relay + the relay's gossiped RTT to the peer), ties by relay id.
import { MAX_VIA_TARGETS, MAX_VIAS_PER_PEER, VIA_TTL_MS } from './constants.js';
import { DeadlineChanges, Timer, TimerHeap, withTimer } from './timer-heap.js';
import type { PeerId } from './types.js';

export interface Via {
  readonly via: PeerId;
  /** The relay's RTT to the target; null: not measured yet. */
  rttMs: number | null;
  /** The relay announced itself a preferred relay. */
  preferred: boolean;
  atMs: number;
}

/** What we know of one target: its relays, and our attempts to reach it while not connected. */
export interface ViaTarget {
  readonly id: PeerId;
  vias: Via[];
  /** Since when we want it and have not got it (null: connected, or not wanted yet). */
  wantedSinceMs: number | null;
  nextPunchAtMs: number;
  punchBackoffMs: number;
  nextRelayAtMs: number;
  /** The relay path our relayed handshake to it runs on (to cancel it). */
  relayConnect: string | null;
  /** When paths.ts next has work for it (wanted targets only). */
  readonly timer: Timer<ViaTarget>;
}

/** An RTT nobody measured yet ranks like this (a relay we know nothing about is not preferred). */
export const UNKNOWN_RTT_RANK_MS = 1_000;

export class ViaTable {
  /** Least recently gossiped first. */
  private readonly targets = new Map<PeerId, ViaTarget>();
  /** Targets by when paths.ts next has work for them; an evicted target leaves it too. */
  readonly timers: TimerHeap<ViaTarget>;

  constructor(changes = new DeadlineChanges()) {
    this.timers = new TimerHeap(changes);
  }

  /** `via` says it reaches `target` directly, `rttMs` away. */
  note(now: number, target: PeerId, via: PeerId, rttMs: number | null, preferred: boolean): void {
    let t = this.targets.get(target);
    if (t) {
      this.targets.delete(target); // most recently gossiped last
    } else {
      if (this.targets.size >= MAX_VIA_TARGETS) {
        const oldest = this.targets.values().next().value!;
        this.targets.delete(oldest.id);
        this.timers.cancel(oldest.timer);
      }
      t = withTimer<ViaTarget>({
        id: target, vias: [], wantedSinceMs: null, nextPunchAtMs: now, punchBackoffMs: 0, nextRelayAtMs: now, relayConnect: null,
        timer: new Timer(),
      });
    }
    this.targets.set(target, t);
    const known = t.vias.find((v) => v.via === via);
    if (known) {
      known.rttMs = rttMs;
      known.preferred = preferred;
      known.atMs = now;
      return;
    }
    const entry: Via = { via, rttMs, preferred, atMs: now };
    if (t.vias.length < MAX_VIAS_PER_PEER) {
      t.vias.push(entry);
      return;
    }
    // full: the oldest non-preferred entry makes room (else the oldest)
    let victim = -1;
    for (let i = 0; i < t.vias.length; i++) {
      const v = t.vias[i]!;
      if (victim < 0 || (!v.preferred && t.vias[victim]!.preferred) || (v.preferred === t.vias[victim]!.preferred && v.atMs < t.vias[victim]!.atMs)) victim = i;
    }
    if (!preferred && t.vias[victim]!.preferred) return;
    t.vias[victim] = entry;
  }

  /** `via` went down (or stopped relaying): it reaches nobody for us. */
  forgetVia(via: PeerId): void {
    for (const t of this.targets.values()) t.vias = t.vias.filter((v) => v.via !== via);
  }

  get(target: PeerId): ViaTarget | undefined {
    return this.targets.get(target);
  }

  /** Fresh relays of `target` (stale ones are dropped on the way). */
  vias(now: number, target: PeerId): readonly Via[] {
    const t = this.targets.get(target);
    if (!t) return [];
    if (t.vias.some((v) => now >= v.atMs + VIA_TTL_MS)) t.vias = t.vias.filter((v) => now < v.atMs + VIA_TTL_MS);
    return t.vias;
  }

  values(): IterableIterator<ViaTarget> {
    return this.targets.values();
  }

  get size(): number {
    return this.targets.size;
  }
}

/** Order relays by the rule above; `ownRttMs` is our RTT to a relay (null: not measured). */
export function rankRelays(vias: readonly Via[], ownRttMs: (via: PeerId) => number | null): Via[] {
  const cost = (v: Via): number => (ownRttMs(v.via) ?? UNKNOWN_RTT_RANK_MS) + (v.rttMs ?? UNKNOWN_RTT_RANK_MS);
  return [...vias].sort((a, b) =>
    (a.preferred === b.preferred ? 0 : a.preferred ? -1 : 1) || cost(a) - cost(b) || (a.via < b.via ? -1 : a.via > b.via ? 1 : 0));
}
