// Relaying: carrying the end-to-end channel of two peers that cannot reach each other through
// a peer both reach directly. The relay forwards datagrams it cannot read or forge (they are
// sealed by the two ends' own session), inside its own authenticated sessions with each:
//
//   A --[Relay: key(C) + datagram]--> B --[Relayed: key(A) + datagram]--> C
//
// C hands the datagram to its channel as if it had come in on path "relay:B/A", and sends back
// to that path, which A's engine wraps the same way. The relay:
//   - forwards only between two of its own peers with sessions, 1:1 (one datagram out per
//     datagram in, the same size), so it is never an amplifier nor a way to reach non-members;
//   - only over direct hops: a Relay that came in on a relay path, or a destination it reaches
//     only through a relay, is refused (no chains, no loops);
//   - rate-limits each (origin, destination) pair in packets and bytes (relay-limit.ts);
//   - refuses everything with --no-relay (the end of a relayed pair never needs to relay).
// Refusals are counted: 'relay-denied', 'relay-limit'.
//
// Buffers: every relayed datagram is copied once into a buffer of this class (the channel's
// own buffers are reused by the next send/receive); views are reused while the length repeats.
// Paths and their keys are cached, so a steady relayed stream allocates little: the relay path
// costs a copy and a few Map lookups a packet, the direct path nothing.
import type { Channel } from './channel.js';
import { MAX_RELAY_ROUTES, MAX_RELAYED_DATAGRAM_BYTES, RELAY_HEADER_BYTES } from './constants.js';
import { isRelayKey, parsePath, relayKey, type PathKey } from './path.js';
import type { PeerRecord, PeerTable } from './peers.js';
import { RelayLimiter, type RelayLimit } from './relay-limit.js';
import { MsgKind, type DropReason, type PeerId } from './types.js';
import type { RelayMode } from '../wire/control.js';

export interface RelayHost {
  readonly channel: Channel;
  readonly peers: PeerTable;
  readonly localId: PeerId;
  drop(reason: DropReason, detail: string): void;
}

export interface RelayTotals {
  packets: number;
  bytes: number;
}

interface Route {
  readonly via: PeerId;
  readonly key: Uint8Array;
}

export class Relay {
  /** What we forwarded for others, in total. */
  readonly forwarded: RelayTotals = { packets: 0, bytes: 0 };
  private readonly limiter: RelayLimiter;
  /** Relay paths we send on -> the relay and the destination's key. */
  private readonly routes = new Map<PathKey, Route>();
  /** (relay, origin) -> the path key of datagrams relayed to us. */
  private readonly incoming = new Map<PeerId, Map<PeerId, PathKey>>();
  private incomingCount = 0;
  private readonly tx = new Uint8Array(RELAY_HEADER_BYTES + MAX_RELAYED_DATAGRAM_BYTES);
  private txView = this.tx.subarray(0, 0);
  private readonly rx = new Uint8Array(RELAY_HEADER_BYTES + MAX_RELAYED_DATAGRAM_BYTES);
  private rxView = this.rx.subarray(0, 0);
  private pending: PathKey | null = null;

  constructor(private readonly host: RelayHost, readonly mode: RelayMode, readonly limit: RelayLimit) {
    this.limiter = new RelayLimiter(limit);
  }

  /**
   * The channel sends `datagram` on relay path `path`: wrap it for the relay. False if the
   * relay cannot carry it now (not a peer reached directly, no session).
   */
  sendThrough(now: number, path: PathKey, datagram: Uint8Array): boolean {
    const route = this.route(path);
    if (!route || datagram.length > MAX_RELAYED_DATAGRAM_BYTES) return false;
    const via = this.host.peers.get(route.via);
    if (!via || isRelayKey(via.endpoint)) return false;
    this.tx.set(route.key, 0);
    this.tx.set(datagram, RELAY_HEADER_BYTES);
    return this.host.channel.send(now, route.via, MsgKind.Relay, this.txSlice(RELAY_HEADER_BYTES + datagram.length));
  }

  /** MsgKind.Relay from `from` (it came in on `arrival`): forward it to the peer it names. */
  forward(now: number, from: PeerRecord, arrival: PathKey, payload: Uint8Array): void {
    if (this.mode === 0) return this.host.drop('relay-denied', 'relaying is off (--no-relay)');
    if (isRelayKey(arrival)) return this.host.drop('relay-denied', 'relay request over a relayed path');
    if (payload.length <= RELAY_HEADER_BYTES) return this.host.drop('relay-denied', 'empty relay request');
    const dest = this.host.peers.byKey(payload);
    if (!dest || dest === from || !from.wireKey) return this.host.drop('relay-denied', 'destination is not a peer');
    if (isRelayKey(dest.endpoint)) return this.host.drop('relay-denied', 'destination is relayed itself');
    const bytes = payload.length - RELAY_HEADER_BYTES;
    if (!this.limiter.allow(now, from.id, dest.id, bytes)) return this.host.drop('relay-limit', `${from.id} -> ${dest.id}`);
    this.tx.set(payload, 0);
    this.tx.set(from.wireKey, 0);
    if (!this.host.channel.send(now, dest.id, MsgKind.Relayed, this.txSlice(payload.length))) {
      return this.host.drop('relay-denied', 'no session with the destination');
    }
    from.relayed.rxPackets++;
    from.relayed.rxBytes += bytes;
    dest.relayed.txPackets++;
    dest.relayed.txBytes += bytes;
    this.forwarded.packets++;
    this.forwarded.bytes += bytes;
  }

  /**
   * MsgKind.Relayed from relay `from`: a datagram of the peer it names, for us. It is kept
   * until takePending() (the channel is still inside the call that delivered it).
   */
  accept(from: PeerRecord, arrival: PathKey, payload: Uint8Array): void {
    if (isRelayKey(arrival)) return this.host.drop('relay-denied', 'relayed datagram over a relayed path');
    if (payload.length <= RELAY_HEADER_BYTES) return this.host.drop('relay-denied', 'empty relayed datagram');
    const known = this.host.peers.byKey(payload);
    const origin = known ? known.id : this.host.channel.peerFromKey(payload.subarray(0, RELAY_HEADER_BYTES));
    if (origin === null || origin === this.host.localId || origin === from.id) {
      return this.host.drop('relay-denied', 'relayed from an invalid origin');
    }
    this.rx.set(payload, 0);
    if (this.rxView.length !== payload.length - RELAY_HEADER_BYTES) this.rxView = this.rx.subarray(RELAY_HEADER_BYTES, payload.length);
    this.pending = this.incomingKey(from.id, origin);
  }

  /** The path of a relayed datagram waiting for the channel (then datagram()), or null. Clears it. */
  takePending(): PathKey | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  /** The datagram of the last takePending(); valid until the next accept(). */
  datagram(): Uint8Array {
    return this.rxView;
  }

  /** May a punch from `origin` to `dest` be forwarded now (one per `intervalMs` per pair)? */
  allowPunch(now: number, origin: PeerId, dest: PeerId, intervalMs: number): boolean {
    return this.limiter.allowPunch(now, origin, dest, intervalMs);
  }

  /** `peer` is gone: forget its pairs and the paths through it. */
  forgetPeer(peer: PeerId): void {
    this.limiter.forget(peer);
    const inc = this.incoming.get(peer);
    if (inc) {
      this.incomingCount -= inc.size;
      this.incoming.delete(peer);
    }
  }

  /** Pair limits tracked (tests check the bound). */
  get pairs(): number {
    return this.limiter.size;
  }

  private txSlice(n: number): Uint8Array {
    if (this.txView.length !== n) this.txView = this.tx.subarray(0, n);
    return this.txView;
  }

  private route(path: PathKey): Route | null {
    const known = this.routes.get(path);
    if (known) return known;
    const p = parsePath(path);
    if (!p || p.kind !== 'relay') return null;
    const key = this.host.channel.peerKey(p.peer);
    if (!key) return null;
    if (this.routes.size >= MAX_RELAY_ROUTES) this.routes.clear(); // a cache: rebuilt as used
    const route = { via: p.via, key };
    this.routes.set(path, route);
    return route;
  }

  private incomingKey(via: PeerId, origin: PeerId): PathKey {
    let byOrigin = this.incoming.get(via);
    const known = byOrigin?.get(origin);
    if (known !== undefined) return known;
    if (this.incomingCount >= MAX_RELAY_ROUTES) {
      this.incoming.clear(); // a cache: rebuilt as used
      this.incomingCount = 0;
      byOrigin = undefined;
    }
    if (!byOrigin) this.incoming.set(via, (byOrigin = new Map()));
    const key = relayKey(via, origin);
    byOrigin.set(origin, key);
    this.incomingCount++;
    return key;
  }
}
