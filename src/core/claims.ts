// The claim table: who claims which prefix with which options, and the active claimant of
// each prefix (routing.ts), kept up to date on every change so the data path only does a trie
// lookup and reads `active`. Only live claimants are in here: a peer's claims are removed the
// moment it is declared dead. Updates return what changed; the engine decides why.
import { formatPrefix, type Prefix } from '../wire/addr.js';
import { MAX_REMEMBERED_EPOCHS } from './constants.js';
import { PrefixTrie } from './prefix-trie.js';
import { chooseActive, orderClaimants, type Claimant, type ClaimState } from './routing.js';
import type { PeerId } from './types.js';

/** One claim as its claimant announces it (our own ones included). */
export interface ClaimRecord {
  readonly prefix: Prefix;
  readonly priority: number;
  readonly preempt: boolean;
  readonly state: ClaimState;
  readonly epoch: number;
}

export interface RouteEntry {
  readonly prefix: Prefix;
  readonly text: string;
  /** Every claimant, the active one first (routing.ts orderClaimants). Never empty. */
  claimants: Claimant[];
  /** The active claimant's id, cached for the data path; null when every claim is withdrawn. */
  active: PeerId | null;
  activeClaimant: Claimant | null;
  /** The highest serving epoch announced for this prefix so far. */
  maxEpoch: number;
  /**
   * A claimant that drained its claim while it was active and still announces it drained:
   * it keeps serving the connections it had, so the data path sends their packets there.
   */
  drainPeer: PeerId | null;
  /** Last time we sent a packet for this prefix (the data path sets it; -Infinity: never). */
  lastUsedMs: number;
}

export interface RouteChange {
  readonly entry: RouteEntry;
  readonly from: PeerId | null;
  readonly to: PeerId | null;
}

interface PeerClaims {
  bootTimeMs: number;
  records: Map<string, ClaimRecord>;
}

export class ClaimTable {
  private readonly trie = new PrefixTrie<RouteEntry>();
  private readonly byPeer = new Map<PeerId, PeerClaims>();
  /** maxEpoch of prefixes whose last claimant left, so a returning claimant cannot reuse an old epoch. */
  private readonly pastEpochs = new Map<string, number>();

  /** The longest claimed prefix containing `addr` (4 or 16 bytes). Allocation-free. */
  lookup(addr: Uint8Array): RouteEntry | undefined {
    return this.trie.lookup(addr);
  }

  get(prefix: Prefix): RouteEntry | undefined {
    return this.trie.get(prefix);
  }

  /** The highest serving epoch known for `prefix` (0 if none). */
  maxEpoch(prefix: Prefix): number {
    return this.trie.get(prefix)?.maxEpoch ?? this.pastEpochs.get(formatPrefix(prefix)) ?? 0;
  }

  /** Replace everything `peer` claims (a NodeInfo, a restart, or our own claims changing). */
  setClaims(peer: PeerId, bootTimeMs: number, records: readonly ClaimRecord[]): RouteChange[] {
    const old = this.byPeer.get(peer);
    const next = new Map<string, ClaimRecord>();
    for (const r of records) next.set(formatPrefix(r.prefix), r);
    this.byPeer.set(peer, { bootTimeMs, records: next });
    const bootChanged = old !== undefined && old.bootTimeMs !== bootTimeMs;
    const changes: RouteChange[] = [];
    for (const [key, r] of next) {
      const was = old?.records.get(key);
      if (was && !bootChanged && sameRecord(was, r)) continue;
      this.update(r.prefix, key, peer, toClaimant(peer, bootTimeMs, r), changes);
    }
    for (const [key, r] of old?.records ?? []) if (!next.has(key)) this.update(r.prefix, key, peer, null, changes);
    return changes;
  }

  /** Withdraw every claim of `peer` (it died or left). */
  removePeer(peer: PeerId): RouteChange[] {
    const old = this.byPeer.get(peer);
    if (!old) return [];
    this.byPeer.delete(peer);
    const changes: RouteChange[] = [];
    for (const [key, r] of old.records) this.update(r.prefix, key, peer, null, changes);
    return changes;
  }

  claimsOf(peer: PeerId): ClaimRecord[] {
    return [...(this.byPeer.get(peer)?.records.values() ?? [])];
  }

  /** Every claimed prefix, IPv4 first, in address order. */
  entries(): RouteEntry[] {
    return [...this.trie.entries()].map(([, e]) => e);
  }

  get size(): number {
    return this.trie.size;
  }

  /** Set (a Claimant) or remove (null) one claimant of one prefix; note a change of the active one. */
  private update(prefix: Prefix, key: string, peer: PeerId, claimant: Claimant | null, changes: RouteChange[]): void {
    let entry = this.trie.get(prefix);
    if (!entry) {
      if (claimant === null) return;
      const maxEpoch = this.pastEpochs.get(key) ?? 0;
      this.pastEpochs.delete(key);
      entry = { prefix, text: key, claimants: [], active: null, activeClaimant: null, maxEpoch, drainPeer: null, lastUsedMs: -Infinity };
      this.trie.set(prefix, entry);
    }
    const before = entry.active;
    const rest = entry.claimants.filter((c) => c.peer !== peer);
    if (claimant !== null) {
      rest.push(claimant);
      entry.maxEpoch = Math.max(entry.maxEpoch, claimant.epoch);
    }
    const active = chooseActive(rest);
    entry.claimants = orderClaimants(rest, active);
    entry.activeClaimant = active;
    entry.active = active?.peer ?? null;
    // A drained claim of the claimant that served until now keeps its existing connections.
    if (claimant !== null && claimant.state === 'drained' && before === peer) entry.drainPeer = peer;
    const drainer = entry.drainPeer === null ? undefined : rest.find((c) => c.peer === entry!.drainPeer);
    if (!drainer || drainer.state !== 'drained' || entry.active === entry.drainPeer) entry.drainPeer = null;
    if (rest.length === 0) {
      this.trie.delete(prefix);
      this.rememberEpoch(key, entry.maxEpoch);
    }
    if (entry.active !== before) changes.push({ entry, from: before, to: entry.active });
  }

  private rememberEpoch(key: string, epoch: number): void {
    if (epoch === 0) return;
    this.pastEpochs.delete(key);
    this.pastEpochs.set(key, epoch);
    if (this.pastEpochs.size > MAX_REMEMBERED_EPOCHS) this.pastEpochs.delete(this.pastEpochs.keys().next().value!);
  }
}

function toClaimant(peer: PeerId, bootTimeMs: number, r: ClaimRecord): Claimant {
  return { peer, bootTimeMs, priority: r.priority, preempt: r.preempt, state: r.state, epoch: r.epoch };
}

function sameRecord(a: ClaimRecord, b: ClaimRecord): boolean {
  return a.priority === b.priority && a.preempt === b.preempt && a.state === b.state && a.epoch === b.epoch;
}

/** A claim with default options, up and not serving: what a bare prefix means. */
export function plainRecord(prefix: Prefix, priority: number): ClaimRecord {
  return { prefix, priority, preempt: false, state: 'up', epoch: 0 };
}
