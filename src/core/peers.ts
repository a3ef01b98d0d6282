// The peer table: live peers keyed by identity, with the liveness and gossip bookkeeping the
// engine's timers need. A peer that shows up at a new endpoint is the same record.
import type { Prefix } from '../wire/addr.js';
import type { DeniedClaim } from './claim-policy.js';
import { MAX_PEER_ENDPOINTS } from './constants.js';
import { PrefixTrie } from './prefix-trie.js';
import type { Endpoint, PeerId } from './types.js';

export type PeerState =
  /** Heard from within suspectAfterMs. */
  | 'up'
  /** Silent for a while: being probed, still routable until peerTimeoutMs. */
  | 'suspect';

export interface PeerRecord {
  readonly id: PeerId;
  /** Where it last completed a handshake or sent from. */
  endpoint: Endpoint;
  /**
   * The last MAX_PEER_ENDPOINTS endpoints it was seen at while connected, oldest first (for
   * "is this seed already connected?", gossip, and retrying it once lost).
   */
  readonly endpoints: Set<Endpoint>;
  state: PeerState;
  upSinceMs: number;
  lastHeardMs: number;
  /** lastHeardMs just before its latest handshake (how long an earlier incarnation was silent). */
  heardBeforeHandshakeMs: number;
  lastSentMs: number;
  /** Its announced wall-clock start time; null until its first NodeInfo. */
  bootTimeMs: number | null;
  /** The boot time its claims rank with: the announced one, clamped (engine.ts). */
  rankBootTimeMs: number | null;
  /** Seq of the last NodeInfo from it we applied (-1: none). */
  infoSeq: number;
  /** A handshake completed since its last NodeInfo: the next one may come from a new process. */
  handshakeSinceInfo: boolean;
  /** Its accepted claims (claim-policy.ts); `sources` holds the same prefixes for lookups. */
  claims: Prefix[];
  /** Inner source addresses it may send from: its accepted claims. Lookups allocate nothing. */
  sources: PrefixTrie<true>;
  /** Claims of its latest NodeInfo we denied (at most MAX_DENIED_CLAIMS_PER_PEER). */
  deniedClaims: DeniedClaim[];
  /** "prefix reason" of denials already logged (bounded like deniedClaims). */
  readonly reportedDenials: Set<string>;
  /** Smoothed round-trip time from probes; null until measured. */
  rttMs: number | null;
  lastRttMs: number | null;
  /** Highest seq of our NodeInfo it acknowledged (-1: none). */
  ackedSeq: number;
  nextInfoAtMs: number;
  nextRefreshAtMs: number;
  /** While we have no NodeInfo of it: when to ask for one again. */
  nextInfoRequestAtMs: number;
  nextProbeAtMs: number;
  nextRttProbeAtMs: number;
  nextReconnectAtMs: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export function newPeerRecord(id: PeerId, endpoint: Endpoint, now: number): PeerRecord {
  return {
    id,
    endpoint,
    endpoints: new Set([endpoint]),
    state: 'up',
    upSinceMs: now,
    lastHeardMs: now,
    heardBeforeHandshakeMs: now,
    lastSentMs: now,
    bootTimeMs: null,
    rankBootTimeMs: null,
    infoSeq: -1,
    handshakeSinceInfo: false,
    claims: [],
    sources: new PrefixTrie<true>(),
    deniedClaims: [],
    reportedDenials: new Set(),
    rttMs: null,
    lastRttMs: null,
    ackedSeq: -1,
    nextInfoAtMs: now,
    nextRefreshAtMs: now,
    nextInfoRequestAtMs: now,
    nextProbeAtMs: now,
    nextRttProbeAtMs: now,
    nextReconnectAtMs: now,
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
  };
}

export class PeerTable {
  private readonly byId = new Map<PeerId, PeerRecord>();
  /** Every endpoint some live peer was seen at -> that peer (the latest one seen there). */
  private readonly byEndpoint = new Map<Endpoint, PeerRecord>();

  get size(): number {
    return this.byId.size;
  }

  get(id: PeerId): PeerRecord | undefined {
    return this.byId.get(id);
  }

  has(id: PeerId): boolean {
    return this.byId.has(id);
  }

  /** The live peer whose current endpoint is `ep`. */
  atEndpoint(ep: Endpoint): PeerRecord | undefined {
    const rec = this.byEndpoint.get(ep);
    return rec && rec.endpoint === ep ? rec : undefined;
  }

  /** Was some live peer seen at `ep`? */
  hasEndpoint(ep: Endpoint): boolean {
    return this.byEndpoint.has(ep);
  }

  add(rec: PeerRecord): void {
    this.byId.set(rec.id, rec);
    for (const ep of rec.endpoints) this.byEndpoint.set(ep, rec);
  }

  /** Move `rec` to endpoint `ep`; returns the previous endpoint if it changed. */
  moveTo(rec: PeerRecord, ep: Endpoint): Endpoint | null {
    rec.endpoints.delete(ep);
    rec.endpoints.add(ep); // most recent last
    this.byEndpoint.set(ep, rec);
    for (const old of rec.endpoints) {
      if (rec.endpoints.size <= MAX_PEER_ENDPOINTS) break;
      rec.endpoints.delete(old);
      if (this.byEndpoint.get(old) === rec) this.byEndpoint.delete(old);
    }
    if (rec.endpoint === ep) return null;
    const from = rec.endpoint;
    rec.endpoint = ep;
    return from;
  }

  remove(id: PeerId): PeerRecord | undefined {
    const rec = this.byId.get(id);
    if (!rec) return undefined;
    this.byId.delete(id);
    for (const ep of rec.endpoints) if (this.byEndpoint.get(ep) === rec) this.byEndpoint.delete(ep);
    return rec;
  }

  values(): IterableIterator<PeerRecord> {
    return this.byId.values();
  }

  /** A stable snapshot, for loops that may remove peers. */
  list(): PeerRecord[] {
    return [...this.byId.values()];
  }
}

/** Replace the claims `rec` may route and send from. */
export function setPeerClaims(rec: PeerRecord, claims: Prefix[]): void {
  rec.claims = claims;
  const sources = new PrefixTrie<true>();
  for (const p of claims) sources.set(p, true);
  rec.sources = sources;
}
