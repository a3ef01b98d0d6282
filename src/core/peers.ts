// The peer table: live peers keyed by identity, with the liveness and gossip bookkeeping the
// engine's timers need. A peer that shows up at a new endpoint is the same record.
import type { Prefix } from '../wire/addr.js';
import type { RelayMode } from '../wire/control.js';
import type { Member } from './members.js';
import { MAX_PEER_ENDPOINTS } from './constants.js';
import { isRelayKey, type PathKey } from './path.js';
import { PrefixTrie } from './prefix-trie.js';
import { Timer, withTimer } from './timer-heap.js';
import type { Endpoint, PeerId } from './types.js';

export type PeerState =
  /** Heard from within suspectAfterMs. */
  | 'up'
  /** Silent for a while: being probed, still routable until peerTimeoutMs. */
  | 'suspect';

/** A path to a peer other than (or besides) its active one: tried, or heard on (paths.ts). */
export interface PathCandidate {
  readonly key: PathKey;
  /** Last authenticated packet that came in on it (-Infinity: never). */
  lastHeardMs: number;
  /** Last probe we sent on it (-Infinity: never). */
  lastProbeMs: number;
  /** Smoothed RTT of probes answered on it. */
  rttMs: number | null;
}

/** Traffic we relayed for a peer (as a relay): from it to others, and from others to it. */
export interface RelayedTraffic {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

/**
 * A peer we have a session with. What its node record says (claims, start time) lives in its
 * Member (members.ts), which outlives sessions; `kept` sessions have keepalives and the peer
 * timeout, the others close when idle (engine.ts).
 */
export interface PeerRecord {
  readonly id: PeerId;
  readonly member: Member;
  /** We keep this session: keepalives, probes, the peer timeout, NodeInfo exchange. */
  kept: boolean;
  /** Its peer-down event went out already (its record said it died or left before the session ended). */
  downReported: boolean;
  /** Last Data packet it sent us (a peer that uses our prefixes is kept). */
  lastDataInMs: number;
  /**
   * Its active path (path.ts): where it last completed a handshake or sent from directly, or
   * the relay path the mesh chose. What the channel sends on.
   */
  endpoint: PathKey;
  /**
   * The last MAX_PEER_ENDPOINTS direct endpoints it was seen at while connected, oldest first
   * (for "is this seed already connected?", gossip, and retrying it once lost). Never a relay path.
   */
  readonly endpoints: Set<Endpoint>;
  /** 32-byte key that names it in relay headers (channel.peerKey); null: it cannot be relayed. */
  readonly wireKey: Uint8Array | null;
  /** Last authenticated packet that came in on the active path. */
  pathHeardMs: number;
  /** Paths tried or heard besides the active one, least recently touched first (bounded). */
  readonly paths: Map<PathKey, PathCandidate>;
  /** How it relays for others (its NodeInfo); 0 until known. */
  relayMode: RelayMode;
  /** Its own candidates from its NodeInfo (screened, capped). */
  candidates: Endpoint[];
  /** While on a relay path: the next direct attempt (punch) and its backoff. */
  nextPunchAtMs: number;
  punchBackoffMs: number;
  /** While suspect: the next probe of its other paths. */
  nextAltProbeAtMs: number;
  /** The last punch it asked us to answer (one a second). */
  lastPunchAnsweredMs: number;
  /** As a relay: what we forwarded from it and to it. */
  readonly relayed: RelayedTraffic;
  state: PeerState;
  upSinceMs: number;
  lastHeardMs: number;
  /** lastHeardMs just before its latest handshake (how long an earlier incarnation was silent). */
  heardBeforeHandshakeMs: number;
  lastSentMs: number;
  /** Seq of the last NodeInfo from it we applied (-1: none), and the boot time it carried. */
  infoSeq: number;
  infoBootTimeMs: number | null;
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
  /** When its timers (liveness.ts, paths.ts) next have something due: its place in the engine's heap. */
  readonly timer: Timer<PeerRecord>;
}

export function newPeerRecord(member: Member, endpoint: PathKey, now: number, wireKey: Uint8Array | null = null, kept = true): PeerRecord {
  return withTimer<PeerRecord>({
    id: member.id,
    member,
    kept,
    downReported: false,
    lastDataInMs: -Infinity,
    endpoint,
    endpoints: new Set(isRelayKey(endpoint) ? [] : [endpoint]),
    wireKey,
    pathHeardMs: now,
    paths: new Map(),
    relayMode: 0,
    candidates: [],
    nextPunchAtMs: now,
    punchBackoffMs: 0,
    nextAltProbeAtMs: now,
    lastPunchAnsweredMs: -Infinity,
    relayed: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 },
    state: 'up',
    upSinceMs: now,
    lastHeardMs: now,
    heardBeforeHandshakeMs: now,
    lastSentMs: now,
    infoSeq: -1,
    infoBootTimeMs: null,
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
    timer: new Timer(),
  });
}

export class PeerTable {
  private readonly byId = new Map<PeerId, PeerRecord>();
  /** Every endpoint some live peer was seen at -> that peer (the latest one seen there). */
  private readonly byEndpoint = new Map<Endpoint, PeerRecord>();
  /** Peers by the first 30 bits of their wire key (relay headers name peers by key). */
  private readonly byKeyHead = new Map<number, PeerRecord>();
  /** Peers whose key head another peer has too (looked up by scanning; members could make some). */
  private keyHeadClashes = 0;
  /** Goes up whenever has() or hasEndpoint() may answer differently (membership.ts watches it). */
  version = 0;

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
    this.version++;
    this.byId.set(rec.id, rec);
    for (const ep of rec.endpoints) this.byEndpoint.set(ep, rec);
    if (rec.wireKey) {
      const head = keyHead(rec.wireKey, 0);
      if (this.byKeyHead.has(head)) this.keyHeadClashes++;
      else this.byKeyHead.set(head, rec);
    }
  }

  /** The live peer whose wire key is `buf[at..at+32]`. Allocates nothing. */
  byKey(buf: Uint8Array, at = 0): PeerRecord | undefined {
    if (buf.length < at + WIRE_KEY_BYTES) return undefined;
    const rec = this.byKeyHead.get(keyHead(buf, at));
    if (rec && sameKey(rec.wireKey!, buf, at)) return rec;
    if (this.keyHeadClashes === 0) return undefined;
    for (const r of this.byId.values()) if (r.wireKey && sameKey(r.wireKey, buf, at)) return r;
    return undefined;
  }

  /**
   * Move `rec` to path `ep`; returns the previous path if it changed. Direct endpoints are
   * remembered (endpoints, byEndpoint); relay paths are not: they belong to no address.
   */
  moveTo(rec: PeerRecord, ep: PathKey): PathKey | null {
    if (isRelayKey(ep)) {
      if (rec.endpoint === ep) return null;
      const from = rec.endpoint;
      rec.endpoint = ep;
      return from;
    }
    if (!rec.endpoints.has(ep)) this.version++;
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
    this.version++;
    this.byId.delete(id);
    for (const ep of rec.endpoints) if (this.byEndpoint.get(ep) === rec) this.byEndpoint.delete(ep);
    if (rec.wireKey) {
      const head = keyHead(rec.wireKey, 0);
      if (this.byKeyHead.get(head) === rec) {
        this.byKeyHead.delete(head);
        // a clashing peer (if any) takes the slot
        for (const r of this.byId.values()) {
          if (r.wireKey && keyHead(r.wireKey, 0) === head) {
            this.byKeyHead.set(head, r);
            this.keyHeadClashes--;
            break;
          }
        }
      } else {
        this.keyHeadClashes--;
      }
    }
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

/** Replace the claims member `m` may route and send from. */
export function setMemberClaims(m: Member, claims: Prefix[]): void {
  m.claims = claims;
  const sources = new PrefixTrie<true>();
  for (const p of claims) sources.set(p, true);
  m.sources = sources;
}

export const WIRE_KEY_BYTES = 32;

/** 30 bits of a key: a small integer, so Map lookups box nothing. */
function keyHead(b: Uint8Array, at: number): number {
  return ((b[at]! & 0x3f) << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

function sameKey(key: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < WIRE_KEY_BYTES; i++) if (key[i] !== b[at + i]) return false;
  return true;
}
