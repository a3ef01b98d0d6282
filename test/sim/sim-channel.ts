// A Channel for the simulator: the same contract as the secure channel (sessions keyed by
// identity, handshakes that can be lost and are retransmitted with backoff, self detection,
// unknown-session drops after a restart) but no cryptography, so thousands of simulated
// minutes run in seconds. Identities are taken on trust.
//
//   INIT    = 1 senderIndex:u32 instance:u32 idLength:u8 id
//   RESP    = 2 senderIndex:u32 receiverIndex:u32 instance:u32 idLength:u8 id
//   DATA    = 3 receiverIndex:u32 kind:u8 payload
//   CONFIRM = 4 receiverIndex:u32
//
// As in WireGuard, the responder may not send on a session until the initiator has used it
// (CONFIRM, or any DATA): otherwise simultaneous initiations leave each side sending on a
// session the other abandoned. Like the real channel, a handshake from a new instance of a
// peer (it restarted) discards every session of the old one, so nothing sent by the old
// process is delivered after the new one is known.
import type { Channel, ChannelSink } from '../../src/core/channel.js';
import { isRelayKey } from '../../src/core/path.js';
import { Timer, TimerHeap, withTimer } from '../../src/core/timer-heap.js';
import { MsgKind, type Endpoint, type PeerId } from '../../src/core/types.js';
import type { SimRng } from './rng.js';
import { nameFromKey, nameKey } from './name-keys.js';

const INIT = 1;
const RESP = 2;
const DATA = 3;
const CONFIRM = 4;
/** Receive indexes kept per peer: the newest for sending, one older for packets in flight. */
const SESSIONS_PER_PEER = 2;

export interface SimChannelOptions {
  id: PeerId;
  rng: SimRng;
  sink: ChannelSink;
  handshakeRetryMinMs?: number;
  handshakeRetryMaxMs?: number;
}

interface Session {
  readonly peer: PeerId;
  readonly localIndex: number;
  readonly remoteIndex: number;
  endpoint: Endpoint;
  /** Responder sessions wait for the initiator's first packet. */
  confirmed: boolean;
}

interface Attempt {
  readonly endpoint: Endpoint;
  readonly index: number;
  nextRetryAtMs: number;
  backoffMs: number;
  /** Its place in the retry heap (so a wake-up looks only at the attempts due, at 1 000 nodes too). */
  readonly timer: Timer<Attempt>;
}

export class SimChannel implements Channel {
  readonly localId: PeerId;
  private readonly rng: SimRng;
  private readonly sink: ChannelSink;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly sessions = new Map<number, Session>();
  /** Every session (confirmed or not) by peer, so a handshake looks only at that peer's. */
  private readonly ofPeer = new Map<PeerId, Set<Session>>();
  private readonly retries = new TimerHeap<Attempt>();
  private readonly byPeer = new Map<PeerId, Session[]>();
  private readonly attempts = new Map<Endpoint, Attempt>();
  private readonly attemptByIndex = new Map<number, Endpoint>();
  private readonly idBytes: Uint8Array;
  private readonly instance: number;
  private readonly peerInstance = new Map<PeerId, number>();

  constructor(opts: SimChannelOptions) {
    this.localId = opts.id;
    this.rng = opts.rng;
    this.sink = opts.sink;
    this.retryMinMs = opts.handshakeRetryMinMs ?? 100;
    this.retryMaxMs = opts.handshakeRetryMaxMs ?? 1_000;
    this.idBytes = new TextEncoder().encode(opts.id);
    this.instance = this.rng.u32();
  }

  /** Like the real channel: nothing to do while a session with that peer (or at that endpoint) is up. */
  connect(now: number, endpoint: Endpoint, peer?: PeerId): void {
    if (peer !== undefined && this.byPeer.has(peer)) return;
    for (const list of this.byPeer.values()) if (list[0]!.endpoint === endpoint) return;
    this.dial(now, endpoint);
  }

  renew(now: number, endpoint: Endpoint, peer: PeerId): void {
    const s = this.byPeer.get(peer)?.[0];
    this.dial(now, s?.endpoint ?? endpoint);
  }

  private dial(now: number, endpoint: Endpoint): void {
    if (this.attempts.has(endpoint)) return;
    const index = this.newIndex();
    const a = withTimer<Attempt>({ endpoint, index, nextRetryAtMs: now + this.retryMinMs, backoffMs: this.retryMinMs, timer: new Timer() });
    this.attempts.set(endpoint, a);
    this.attemptByIndex.set(index, endpoint);
    this.retries.schedule(a.timer, a.nextRetryAtMs);
    this.sendInit(endpoint, index);
  }

  cancelConnect(endpoint: Endpoint): void {
    const a = this.attempts.get(endpoint);
    if (!a) return;
    this.attempts.delete(endpoint);
    this.attemptByIndex.delete(a.index);
    this.retries.cancel(a.timer);
  }

  send(now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean {
    const s = this.byPeer.get(peer)?.[0];
    return s ? this.sendVia(now, peer, s.endpoint, kind, payload) : false;
  }

  sendVia(_now: number, peer: PeerId, path: Endpoint, kind: MsgKind, payload: Uint8Array): boolean {
    const s = this.byPeer.get(peer)?.[0];
    if (!s) return false;
    const out = new Uint8Array(6 + payload.length);
    out[0] = DATA;
    writeU32(out, 1, s.remoteIndex);
    out[5] = kind;
    out.set(payload, 6);
    this.sink.send(path, out);
    return true;
  }

  setPath(peer: PeerId, path: Endpoint): void {
    for (const s of this.byPeer.get(peer) ?? []) s.endpoint = path;
  }

  /** Simulator ids are short names: their ASCII bytes, zero-padded to 32. */
  peerKey(peer: PeerId): Uint8Array | null {
    return nameKey(peer);
  }

  peerFromKey(key: Uint8Array): PeerId | null {
    return nameFromKey(key);
  }

  receive(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 5) return this.sink.onDrop('malformed', from);
    const type = d[0];
    if (type === DATA || type === CONFIRM) {
      if (type === DATA && d.length < 6) return this.sink.onDrop('malformed', from);
      const s = this.sessions.get(readU32(d, 1));
      if (!s) return this.sink.onDrop('unknown-session', from);
      // like the real channel: roam onto direct paths only, never on control messages (probes
      // may come on another path on purpose); relay paths and those are the mesh's choice
      const control = type === DATA && d[5] === MsgKind.Control;
      if (!s.confirmed || (!isRelayKey(from) && !control)) s.endpoint = from;
      if (!s.confirmed) {
        s.confirmed = true;
        if (this.promote(s)) this.sink.onEstablished(now, s.peer, from);
      }
      if (type === DATA && this.sessions.get(s.localIndex) === s) this.sink.onMessage(now, s.peer, s.endpoint, d[5] as MsgKind, d.subarray(6), from);
      return;
    }
    if (type === INIT) {
      if (d.length < 10) return this.sink.onDrop('malformed', from);
      const id = readId(d, 9);
      if (id === null) return this.sink.onDrop('malformed', from);
      const remoteIndex = readU32(d, 1);
      if (id === this.localId) return this.sendResp(from, 0, remoteIndex); // let the initiator see itself
      this.checkInstance(id, readU32(d, 5));
      const own = this.ofPeer.get(id);
      for (const s of own ?? []) {
        if (s.remoteIndex === remoteIndex) {
          s.endpoint = from;
          return this.sendResp(from, s.localIndex, remoteIndex); // a retransmitted INIT
        }
      }
      for (const s of [...(own ?? [])]) if (!s.confirmed) this.removeSession(s); // superseded
      const s: Session = { peer: id, localIndex: this.newIndex(), remoteIndex, endpoint: from, confirmed: false };
      this.addSession(s);
      this.sendResp(from, s.localIndex, remoteIndex);
      return;
    }
    if (type === RESP) {
      if (d.length < 14) return this.sink.onDrop('malformed', from);
      const id = readId(d, 13);
      if (id === null) return this.sink.onDrop('malformed', from);
      const index = readU32(d, 5);
      const ep = this.attemptByIndex.get(index);
      if (ep === undefined) return this.sink.onDrop('handshake-state', from);
      this.cancelConnect(ep);
      if (id === this.localId) return this.sink.onSelf(ep);
      this.checkInstance(id, readU32(d, 9));
      const s: Session = { peer: id, localIndex: index, remoteIndex: readU32(d, 1), endpoint: from, confirmed: true };
      this.addSession(s);
      const news = this.promote(s);
      const confirm = new Uint8Array(5);
      confirm[0] = CONFIRM;
      writeU32(confirm, 1, s.remoteIndex);
      this.sink.send(from, confirm);
      if (news) this.sink.onEstablished(now, id, from);
      return;
    }
    this.sink.onDrop('malformed', from);
  }

  timeout(now: number): void {
    for (const a of this.retries.popDue(now)) {
      a.backoffMs = Math.min(this.retryMaxMs, a.backoffMs * 2);
      a.nextRetryAtMs = now + a.backoffMs * (0.75 + 0.5 * this.rng.next());
      this.retries.schedule(a.timer, a.nextRetryAtMs);
      this.sendInit(a.endpoint, a.index);
    }
  }

  nextDeadline(): number {
    return this.retries.next();
  }

  forget(peer: PeerId): void {
    for (const s of [...(this.ofPeer.get(peer) ?? [])]) this.removeSession(s);
    this.byPeer.delete(peer);
  }

  accepts(): boolean {
    return true;
  }

  isEstablished(peer: PeerId): boolean {
    return this.byPeer.has(peer);
  }

  /** A peer that restarted: nothing of its previous process may be delivered any more. */
  private checkInstance(peer: PeerId, instance: number): void {
    const known = this.peerInstance.get(peer);
    this.peerInstance.set(peer, instance);
    if (known !== undefined && known !== instance) this.forget(peer);
  }

  /**
   * A confirmed session becomes the one to send on; the oldest beyond the limit is dropped.
   * Returns whether the mesh must hear of it: like the real channel, only if there was no
   * session with that peer or the peer moved (a restart already cleared its sessions) — a
   * peer that re-handshakes while we still have a session gives no onEstablished.
   */
  private promote(s: Session): boolean {
    const before = this.byPeer.get(s.peer)?.[0];
    const list = [s, ...(this.byPeer.get(s.peer) ?? [])];
    for (const old of list.splice(SESSIONS_PER_PEER)) this.removeSession(old);
    this.byPeer.set(s.peer, list);
    return !before || before.endpoint !== s.endpoint;
  }

  private addSession(s: Session): void {
    this.sessions.set(s.localIndex, s);
    let own = this.ofPeer.get(s.peer);
    if (!own) this.ofPeer.set(s.peer, (own = new Set()));
    own.add(s);
  }

  private removeSession(s: Session): void {
    if (this.sessions.get(s.localIndex) === s) this.sessions.delete(s.localIndex);
    const own = this.ofPeer.get(s.peer);
    if (!own) return;
    own.delete(s);
    if (own.size === 0) this.ofPeer.delete(s.peer);
  }

  private newIndex(): number {
    for (;;) {
      const i = this.rng.u32() & 0x7fff_ffff; // 31 bits: a small integer, cheap as a Map key
      if (i !== 0 && !this.sessions.has(i) && !this.attemptByIndex.has(i)) return i;
    }
  }

  private sendInit(to: Endpoint, index: number): void {
    const out = new Uint8Array(10 + this.idBytes.length);
    out[0] = INIT;
    writeU32(out, 1, index);
    writeU32(out, 5, this.instance);
    out[9] = this.idBytes.length;
    out.set(this.idBytes, 10);
    this.sink.send(to, out);
  }

  private sendResp(to: Endpoint, index: number, receiverIndex: number): void {
    const out = new Uint8Array(14 + this.idBytes.length);
    out[0] = RESP;
    writeU32(out, 1, index);
    writeU32(out, 5, receiverIndex);
    writeU32(out, 9, this.instance);
    out[13] = this.idBytes.length;
    out.set(this.idBytes, 14);
    this.sink.send(to, out);
  }
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function readId(b: Uint8Array, at: number): string | null {
  const len = b[at];
  if (len === undefined || len === 0 || at + 1 + len !== b.length) return null;
  return new TextDecoder().decode(b.subarray(at + 1));
}
