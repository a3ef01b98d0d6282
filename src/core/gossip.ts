// Our NodeInfo: own boot time and claims plus a peer list for gossip. Claims always go in
// full, and a change of them goes out at once (a failover waits for it); the peer list is
// capped to a soft byte budget so the message fits one datagram, rotating through the peers
// so a large mesh still learns everyone over a few rounds. Paths: each peer we reach directly
// carries our RTT to it (what relay choice needs), and the NodeInfo carries our own candidate
// endpoints and whether we relay.
import { encodeControl, RTT_UNKNOWN, type ClaimInfo, type NodeInfo, type PeerInfo, type RelayMode } from '../wire/control.js';
import { MAX_GOSSIP_ENDPOINTS_PER_PEER, NODE_INFO_PEER_BUDGET_BYTES } from './constants.js';
import { isRelayKey } from './path.js';
import type { PeerRecord } from './peers.js';
import type { Endpoint } from './types.js';

/** What our NodeInfo says about our paths. */
export interface PathInfo {
  candidates: Endpoint[];
  relay: RelayMode;
}


/** Rough wire size of one peer entry (tag, length, id, endpoints, END). */
function peerEntryBytes(p: PeerInfo): number {
  let n = 3 + 1 + p.id.length + 1 + (p.rttMs === undefined ? 0 : 5);
  for (const ep of p.endpoints) n += 3 + 1 + (ep.startsWith('[') ? 16 : 4) + 2;
  return n;
}

export interface GossipBuild {
  info: NodeInfo;
  /** Some peers were left out for size: the next build should rotate. */
  truncated: boolean;
}

export function buildNodeInfo(
  bootTimeMs: number,
  seq: number,
  claims: readonly ClaimInfo[],
  peers: readonly PeerRecord[],
  rotation: number,
  budgetBytes = NODE_INFO_PEER_BUDGET_BYTES,
  paths: PathInfo | null = null,
): GossipBuild {
  const sorted = [...peers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const list: PeerInfo[] = [];
  const make = (truncated: boolean): GossipBuild => {
    const info: NodeInfo = { type: 'node-info', bootTimeMs, seq, claims: [...claims], peers: list };
    if (paths) {
      if (paths.candidates.length > 0) info.candidates = [...paths.candidates];
      info.relay = paths.relay;
    }
    return { info, truncated };
  };
  let used = 0;
  for (let i = 0; i < sorted.length; i++) {
    const rec = sorted[(i + rotation) % sorted.length]!;
    const direct = !isRelayKey(rec.endpoint);
    // Its current endpoint first, then the most recent others it used (never a relay path).
    const others = [...rec.endpoints].filter((e) => e !== rec.endpoint).reverse();
    const endpoints = [...(direct ? [rec.endpoint] : []), ...others].slice(0, MAX_GOSSIP_ENDPOINTS_PER_PEER);
    const entry: PeerInfo = { id: rec.id, endpoints };
    if (direct) entry.rttMs = rec.rttMs === null ? RTT_UNKNOWN : Math.min(RTT_UNKNOWN - 1, Math.round(rec.rttMs));
    const size = peerEntryBytes(entry);
    if (used + size > budgetBytes && list.length > 0) return make(true);
    used += size;
    list.push(entry);
  }
  return make(false);
}

/**
 * Our own NodeInfo: its seq, the encoded message (built once per change and shared by every
 * recipient), and coalescing of peer-list changes into at most one new seq per coalesceMs.
 */
export class OwnInfo {
  seq = 1;
  private bytes: Uint8Array | null = null;
  private truncated = false;
  private rotation = 0;
  private dirty = false;
  private lastBumpMs = -Infinity;

  constructor(
    private readonly bootTimeMs: number,
    private readonly claims: () => readonly ClaimInfo[],
    private readonly coalesceMs: number,
    private readonly paths: (() => PathInfo) | null = null,
  ) {}

  /** Our claims changed: a new seq now, not coalesced. */
  claimsChanged(now: number): void {
    this.seq++;
    this.bytes = null;
    this.dirty = false;
    this.lastBumpMs = now;
  }

  /** Our peer list changed: a new seq goes out soon. */
  markDirty(): void {
    this.dirty = true;
  }

  bumpDueAt(): number {
    return this.dirty ? this.lastBumpMs + this.coalesceMs : Infinity;
  }

  /** Take a new seq if a change is pending and due; true if it did (every peer must get it). */
  bumpIfDue(now: number): boolean {
    if (!this.dirty || now < this.lastBumpMs + this.coalesceMs) return false;
    this.seq++;
    this.bytes = null;
    this.dirty = false;
    this.lastBumpMs = now;
    return true;
  }

  /**
   * A refresh is going out: rebuilt (same seq) with current RTTs; if the peer list did not fit
   * last time, showing other peers.
   */
  refresh(): void {
    if (this.truncated) this.rotation++;
    this.bytes = null;
  }

  encoded(peers: () => readonly PeerRecord[]): Uint8Array {
    if (!this.bytes) {
      const built = buildNodeInfo(this.bootTimeMs, this.seq, this.claims(), peers(), this.rotation, NODE_INFO_PEER_BUDGET_BYTES, this.paths?.() ?? null);
      this.bytes = encodeControl(built.info);
      this.truncated = built.truncated;
    }
    return this.bytes;
  }
}
