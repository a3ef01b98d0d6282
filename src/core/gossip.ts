// Our NodeInfo: our current signed node record (claims, candidates, relay mode: own-record.ts)
// plus a peer list for gossip. A change of claims signs a new record that goes out at once (a
// failover waits for it); candidate and peer-list changes are coalesced. The peer list is
// capped to a soft byte budget so the message fits one datagram, rotating through the peers
// so a large mesh still learns everyone over a few rounds; each peer we reach directly
// carries our RTT to it (what relay choice needs).
import { encodeControl, RTT_UNKNOWN, type NodeInfo, type PeerInfo } from '../wire/control.js';
import { MAX_GOSSIP_ENDPOINTS_PER_PEER, NODE_INFO_PEER_BUDGET_BYTES } from './constants.js';
import type { OwnRecord, OwnRecordContent } from './own-record.js';
import { isRelayKey } from './path.js';
import type { PeerRecord } from './peers.js';


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
  record: Uint8Array,
  peers: readonly PeerRecord[],
  rotation: number,
  budgetBytes = NODE_INFO_PEER_BUDGET_BYTES,
): GossipBuild {
  const sorted = [...peers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const list: PeerInfo[] = [];
  const make = (truncated: boolean): GossipBuild => ({ info: { type: 'node-info', bootTimeMs, seq, record, peers: list }, truncated });
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
 * Our own NodeInfo: its seq, our signed record, the encoded message (built once per change and
 * shared by every recipient), and coalescing of peer-list and candidate changes into at most
 * one new seq (and record) per coalesceMs.
 */
export class OwnInfo {
  seq = 1;
  private bytes: Uint8Array | null = null;
  private truncated = false;
  private rotation = 0;
  private dirty = false;
  private recordDirty = false;
  private lastBumpMs = -Infinity;

  constructor(
    private readonly own: OwnRecord,
    private readonly content: () => OwnRecordContent,
    private readonly coalesceMs: number,
  ) {}

  /** Our current signed record (the first one is signed on first use). */
  get record(): Uint8Array {
    return this.own.bytes ?? this.own.sign(this.content());
  }

  /** Our claims changed (or the mesh holds a newer record of ours): sign a new record and take a new seq now. */
  claimsChanged(now: number): Uint8Array {
    this.own.sign(this.content());
    this.seq++;
    this.bytes = null;
    this.dirty = false;
    this.recordDirty = false;
    this.lastBumpMs = now;
    return this.own.bytes!;
  }

  /** The mesh holds a record of ours at `version`: the next one we sign must be newer (true if that changes it). */
  supersede(version: number): boolean {
    return this.own.supersede(version);
  }

  /** Our peer list (or, `record`, what our record says besides claims) changed: a new seq goes out soon. */
  markDirty(record = false): void {
    this.dirty = true;
    if (record) this.recordDirty = true;
  }

  bumpDueAt(): number {
    return this.dirty ? this.lastBumpMs + this.coalesceMs : Infinity;
  }

  /**
   * Take a new seq if a change is pending and due. Returns null if not; else the newly
   * signed record, or undefined if only the peer list changed. Every peer must get it.
   */
  bumpIfDue(now: number): Uint8Array | undefined | null {
    if (!this.dirty || now < this.lastBumpMs + this.coalesceMs) return null;
    const signed = this.recordDirty ? this.own.sign(this.content()) : undefined;
    this.seq++;
    this.bytes = null;
    this.dirty = false;
    this.recordDirty = false;
    this.lastBumpMs = now;
    return signed;
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
      const built = buildNodeInfo(this.own.bootTimeMs, this.seq, this.record, peers(), this.rotation, NODE_INFO_PEER_BUDGET_BYTES);
      this.bytes = encodeControl(built.info);
      this.truncated = built.truncated;
    }
    return this.bytes;
  }
}
