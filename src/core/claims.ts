// The claim table: who claims which prefix, and the active claimant of each prefix, kept up
// to date on every change (so the data path only does a trie lookup and reads `active`).
// Only live claimants are in here: a peer's claims are removed the moment it is declared
// dead, so the longest matching prefix always has a live claimant.
import { formatPrefix, type Prefix } from '../wire/addr.js';
import { PrefixTrie } from './prefix-trie.js';
import { compareClaimants, type Claimant } from './routing.js';
import type { PeerId } from './types.js';

export interface RouteEntry {
  readonly prefix: Prefix;
  readonly text: string;
  /** Sorted, preferred first. Never empty while the entry is in the table. */
  claimants: Claimant[];
  /** claimants[0].peer, cached for the data path. */
  active: PeerId | null;
}

/** Called after a batch of updates, once per prefix whose active claimant changed. */
export type RouteChangeListener = (entry: RouteEntry, from: PeerId | null, to: PeerId | null) => void;

interface PeerClaims {
  bootTimeMs: number;
  prefixes: Map<string, Prefix>;
}

export class ClaimTable {
  private readonly trie = new PrefixTrie<RouteEntry>();
  private readonly byPeer = new Map<PeerId, PeerClaims>();

  constructor(private readonly onRouteChange: RouteChangeListener) {}

  /** The longest claimed prefix containing `addr` (4 or 16 bytes). Allocation-free. */
  lookup(addr: Uint8Array): RouteEntry | undefined {
    return this.trie.lookup(addr);
  }

  /** Replace everything `peer` claims (a NodeInfo, a restart, or our own config). */
  setClaims(peer: PeerId, bootTimeMs: number, prefixes: readonly Prefix[]): void {
    const old = this.byPeer.get(peer);
    const next = new Map<string, Prefix>();
    for (const p of prefixes) next.set(formatPrefix(p), p);
    this.byPeer.set(peer, { bootTimeMs, prefixes: next });
    const touched = new Map<string, Prefix>(old?.prefixes ?? []);
    for (const [k, p] of next) touched.set(k, p);
    const bootChanged = old !== undefined && old.bootTimeMs !== bootTimeMs;
    const changes: [RouteEntry, PeerId | null][] = [];
    for (const [key, prefix] of touched) {
      const had = old?.prefixes.has(key) ?? false;
      const has = next.has(key);
      if (had && has && !bootChanged) continue;
      this.update(prefix, key, peer, has ? bootTimeMs : null, changes);
    }
    this.announce(changes);
  }

  /** Withdraw every claim of `peer` (it died or left). */
  removePeer(peer: PeerId): void {
    const old = this.byPeer.get(peer);
    if (!old) return;
    this.byPeer.delete(peer);
    const changes: [RouteEntry, PeerId | null][] = [];
    for (const [key, prefix] of old.prefixes) this.update(prefix, key, peer, null, changes);
    this.announce(changes);
  }

  claimsOf(peer: PeerId): Prefix[] {
    return [...(this.byPeer.get(peer)?.prefixes.values() ?? [])];
  }

  /** Every claimed prefix, IPv4 first, in address order. */
  entries(): RouteEntry[] {
    return [...this.trie.entries()].map(([, e]) => e);
  }

  get size(): number {
    return this.trie.size;
  }

  /** Set (bootTimeMs) or remove (null) one claimant of one prefix; note a change of the active one. */
  private update(prefix: Prefix, key: string, peer: PeerId, bootTimeMs: number | null, changes: [RouteEntry, PeerId | null][]): void {
    let entry = this.trie.get(prefix);
    if (!entry) {
      if (bootTimeMs === null) return;
      entry = { prefix, text: key, claimants: [], active: null };
      this.trie.set(prefix, entry);
    }
    const before = entry.active;
    const rest = entry.claimants.filter((c) => c.peer !== peer);
    if (bootTimeMs !== null) {
      rest.push({ peer, bootTimeMs });
      rest.sort(compareClaimants);
    }
    entry.claimants = rest;
    entry.active = rest[0]?.peer ?? null;
    if (rest.length === 0) this.trie.delete(prefix);
    if (entry.active !== before) changes.push([entry, before]);
  }

  private announce(changes: [RouteEntry, PeerId | null][]): void {
    for (const [entry, from] of changes) this.onRouteChange(entry, from, entry.active);
  }
}
