// SecureChannel: the Channel of src/core/channel.ts on top of the handshake in handshake.ts,
// the AEADs in aead.ts and the session rules in session.ts. Sans-IO: datagrams come in
// through receive(), go out through sink.send(); time comes in as `now` (ms, monotonic) and
// randomness from the injected Rng.
//
// Every datagram given to receive() ends in exactly one of: delivered (onMessage),
// handshake progress, or one sink.onDrop(reason). Duplicated handshake messages count as
// 'replay' (a duplicated message 1 or 3 is still answered from stored state).
//
// Data path: send() seals into one preallocated buffer and hands a view of it to
// sink.send(); receive() opens into one preallocated buffer and hands a view to onMessage().
// The views are reused while the length repeats, so a steady stream allocates no view per
// packet either; a view handed out is only valid during the call (as the Channel contract
// says). A datagram is opened whole (Aead.openPacket: the header is the associated data), so
// no view of its parts is made. Without the native addon, the AEAD makes such views and
// aes256 allocates inside node:crypto (see aead.ts).
import type { ChannelSink, Channel } from '../core/channel.js';
import { MsgKind, type DropReason, type Endpoint, type PeerId, type Rng } from '../core/types.js';
import {
  MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_TRANSPORT, PROTOCOL_VERSION,
  TRANSPORT_HEADER_BYTES, readCounter, readU32, writeTransportHeader,
} from '../wire/header.js';
import { DEFAULT_ALGORITHMS, type AlgorithmName } from './aead.js';
import {
  DEFAULT_TIMING, type ChannelTiming, type SecureChannelOptions, type SessionInfo,
} from './channel-options.js';
import {
  INSTANCE_ID_BYTES, MAX_ALGORITHMS, createConfirm, createInitiation, createResponse, isFail,
  negotiateAlgorithm, readConfirm, readInitiation, readResponse, type HandshakeIdentity,
} from './handshake.js';
import { encodeKey, parsePeerId } from './keys.js';
import { PSK_BYTES } from './password.js';
import { DEFAULT_RATE_LIMIT, HandshakeRateLimiter } from './ratelimit.js';
import {
  bytesEqual, createSession, destroySession, hex, isUsable, newSessionWins, rekeyDueAt,
  type IndexEntry, type Initiation, type NewSession, type PeerState, type ResponderEntry, type Session,
} from './session.js';

export { DEFAULT_TIMING, type ChannelTiming, type SecureChannelOptions, type SessionInfo };

const MAX_PENDING_RESPONDERS = 4096;
const EMPTY = new Uint8Array(0);

export class SecureChannel implements Channel {
  /** Handshakes that produced a session (first contacts, rekeys, re-handshakes). */
  handshakesCompleted = 0;
  readonly localId: PeerId;
  readonly algorithms: readonly AlgorithmName[];
  private readonly hsId: HandshakeIdentity;
  private readonly trusted: Set<PeerId> | null;
  private readonly rng: Rng;
  private readonly sink: ChannelSink;
  private readonly timing: ChannelTiming;
  private readonly limiter: HandshakeRateLimiter;
  private readonly onInternalError: (err: unknown) => void;

  private readonly peers = new Map<PeerId, PeerState>();
  private readonly byIndex = new Map<number, IndexEntry>();
  private readonly connects = new Map<Endpoint, Initiation>();
  private readonly responders = new Map<string, ResponderEntry>();
  /** Which peer a connect() endpoint turned out to be. */
  private readonly endpointPeer = new Map<Endpoint, PeerId>();
  private readonly selfEndpoints = new Set<Endpoint>();

  private readonly txBuf: Uint8Array;
  private readonly txHeader: Uint8Array;
  private readonly txBody: Uint8Array;
  private readonly rxBuf: Uint8Array;
  /** Last views handed to sink.send() / onMessage(), reused while the length repeats. */
  private txView: Uint8Array;
  private rxView: Uint8Array;
  private readonly maxPayloadBytes: number;

  private lastNow = -Infinity;
  private deadline = Infinity;
  private deadlineDirty = true;
  /** Whether the datagram being received has been counted (delivered or dropped). */
  private accounted = false;
  private dropFrom: Endpoint = '';

  constructor(opts: SecureChannelOptions) {
    const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
    if (algorithms.length === 0 || algorithms.length > MAX_ALGORITHMS || new Set(algorithms).size !== algorithms.length) {
      throw new Error(`algorithms: need 1..${MAX_ALGORITHMS} distinct entries, got [${algorithms.join(', ')}]`);
    }
    if (opts.psk && opts.psk.length !== PSK_BYTES) throw new Error(`psk must have ${PSK_BYTES} bytes`);
    // an empty list means "no key restriction" (then a psk is required, checked below)
    const trustedList = [...(opts.trustedPeers ?? [])].map((k, i) => parsePeerId(k, `trusted-keys[${i}]`));
    this.trusted = trustedList.length ? new Set(trustedList) : null;
    if (!opts.psk && !this.trusted) {
      throw new Error('crypto: configure a password or trusted keys (refusing to accept every peer)');
    }
    this.localId = opts.identity.id;
    this.algorithms = [...algorithms];
    this.rng = opts.rng;
    this.sink = opts.sink;
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.limiter = new HandshakeRateLimiter({ ...DEFAULT_RATE_LIMIT, ...opts.rateLimit });
    this.onInternalError = opts.onInternalError ?? (() => {});
    const instanceId = new Uint8Array(INSTANCE_ID_BYTES);
    this.rng.fill(instanceId);
    this.hsId = {
      keyPair: opts.identity,
      psk: opts.psk ? new Uint8Array(opts.psk) : new Uint8Array(PSK_BYTES),
      algorithms: this.algorithms,
      instanceId,
    };
    this.maxPayloadBytes = opts.maxPayloadBytes ?? 65535;
    this.txBuf = new Uint8Array(TRANSPORT_HEADER_BYTES + this.maxPayloadBytes + 16);
    this.txHeader = this.txBuf.subarray(0, TRANSPORT_HEADER_BYTES);
    this.txBody = this.txBuf.subarray(TRANSPORT_HEADER_BYTES);
    this.rxBuf = new Uint8Array(this.maxPayloadBytes);
    this.txView = this.txBuf.subarray(0, 0);
    this.rxView = this.rxBuf.subarray(0, 0);
  }

  // ---- Channel API -----------------------------------------------------------------------

  connect(now: number, endpoint: Endpoint): void {
    this.tick(now);
    if (this.selfEndpoints.has(endpoint) || this.connects.has(endpoint)) return;
    const known = this.endpointPeer.get(endpoint);
    if (known !== undefined && this.isEstablished(known)) return;
    for (const p of this.peers.values()) if (p.endpoint === endpoint && this.isEstablished(p.id)) return;
    const init = this.newInitiation(now, endpoint, null);
    this.connects.set(endpoint, init);
    this.sendInitiation(now, init);
  }

  cancelConnect(endpoint: Endpoint): void {
    const init = this.connects.get(endpoint);
    if (!init) return;
    this.endInitiation(init);
  }

  send(now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean {
    this.tick(now);
    const p = this.peers.get(peer);
    const s = p?.current;
    if (!p || !s || !isUsable(now, s, this.timing) || payload.length > this.maxPayloadBytes) return false;
    this.sendOn(s, kind, payload);
    if (s.sendCounter >= this.timing.rekeyAfterMessages) this.startRekey(now, p);
    return true;
  }

  receive(now: number, from: Endpoint, datagram: Uint8Array): void {
    this.accounted = false;
    this.dropFrom = from;
    try {
      this.tick(now);
      this.receiveDatagram(now, from, datagram);
      if (!this.accounted) this.drop('malformed'); // cannot happen; keeps the accounting exact
    } catch (err) {
      if (!this.accounted) {
        this.accounted = true;
        try { this.sink.onDrop('malformed', from); } catch { /* nothing more we can do */ }
      }
      this.onInternalError(err);
    }
  }

  timeout(now: number): void {
    this.tick(now);
    const t = this.timing;
    for (const init of [...this.connects.values()]) {
      if (now >= init.nextSendAt) this.retransmitInitiation(now, init);
    }
    for (const r of this.responders.values()) if (now >= r.expiresAt) this.forgetResponder(r);
    for (const p of [...this.peers.values()]) {
      for (const s of [p.current, p.pending, p.previous]) {
        if (s && now - s.establishedAt >= t.rejectAfterMs) this.discard(s);
      }
      if (p.pending && !p.pending.confirmed && now - p.pending.establishedAt >= t.confirmTimeoutMs) {
        this.discard(p.pending); // the peer never took it up; let a new rekey start
      }
      if (!p.current && p.pending) { p.current = p.pending; p.pending = null; }
      const prev = p.previous;
      if (prev && p.current?.confirmed && now >= p.current.confirmedAt + t.previousGraceMs) this.discard(prev);
      for (const s of [p.current, p.pending]) {
        if (s && s.confirmMessage && !s.confirmed && now >= s.confirmRetryAt) {
          this.sink.send(p.endpoint, s.confirmMessage);
          s.confirmBackoffMs = Math.min(s.confirmBackoffMs * 2, t.handshakeRetryMaxMs);
          s.confirmRetryAt = now + this.jitter(s.confirmBackoffMs);
          this.deadlineDirty = true;
        }
      }
      if (p.rekey) {
        if (now >= p.rekey.nextSendAt) this.retransmitInitiation(now, p.rekey);
      } else if (p.current && !p.pending && now >= rekeyDueAt(p.current, this.timing)) {
        this.startRekey(now, p);
      }
      if (!p.current && !p.pending && !p.previous) this.removePeer(p);
    }
    this.deadlineDirty = true;
  }

  nextDeadline(): number {
    if (this.deadlineDirty) {
      this.deadline = this.computeDeadline();
      this.deadlineDirty = false;
    }
    return this.deadline;
  }

  forget(peer: PeerId): void {
    const p = this.peers.get(peer);
    if (p) this.removePeer(p);
  }

  isEstablished(peer: PeerId): boolean {
    const s = this.peers.get(peer)?.current;
    return !!s && isUsable(this.lastNow, s, this.timing);
  }

  // ---- extras for status and tests ---------------------------------------------------------

  /** The current session with `peer`, for status output. */
  sessionInfo(peer: PeerId): SessionInfo | undefined {
    const p = this.peers.get(peer);
    const s = p?.current;
    if (!p || !s) return undefined;
    return {
      endpoint: p.endpoint, algorithm: s.algorithm, establishedAt: s.establishedAt,
      initiatedByUs: s.initiatedByUs, confirmed: s.confirmed, sentPackets: s.sendCounter,
    };
  }

  /** Indices (ours, theirs) of the session send() uses for `peer`; tests compare both ends. */
  sendSessionIndices(peer: PeerId): { local: number; remote: number } | undefined {
    const s = this.peers.get(peer)?.current;
    return s ? { local: s.localIndex, remote: s.remoteIndex } : undefined;
  }

  // ---- receive ---------------------------------------------------------------------------

  private receiveDatagram(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 2 || d[1] !== PROTOCOL_VERSION) return this.drop('malformed');
    switch (d[0]) {
      case MSG_TRANSPORT: return this.receiveTransport(now, from, d);
      case MSG_HANDSHAKE_INIT:
      case MSG_HANDSHAKE_RESPONSE:
      case MSG_HANDSHAKE_CONFIRM:
        if (!this.limiter.allow(now, from)) return this.drop('rate-limited');
        if (d[0] === MSG_HANDSHAKE_INIT) return this.receiveInitiation(now, from, d);
        if (d[0] === MSG_HANDSHAKE_RESPONSE) return this.receiveResponse(now, from, d);
        return this.receiveConfirm(now, from, d);
      default:
        return this.drop('malformed');
    }
  }

  private receiveTransport(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < TRANSPORT_HEADER_BYTES || d[3] !== 0 || d[2]! > MsgKind.Control) return this.drop('malformed');
    const s = this.byIndex.get(readU32(d, 4));
    if (!s || s.kind !== 'session' || s.dead) return this.drop('unknown-session');
    if (now - s.establishedAt >= this.timing.rejectAfterMs) return this.drop('unknown-session');
    const body = d.length - TRANSPORT_HEADER_BYTES;
    if (body < s.recvAead.tagBytes || body - s.recvAead.tagBytes > this.rxBuf.length) return this.drop('malformed');
    const counter = readCounter(d, 8);
    if (counter < 0) return this.drop('malformed');
    if (!s.replay.check(counter)) return this.drop('replay');
    const n = s.recvAead.openPacket(counter, d, TRANSPORT_HEADER_BYTES, this.rxBuf);
    if (n < 0) return this.drop('auth');
    s.replay.accept(counter);
    this.accounted = true;
    this.authenticated(now, s, from);
    if (this.rxView.length !== n) this.rxView = this.rxBuf.subarray(0, n);
    this.sink.onMessage(now, s.peer.id, s.peer.endpoint, d[2]! as MsgKind, this.rxView);
  }

  /** A packet authenticated on `s`: roaming, confirmation, promotion of a pending session. */
  private authenticated(now: number, s: Session, from: Endpoint): void {
    const p = s.peer;
    if (p.endpoint !== from && (s === p.current || s === p.pending)) p.endpoint = from;
    if (s.confirmed) return;
    s.confirmed = true;
    s.confirmedAt = now;
    s.confirmMessage = null;
    this.deadlineDirty = true;
    if (s === p.pending) {
      p.pending = null;
      this.rotate(p, s);
    }
    if (s.announce && s === p.current) this.sink.onEstablished(now, p.id, p.endpoint);
    s.announce = false;
  }

  private receiveInitiation(now: number, from: Endpoint, d: Uint8Array): void {
    const dedupeKey = d.length >= 40 ? hex(d.subarray(8, 40)) : '';
    const dup = this.responders.get(dedupeKey);
    if (dup && bytesEqual(dup.init, d)) {
      this.drop('replay');
      if (!dup.completed) this.sink.send(from, dup.st.message);
      return;
    }
    const r = readInitiation(this.hsId, d);
    if (isFail(r)) return this.drop(r.reason);
    const algorithm = negotiateAlgorithm(r.initiatorAlgorithms, this.algorithms);
    if (!algorithm) return this.drop('handshake-state');
    if (this.responders.size >= MAX_PENDING_RESPONDERS) return this.drop('rate-limited');
    const st = createResponse(this.hsId, r, this.newIndex(), this.randomSeed(), algorithm);
    if (!st) return this.drop('auth');
    const entry: ResponderEntry = {
      kind: 'responder', st, from, expiresAt: now + this.timing.responderStateTtlMs, init: d.slice(), dedupeKey,
      completed: false,
    };
    if (dup) this.forgetResponder(dup);
    this.byIndex.set(st.senderIndex, entry);
    this.responders.set(dedupeKey, entry);
    this.deadlineDirty = true;
    this.accounted = true;
    this.sink.send(from, st.message);
  }

  private receiveResponse(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 12) return this.drop('malformed');
    const entry = this.byIndex.get(readU32(d, 8));
    if (!entry) return this.drop('unknown-session');
    if (entry.kind === 'session') return this.drop(bytesEqual(entry.finalMessage, d) ? 'replay' : 'handshake-state');
    if (entry.kind !== 'initiation') return this.drop('handshake-state');
    const init = entry;
    const r = readResponse(init.hs, d);
    if (isFail(r)) return this.drop(r.reason);
    const peerId = encodeKey(r.remoteStatic);
    if (peerId === this.localId) {
      this.drop('self');
      this.selfEndpoints.add(init.endpoint);
      this.endInitiation(init);
      this.sink.onSelf(init.endpoint);
      return;
    }
    if (!this.isTrusted(peerId)) return this.drop('untrusted');
    if (negotiateAlgorithm(this.algorithms, r.remoteAlgorithms) !== r.algorithm) return this.drop('handshake-state');
    const instance = hex(r.remoteInstance);
    const existing = this.peers.get(peerId);
    if (existing && !newSessionWins(now, existing, this.localId, instance, this.timing)) {
      // the other side's concurrent handshake wins; we are connected through it
      this.endInitiation(init);
      if (init.forPeer === null) this.endpointPeer.set(init.endpoint, peerId);
      return this.drop('handshake-state');
    }
    const c = createConfirm(this.hsId, r);
    if (!c) return this.drop('auth');
    this.endInitiation(init);
    if (init.forPeer === null) this.endpointPeer.set(init.endpoint, peerId);
    const p = existing ?? this.newPeer(peerId, from, instance);
    const s = this.newSession(now, {
      peer: p, localIndex: init.hs.senderIndex, remoteIndex: r.remoteIndex, algorithm: r.algorithm, keys: c.keys,
      initiatorId: this.localId, remoteInstance: instance, finalMessage: d,
    });
    s.confirmMessage = c.message;
    s.confirmBackoffMs = this.timing.handshakeRetryInitialMs;
    s.confirmRetryAt = now + this.jitter(s.confirmBackoffMs);
    this.accounted = true;
    this.sink.send(from, c.message);
    this.install(now, p, s, from);
  }

  private receiveConfirm(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 8) return this.drop('malformed');
    const entry = this.byIndex.get(readU32(d, 4));
    if (!entry) return this.drop('unknown-session');
    if (entry.kind === 'session') {
      if (!bytesEqual(entry.finalMessage, d)) return this.drop('handshake-state');
      this.drop('replay');
      // the initiator has not seen our confirmation keepalive yet
      if (entry === entry.peer.current && !entry.initiatedByUs) this.sendOn(entry, MsgKind.Keepalive, EMPTY);
      return;
    }
    if (entry.kind !== 'responder') return this.drop('handshake-state');
    const resp = entry;
    const r = readConfirm(resp.st, d);
    if (isFail(r)) return this.drop(r.reason);
    const peerId = encodeKey(r.remoteStatic);
    resp.completed = true;
    this.byIndex.delete(resp.st.senderIndex);
    this.deadlineDirty = true;
    if (peerId === this.localId) return this.drop('self');
    if (!this.isTrusted(peerId)) return this.drop('untrusted');
    const instance = hex(r.remoteInstance);
    const existing = this.peers.get(peerId);
    if (existing && !newSessionWins(now, existing, peerId, instance, this.timing)) return this.drop('handshake-state');
    const p = existing ?? this.newPeer(peerId, from, instance);
    const s = this.newSession(now, {
      peer: p, localIndex: resp.st.senderIndex, remoteIndex: resp.st.initiatorIndex, algorithm: resp.st.algorithm,
      keys: r.keys, initiatorId: peerId, remoteInstance: instance, finalMessage: d,
    });
    this.accounted = true;
    this.install(now, p, s, from);
    if (p.current === s) this.sendOn(s, MsgKind.Keepalive, EMPTY); // confirms s on the initiator
  }

  // ---- session bookkeeping ---------------------------------------------------------------

  /** Put a new winning session in place and tell the mesh if that is news. */
  private install(now: number, p: PeerState, s: Session, from: Endpoint): void {
    const restarted = p.instance !== s.remoteInstance;
    const hadUsable = !!p.current && isUsable(now, p.current, this.timing);
    const moved = p.endpoint !== from;
    p.endpoint = from;
    if (restarted) {
      for (const old of [p.current, p.pending, p.previous]) if (old) this.discard(old);
      p.instance = s.remoteInstance;
    }
    if (p.rekey) this.endInitiation(p.rekey); // any completed handshake ends a rekey in flight
    if (s.initiatedByUs && p.current && p.current.confirmed && isUsable(now, p.current, this.timing)) {
      if (p.pending) this.discard(p.pending);
      p.pending = s;
    } else {
      if (p.pending) this.discard(p.pending);
      this.rotate(p, s);
    }
    this.deadlineDirty = true;
    if (p.current === s && (restarted || !hadUsable || moved)) {
      if (isUsable(now, s, this.timing)) this.sink.onEstablished(now, p.id, p.endpoint);
      else s.announce = true; // on confirmation, see authenticated()
    }
  }

  private rotate(p: PeerState, s: Session): void {
    const old = p.current;
    if (old && old !== s) {
      if (p.previous) this.discard(p.previous);
      p.previous = old;
      old.confirmMessage = null; // receive-only from now on: stop retransmitting its message 3
    }
    p.current = s;
    this.deadlineDirty = true;
  }

  private newSession(now: number, n: Omit<NewSession, 'initiatedByUs'>): Session {
    this.handshakesCompleted++;
    const s = createSession(now, { ...n, initiatedByUs: n.initiatorId === this.localId });
    this.byIndex.set(s.localIndex, s);
    return s;
  }

  private discard(s: Session): void {
    const p = s.peer;
    if (p.current === s) p.current = null;
    if (p.pending === s) p.pending = null;
    if (p.previous === s) p.previous = null;
    if (this.byIndex.get(s.localIndex) === s) this.byIndex.delete(s.localIndex);
    destroySession(s);
    this.deadlineDirty = true;
  }

  private newPeer(id: PeerId, endpoint: Endpoint, instance: string): PeerState {
    // a fresh peer starts with an instance no session has, so install() treats it as new
    const p: PeerState = { id, endpoint, instance: `new:${instance}`, current: null, pending: null, previous: null, rekey: null };
    this.peers.set(id, p);
    return p;
  }

  private removePeer(p: PeerState): void {
    for (const s of [p.current, p.pending, p.previous]) if (s) this.discard(s);
    if (p.rekey) this.endInitiation(p.rekey);
    this.peers.delete(p.id);
    this.deadlineDirty = true;
  }

  private sendOn(s: Session, kind: MsgKind, payload: Uint8Array): void {
    const counter = s.sendCounter++;
    writeTransportHeader(this.txBuf, kind, s.remoteIndex, counter);
    const n = s.sendAead.seal(counter, this.txHeader, payload, this.txBody);
    const len = TRANSPORT_HEADER_BYTES + n;
    if (this.txView.length !== len) this.txView = this.txBuf.subarray(0, len);
    this.sink.send(s.peer.endpoint, this.txView);
  }

  // ---- initiations -----------------------------------------------------------------------

  private newInitiation(now: number, endpoint: Endpoint, forPeer: PeerId | null): Initiation {
    const init: Initiation = {
      kind: 'initiation', endpoint, forPeer, hs: createInitiation(this.hsId, this.newIndex(), this.randomSeed()),
      hsCreatedAt: now, nextSendAt: now, backoffMs: this.timing.handshakeRetryInitialMs,
    };
    this.byIndex.set(init.hs.senderIndex, init);
    this.deadlineDirty = true;
    return init;
  }

  private startRekey(now: number, p: PeerState): void {
    if (p.rekey || p.pending) return;
    p.rekey = this.newInitiation(now, p.endpoint, p.id);
    this.sendInitiation(now, p.rekey);
  }

  private sendInitiation(now: number, init: Initiation): void {
    this.sink.send(init.endpoint, init.hs.message);
    init.nextSendAt = now + this.jitter(init.backoffMs);
    init.backoffMs = Math.min(init.backoffMs * 2, this.timing.handshakeRetryMaxMs);
    this.deadlineDirty = true;
  }

  private retransmitInitiation(now: number, init: Initiation): void {
    if (init.forPeer !== null) {
      const p = this.peers.get(init.forPeer);
      if (!p || !p.current) return this.endInitiation(init);
      init.endpoint = p.endpoint; // follow a roaming peer
    }
    if (now - init.hsCreatedAt >= this.timing.initiationRenewMs) {
      // fresh ephemeral key and index; a late answer to the old message 1 is dropped
      if (this.byIndex.get(init.hs.senderIndex) === init) this.byIndex.delete(init.hs.senderIndex);
      init.hs = createInitiation(this.hsId, this.newIndex(), this.randomSeed());
      init.hsCreatedAt = now;
      this.byIndex.set(init.hs.senderIndex, init);
    }
    this.sendInitiation(now, init);
  }

  /** Forget an initiation (completed, cancelled or superseded). */
  private endInitiation(init: Initiation): void {
    if (this.byIndex.get(init.hs.senderIndex) === init) this.byIndex.delete(init.hs.senderIndex);
    if (this.connects.get(init.endpoint) === init) this.connects.delete(init.endpoint);
    if (init.forPeer !== null) {
      const p = this.peers.get(init.forPeer);
      if (p && p.rekey === init) p.rekey = null;
    }
    this.deadlineDirty = true;
  }

  private forgetResponder(r: ResponderEntry): void {
    if (this.responders.get(r.dedupeKey) === r) this.responders.delete(r.dedupeKey);
    if (this.byIndex.get(r.st.senderIndex) === r) this.byIndex.delete(r.st.senderIndex);
    this.deadlineDirty = true;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private computeDeadline(): number {
    let d = Infinity;
    for (const init of this.connects.values()) d = Math.min(d, init.nextSendAt);
    for (const r of this.responders.values()) d = Math.min(d, r.expiresAt);
    for (const p of this.peers.values()) {
      if (p.rekey) d = Math.min(d, p.rekey.nextSendAt);
      for (const s of [p.current, p.pending, p.previous]) {
        if (!s) continue;
        d = Math.min(d, s.establishedAt + this.timing.rejectAfterMs);
        if (s !== p.previous && s.confirmMessage && !s.confirmed) d = Math.min(d, s.confirmRetryAt);
      }
      if (p.previous && p.current?.confirmed) d = Math.min(d, p.current.confirmedAt + this.timing.previousGraceMs);
      if (p.pending && !p.pending.confirmed) d = Math.min(d, p.pending.establishedAt + this.timing.confirmTimeoutMs);
      if (p.current && !p.pending && !p.rekey) d = Math.min(d, rekeyDueAt(p.current, this.timing));
    }
    return d;
  }

  accepts(peer: PeerId): boolean {
    return this.isTrusted(peer);
  }

  private isTrusted(id: PeerId): boolean {
    return this.trusted === null || this.trusted.has(id);
  }

  private drop(reason: DropReason): void {
    this.accounted = true;
    this.sink.onDrop(reason, this.dropFrom);
  }

  private tick(now: number): void {
    if (now > this.lastNow) this.lastNow = now;
  }

  private newIndex(): number {
    const b = new Uint8Array(4);
    for (;;) {
      this.rng.fill(b);
      // 31 bits: a small integer for V8, so looking up a received index boxes no number
      const i = readU32(b, 0) & 0x7fff_ffff;
      if (!this.byIndex.has(i)) return i;
    }
  }

  private randomSeed(): Uint8Array {
    const seed = new Uint8Array(32);
    this.rng.fill(seed);
    return seed;
  }

  /** `ms` scaled by a random factor in [0.75, 1.25) so retries of many nodes spread out. */
  private jitter(ms: number): number {
    return ms * (0.75 + 0.5 * this.rng.next());
  }
}
