// SecureChannel: the Channel of src/core/channel.ts on top of the handshake in handshake.ts,
// the flood defence in macs.ts / ratelimit.ts / initiation-cache.ts, the AEADs in aead.ts
// and the session rules in session.ts. Sans-IO: datagrams come in through receive(), go out
// through sink.send(); time comes in as `now` (ms, monotonic), wall-clock time from the
// injected wallClock, randomness from the injected Rng.
//
// Every datagram given to receive() ends in exactly one of: delivered (onMessage),
// handshake progress, or one sink.onDrop(reason). Duplicated handshake messages count as
// 'replay' (a retransmitted message 1 is answered again from stored state only when it comes
// from the source of the original, a duplicated message 3 by a keepalive).
//
// Message 1 is checked cheapest first, and nothing before the rate limiter costs asymmetric
// crypto or drains a budget:
//   length/type/version ('malformed') -> our own ephemeral key coming back ('reflected', or
//   'self' when it came from the very endpoint we sent it to) -> mac1 ('mac') -> an ephemeral
//   key already answered ('replay') -> busy and no valid mac2 (cookie reply, 'cookie') ->
//   decrypt ('auth') -> timestamp ('stale') -> algorithms ('handshake-state') -> rate limit
//   ('rate-limited') -> message 2.
//
// Endpoints: a responder's session endpoint is the source of message 1 (where message 2 went,
// which the initiator had to receive to write message 3); an initiator's is where it sent
// message 1. The source of message 2 or 3 is never used, so a member that spoofs one cannot
// move another peer's endpoint. Afterwards an endpoint moves only through authenticated
// transport packets from a direct endpoint (roaming), or when the mesh picks a path (setPath).
//
// Paths (src/core/path.ts): an "endpoint" may be a relay path "relay:<via>/<peer>", whose
// datagrams the engine carries through the relay. A relay stamps the origin it got a datagram
// from; one that names another peer than the session's (or the handshake's authenticated key)
// is dropped ('relay-denied'), so a relay cannot pin a session to a path to someone else.
//
// Data path: send() seals into one preallocated buffer and hands a view of it to
// sink.send(); receive() opens into one preallocated buffer and hands a view to onMessage().
// The views are reused while the length repeats, so a steady stream allocates no view per
// packet either; a view handed out is only valid during the call (as the Channel contract
// says). A datagram is opened whole (Aead.openPacket: the header is the associated data), so
// no view of its parts is made. Without the native addon, the AEAD makes such views and
// aes256 allocates inside node:crypto (see aead.ts).
import type { ChannelSink, Channel } from '../core/channel.js';
import { isRelayKey, relayKeyNames } from '../core/path.js';
import { DeadlineChanges, Timer, TimerHeap, withTimer } from '../core/timer-heap.js';
import { MAX_MSG_KIND, MsgKind, type DropReason, type Endpoint, type PeerId, type Rng } from '../core/types.js';
import {
  MSG_COOKIE_REPLY, MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_TRANSPORT, PROTOCOL_VERSION,
  TRANSPORT_HEADER_BYTES, readCounter, readU32, writeTransportHeader,
} from '../wire/header.js';
import { DEFAULT_ALGORITHMS, type AlgorithmName } from './aead.js';
import { BoundedMap } from './bounded-map.js';
import {
  DEFAULT_TIMING, type ChannelTiming, type SecureChannelOptions, type SessionInfo,
} from './channel-options.js';
import {
  INIT_BYTES, INSTANCE_ID_BYTES, MAX_ALGORITHMS, createConfirm, createInitiation, createResponse, initiationEphemeral,
  isFail, negotiateAlgorithm, readConfirm, readInitiation, readResponse, type HandshakeIdentity,
} from './handshake.js';
import { InitiationReplayCache, capacityFor, ephemeralKey } from './initiation-cache.js';
import { encodeKey, isCanonicalPublicKey, parsePeerId, peerIdToPublicKey } from './keys.js';
import { COOKIE_USE_MS, CookieMaker, mac1Key, mac1Valid, openCookieReply, sealInitiation } from './macs.js';
import { PSK_BYTES } from './password.js';
import { DEFAULT_RATE_LIMIT, HandshakeRateLimiter, sourceKey } from './ratelimit.js';
import { ResponderTable } from './responders.js';
import {
  bytesEqual, createSession, destroySession, hex, isUsable, newSessionWins, rekeyDueAt,
  type IndexEntry, type Initiation, type NewSession, type PeerState, type ResponderEntry, type Session,
} from './session.js';

export { DEFAULT_TIMING, type ChannelTiming, type SecureChannelOptions, type SessionInfo };

/** Endpoints we dial at once (connect() beyond this is ignored until some finish). */
export const MAX_CONNECTS = 1024;
/** Key mode, responder unknown: message 1 copies (one mac1 per trusted key) per attempt. */
export const MAX_MAC1_COPIES = 16;
/** Remembered per endpoint: which peer and which key answered there, and cookies. */
export const MAX_ENDPOINT_MEMORY = 1024;
/** Endpoints found to be ourselves, and for how long we believe it. */
export const MAX_SELF_ENDPOINTS = 64;
export const SELF_ENDPOINT_TTL_MS = 10 * 60_000;
/** Bounds the replay cache however generous the rate limits are (tests use huge ones). */
const MAX_ACCEPTED_INITIATIONS_PER_SEC = 5_000;
/** A retransmitted message 1 is answered from stored state at most this often, this many times. */
const RESEND_MIN_GAP_MS = 100;
const MAX_RESENDS = 4;
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
  private readonly wallClock: (() => number) | null;
  private readonly passwordMode: boolean;
  /** K of mac1 and cookie replies addressed to us: the psk, or our public key in key mode. */
  private readonly ownMacMaterial: Uint8Array;
  private readonly ownMac1Key: Uint8Array;
  /** Key mode: the trusted keys other than ours, to key mac1 when the responder is unknown. */
  private readonly otherKeys: Uint8Array[];
  private readonly cookieMaker: CookieMaker;
  private readonly replayCache: InitiationReplayCache;

  private readonly peers = new Map<PeerId, PeerState>();
  private readonly byIndex = new Map<number, IndexEntry>();
  private readonly connects = new Map<Endpoint, Initiation>();
  private readonly responders = new ResponderTable();
  /** Our outstanding message 1 ephemeral keys (hex), to recognise them coming back. */
  private readonly ownEphemerals = new Map<string, Initiation>();
  /** Which peer a connect() endpoint turned out to be. */
  private readonly endpointPeer = new BoundedMap<Endpoint, PeerId>(MAX_ENDPOINT_MEMORY);
  /** Key mode: the public key that answered at an endpoint (keys mac1 of later dials there). */
  private readonly endpointKey = new BoundedMap<Endpoint, Uint8Array>(MAX_ENDPOINT_MEMORY);
  /** Cookies responders gave us, per their endpoint. */
  private readonly cookies = new BoundedMap<Endpoint, { cookie: Uint8Array; until: number }>(MAX_ENDPOINT_MEMORY);
  /** Endpoints that were ourselves, until when. */
  private readonly selfEndpoints = new BoundedMap<Endpoint, number>(MAX_SELF_ENDPOINTS);

  private readonly txBuf: Uint8Array;
  private readonly txHeader: Uint8Array;
  private readonly txBody: Uint8Array;
  private readonly rxBuf: Uint8Array;
  /** Last views handed to sink.send() / onMessage(), reused while the length repeats. */
  private txView: Uint8Array;
  private rxView: Uint8Array;
  private readonly maxPayloadBytes: number;

  /**
   * Peers (their sessions and rekey) and dials, by when each next has something due; the
   * responders expire in insertion order (constant TTL). A wake-up touches only what is due,
   * and the next deadline is kept until one of them changes (it is read after every batch).
   */
  private readonly changes = new DeadlineChanges();
  private readonly timers = new TimerHeap<PeerState | Initiation>(this.changes);
  private cachedDeadline = Infinity;
  private cachedChanges = -1;
  private lastNow = -Infinity;
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
    const rateLimit = { ...DEFAULT_RATE_LIMIT, ...opts.rateLimit };
    this.limiter = new HandshakeRateLimiter(rateLimit);
    // room for every message 1 the limits let through (at most 2 x global + reserve a second)
    this.replayCache = new InitiationReplayCache(
      capacityFor(Math.min(2 * rateLimit.globalPerSec + rateLimit.establishedPerSec, MAX_ACCEPTED_INITIATIONS_PER_SEC)));
    this.onInternalError = opts.onInternalError ?? (() => {});
    this.wallClock = opts.wallClock ?? null;
    this.passwordMode = !!opts.psk;
    this.ownMacMaterial = opts.psk ? new Uint8Array(opts.psk) : opts.identity.publicKey;
    this.ownMac1Key = mac1Key(this.ownMacMaterial);
    this.otherKeys = trustedList.filter((k) => k !== opts.identity.id).map(peerIdToPublicKey);
    this.cookieMaker = new CookieMaker(this.rng);
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

  connect(now: number, endpoint: Endpoint, peer?: PeerId): void {
    this.tick(now);
    if (this.isSelf(now, endpoint) || this.connects.has(endpoint) || this.connects.size >= MAX_CONNECTS) return;
    const known = this.endpointPeer.get(endpoint);
    if (known !== undefined && this.isEstablished(known)) return;
    if (peer !== undefined && this.isEstablished(peer)) return;
    for (const p of this.peers.values()) if (p.endpoint === endpoint && this.isEstablished(p.id)) return;
    const expected = peer !== undefined && peer !== this.localId && this.isTrusted(peer) ? peer : null;
    const init = this.newInitiation(now, endpoint, null, expected);
    this.connects.set(endpoint, init);
    this.sendInitiation(now, init);
  }

  renew(now: number, endpoint: Endpoint, peer: PeerId): void {
    this.tick(now);
    const p = this.peers.get(peer);
    if (p !== undefined && this.isEstablished(peer)) this.startRekey(now, p);
    else this.connect(now, endpoint, peer);
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

  sendVia(now: number, peer: PeerId, path: Endpoint, kind: MsgKind, payload: Uint8Array): boolean {
    this.tick(now);
    const p = this.peers.get(peer);
    const s = p?.current;
    if (!p || !s || !isUsable(now, s, this.timing) || payload.length > this.maxPayloadBytes) return false;
    if (isRelayKey(path) && !relayKeyNames(path, peer)) return false;
    this.sendOn(s, kind, payload, path);
    if (s.sendCounter >= this.timing.rekeyAfterMessages) this.startRekey(now, p);
    return true;
  }

  setPath(peer: PeerId, path: Endpoint): void {
    const p = this.peers.get(peer);
    if (!p || p.endpoint === path || (isRelayKey(path) && !relayKeyNames(path, peer))) return;
    p.endpoint = path;
    if (p.rekey) p.rekey.endpoint = path; // a handshake in flight follows too
  }

  peerKey(peer: PeerId): Uint8Array | null {
    try {
      return peerIdToPublicKey(peer);
    } catch {
      return null;
    }
  }

  peerFromKey(key: Uint8Array): PeerId | null {
    return key.length === 32 && isCanonicalPublicKey(key) ? encodeKey(key) : null;
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
    for (let r = this.responders.oldest(); r && now >= r.expiresAt; r = this.responders.oldest()) this.forgetResponder(r);
    for (const x of this.timers.popDue(now)) {
      if (x.kind === 'peer') {
        if (this.peers.get(x.id) === x) this.timers.schedule(x.timer, this.peerTimers(x, now));
      } else if (this.connects.get(x.endpoint) === x) {
        if (now >= x.nextSendAt) this.retransmitInitiation(now, x);
        if (this.connects.get(x.endpoint) === x) this.timers.schedule(x.timer, x.nextSendAt);
      }
    }
  }

  nextDeadline(): number {
    if (this.cachedChanges !== this.changes.n) {
      this.cachedDeadline = Math.min(this.timers.next(), this.responders.oldest()?.expiresAt ?? Infinity);
      this.cachedChanges = this.changes.n;
    }
    return this.cachedDeadline;
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

  /** Entries in the tables strangers can make us fill (all bounded; tests check the bounds). */
  tableSizes(): Record<string, number> {
    return {
      connects: this.connects.size, responders: this.responders.size, ownEphemerals: this.ownEphemerals.size,
      endpointPeer: this.endpointPeer.size, endpointKey: this.endpointKey.size, cookies: this.cookies.size,
      selfEndpoints: this.selfEndpoints.size, replayCache: this.replayCache.size,
      rateLimitSources: this.limiter.trackedSources, byIndex: this.byIndex.size,
    };
  }

  /** Indices (ours, theirs) of the session send() uses for `peer`; tests compare both ends. */
  sendSessionIndices(peer: PeerId): { local: number; remote: number } | undefined {
    const s = this.peers.get(peer)?.current;
    return s ? { local: s.localIndex, remote: s.remoteIndex } : undefined;
  }

  // ---- receive ---------------------------------------------------------------------------

  private receiveDatagram(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 4 || d[1] !== PROTOCOL_VERSION) return this.drop('malformed');
    switch (d[0]) {
      case MSG_TRANSPORT: return this.receiveTransport(now, from, d);
      case MSG_HANDSHAKE_INIT: return this.receiveInitiation(now, from, d);
      case MSG_HANDSHAKE_RESPONSE: return this.receiveResponse(now, from, d);
      case MSG_HANDSHAKE_CONFIRM: return this.receiveConfirm(now, from, d);
      case MSG_COOKIE_REPLY: return this.receiveCookieReply(now, from, d);
      default:
        return this.drop('malformed');
    }
  }

  private receiveTransport(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < TRANSPORT_HEADER_BYTES || d[3] !== 0 || d[2]! > MAX_MSG_KIND) return this.drop('malformed');
    const s = this.byIndex.get(readU32(d, 4));
    if (!s || s.kind !== 'session' || s.dead) return this.drop('unknown-session');
    if (isRelayKey(from) && !relayKeyNames(from, s.peer.id)) return this.drop('relay-denied');
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
    this.authenticated(now, s, from, d[2]!);
    if (this.rxView.length !== n) this.rxView = this.rxBuf.subarray(0, n);
    this.sink.onMessage(now, s.peer.id, s.peer.endpoint, d[2]! as MsgKind, this.rxView, from);
  }

  /** A packet authenticated on `s`: roaming, confirmation, promotion of a pending session. */
  private authenticated(now: number, s: Session, from: Endpoint, kind: number): void {
    const p = s.peer;
    // Roaming onto a direct path, on what a peer sends on its own active path only (data,
    // keepalives, relay frames). Control messages may come on purpose on another path (probes
    // of candidate paths and their answers): roaming on them made dual-stack peers flip
    // between their IPv4 and IPv6 paths on every probe. The mesh decides on those (setPath),
    // as it does for relay paths.
    if (p.endpoint !== from && kind !== MsgKind.Control && (s === p.current || s === p.pending) && !isRelayKey(from)) {
      p.endpoint = from;
    }
    if (s.confirmed) return;
    s.confirmed = true;
    s.confirmedAt = now;
    s.confirmMessage = null;
    this.wake(p); // the previous session's grace period starts
    if (s === p.pending) {
      p.pending = null;
      this.rotate(p, s);
    }
    if (s.announce && s === p.current) this.sink.onEstablished(now, p.id, p.endpoint);
    s.announce = false;
  }

  private receiveInitiation(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length !== INIT_BYTES || d[2] !== 0 || d[3] !== 0) return this.drop('malformed');
    const e = initiationEphemeral(d);
    const ephemeral = hex(e);
    const cacheKey = ephemeralKey(e);
    const own = this.ownEphemerals.get(ephemeral);
    if (own) {
      // our own message 1: only a packet from where we sent it proves that endpoint is us
      if (from !== own.endpoint) return this.drop('reflected');
      this.drop('self');
      this.selfEndpoints.set(own.endpoint, now + SELF_ENDPOINT_TTL_MS);
      this.endInitiation(own);
      this.sink.onSelf(own.endpoint);
      return;
    }
    if (!mac1Valid(d, this.ownMac1Key)) return this.drop('mac');
    const dup = this.responders.get(ephemeral);
    if (dup || this.replayCache.has(cacheKey)) {
      this.drop('replay');
      // the initiator may have lost message 2; answer it again, but only where it went before
      if (dup && !dup.completed && from === dup.from && dup.resends < MAX_RESENDS && now - dup.lastSentAt >= RESEND_MIN_GAP_MS) {
        dup.resends++;
        dup.lastSentAt = now;
        this.sink.send(from, dup.st.message);
      }
      return;
    }
    if (this.limiter.busy(now) && !this.cookieMaker.mac2Valid(now, from, d)) {
      if (!this.limiter.allowCookie(now, from)) return this.drop('rate-limited');
      this.drop('cookie');
      this.sink.send(from, this.cookieMaker.reply(now, from, d, this.ownMacMaterial));
      return;
    }
    const r = readInitiation(this.hsId, d);
    if (isFail(r)) return this.drop(r.reason);
    const fresh = this.replayCache.check(this.wall(now), r.timestampMs, cacheKey);
    if (fresh !== 'fresh') return this.drop(fresh);
    const algorithm = negotiateAlgorithm(r.initiatorAlgorithms, this.algorithms);
    if (!algorithm) return this.drop('handshake-state');
    if (!this.limiter.allow(now, from, this.isPeerEndpoint(now, from))) return this.drop('rate-limited');
    const st = createResponse(this.hsId, r, this.newIndex(), this.randomKey(), algorithm);
    if (!st) return this.drop('auth');
    this.replayCache.remember(this.wall(now), r.timestampMs, cacheKey);
    const entry: ResponderEntry = {
      // from lastNow, not now: the table expires oldest first and relies on this never decreasing
      kind: 'responder', st, from, source: sourceKey(from), expiresAt: this.lastNow + this.timing.responderStateTtlMs,
      ephemeral, lastSentAt: now, resends: 0, completed: false,
    };
    const victim = this.responders.victimFor(entry.source);
    if (victim) this.forgetResponder(victim);
    this.byIndex.set(st.senderIndex, entry);
    this.responders.add(entry);
    this.changes.n++;
    this.accounted = true;
    this.sink.send(from, st.message);
  }

  private receiveResponse(now: number, from: Endpoint, d: Uint8Array): void {
    if (d.length < 8) return this.drop('malformed');
    const entry = this.byIndex.get(readU32(d, 4));
    if (!entry) return this.drop('unknown-session');
    if (entry.kind === 'session') return this.drop(bytesEqual(entry.finalMessage, d) ? 'replay' : 'handshake-state');
    if (entry.kind !== 'initiation') return this.drop('handshake-state');
    const init = entry;
    if (!this.limiter.allow(now, from, this.isPeerEndpoint(now, from))) return this.drop('rate-limited');
    const r = readResponse(init.hs, d);
    if (isFail(r)) return this.drop(r.reason);
    const peerId = encodeKey(r.remoteStatic);
    // our own static: another process with our key, or our message 2 reflected; never "self"
    if (peerId === this.localId) return this.drop('reflected');
    if (!this.isTrusted(peerId)) return this.drop('untrusted');
    if (isRelayKey(init.endpoint) && !relayKeyNames(init.endpoint, peerId)) return this.drop('relay-denied');
    if (negotiateAlgorithm(this.algorithms, r.remoteAlgorithms) !== r.algorithm) return this.drop('handshake-state');
    const endpoint = init.endpoint; // where message 1 went, not this packet's unauthenticated source
    const instance = hex(r.remoteInstance);
    const existing = this.peers.get(peerId);
    if (existing && !newSessionWins(now, existing, this.localId, instance, this.timing)) {
      // the other side's concurrent handshake wins; we are connected through it
      this.endInitiation(init);
      this.learnEndpoint(init, peerId, r.remoteStatic);
      return this.drop('handshake-state');
    }
    const c = createConfirm(this.hsId, r);
    if (!c) return this.drop('auth');
    this.endInitiation(init);
    this.learnEndpoint(init, peerId, r.remoteStatic);
    const p = existing ?? this.newPeer(peerId, endpoint, instance);
    const s = this.newSession(now, {
      peer: p, localIndex: init.hs.senderIndex, remoteIndex: r.remoteIndex, algorithm: r.algorithm, keys: c.keys,
      initiatorId: this.localId, remoteInstance: instance, finalMessage: d,
    });
    s.confirmMessage = c.message;
    s.confirmBackoffMs = this.timing.handshakeRetryInitialMs;
    s.confirmRetryAt = now + this.jitter(s.confirmBackoffMs);
    this.accounted = true;
    this.sink.send(endpoint, c.message);
    this.install(now, p, s, endpoint);
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
    if (!this.limiter.allow(now, from, this.isPeerEndpoint(now, from))) return this.drop('rate-limited');
    const r = readConfirm(resp.st, d);
    if (isFail(r)) return this.drop(r.reason);
    const peerId = encodeKey(r.remoteStatic);
    resp.completed = true;
    this.byIndex.delete(resp.st.senderIndex);
    if (peerId === this.localId) return this.drop('reflected');
    if (!this.isTrusted(peerId)) return this.drop('untrusted');
    if (isRelayKey(resp.from) && !relayKeyNames(resp.from, peerId)) return this.drop('relay-denied');
    const endpoint = resp.from; // the source of message 1, not this packet's unauthenticated source
    const instance = hex(r.remoteInstance);
    const existing = this.peers.get(peerId);
    if (existing && !newSessionWins(now, existing, peerId, instance, this.timing)) return this.drop('handshake-state');
    const p = existing ?? this.newPeer(peerId, endpoint, instance);
    const s = this.newSession(now, {
      peer: p, localIndex: resp.st.senderIndex, remoteIndex: resp.st.initiatorIndex, algorithm: resp.st.algorithm,
      keys: r.keys, initiatorId: peerId, remoteInstance: instance, finalMessage: d,
    });
    this.accounted = true;
    this.install(now, p, s, endpoint);
    if (p.current === s) this.sendOn(s, MsgKind.Keepalive, EMPTY); // confirms s on the initiator
  }

  /** A cookie reply to one of our message 1 copies to `from`: keep the cookie, send again with mac2. */
  private receiveCookieReply(now: number, from: Endpoint, d: Uint8Array): void {
    const candidates: Initiation[] = [];
    const c = this.connects.get(from);
    if (c) candidates.push(c);
    for (const p of this.peers.values()) if (p.rekey && p.rekey.endpoint === from) candidates.push(p.rekey);
    if (candidates.length === 0) return this.drop('unknown-session');
    for (const init of candidates) {
      for (const copy of init.sent) {
        const cookie = openCookieReply(d, copy.message, copy.k);
        if (!cookie) continue;
        const had = this.cookies.get(from);
        this.cookies.set(from, { cookie, until: now + COOKIE_USE_MS });
        // A repeated cookie changes nothing: counted as a replay (every datagram is accounted).
        if (had && bytesEqual(had.cookie, cookie)) return this.drop('replay');
        this.accounted = true;
        this.sendCopies(now, init); // a fresh cookie: answer at once rather than after the backoff
        return;
      }
    }
    return this.drop('auth');
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
    this.wake(p);
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
    this.wake(p);
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
    if (this.peers.get(p.id) === p) this.wake(p);
  }

  private newPeer(id: PeerId, endpoint: Endpoint, instance: string): PeerState {
    // a fresh peer starts with an instance no session has, so install() treats it as new
    const p = withTimer<PeerState>({
      kind: 'peer', id, endpoint, instance: `new:${instance}`, current: null, pending: null, previous: null, rekey: null,
      timer: new Timer(),
    });
    this.peers.set(id, p);
    return p;
  }

  private removePeer(p: PeerState): void {
    for (const s of [p.current, p.pending, p.previous]) if (s) this.discard(s);
    if (p.rekey) this.endInitiation(p.rekey);
    this.peers.delete(p.id);
    this.timers.cancel(p.timer);
  }

  private sendOn(s: Session, kind: MsgKind, payload: Uint8Array, to: Endpoint = s.peer.endpoint): void {
    const counter = s.sendCounter++;
    writeTransportHeader(this.txBuf, kind, s.remoteIndex, counter);
    const n = s.sendAead.seal(counter, this.txHeader, payload, this.txBody);
    const len = TRANSPORT_HEADER_BYTES + n;
    if (this.txView.length !== len) this.txView = this.txBuf.subarray(0, len);
    this.sink.send(to, this.txView);
  }

  // ---- initiations -----------------------------------------------------------------------

  private newInitiation(now: number, endpoint: Endpoint, forPeer: PeerId | null, expected: PeerId | null): Initiation {
    const init = withTimer<Initiation>({
      kind: 'initiation', endpoint, forPeer, expected, hs: this.createHs(now), hsCreatedAt: now, nextSendAt: now,
      backoffMs: this.timing.handshakeRetryInitialMs, keyRotation: 0, sent: [], timer: new Timer(),
    });
    this.byIndex.set(init.hs.senderIndex, init);
    this.ownEphemerals.set(hex(init.hs.ephemeral), init);
    return init;
  }

  private createHs(now: number) {
    return createInitiation(this.hsId, this.newIndex(), this.randomKey(), this.wall(now));
  }

  private startRekey(now: number, p: PeerState): void {
    if (p.rekey || p.pending) return;
    p.rekey = this.newInitiation(now, p.endpoint, p.id, p.id);
    this.sendInitiation(now, p.rekey);
  }

  private sendInitiation(now: number, init: Initiation): void {
    this.sendCopies(now, init);
    init.nextSendAt = now + this.jitter(init.backoffMs);
    init.backoffMs = Math.min(init.backoffMs * 2, this.timing.handshakeRetryMaxMs);
    // a dial runs on its own timer, a rekey on its peer's
    const p = init.forPeer === null ? null : this.peers.get(init.forPeer);
    if (p) this.timers.runBy(p.timer, init.nextSendAt);
    else if (this.connects.get(init.endpoint) === init) this.timers.schedule(init.timer, init.nextSendAt);
  }

  /**
   * Send message 1 once per mac1 key it needs: the psk; the expected peer's key; the key that
   * answered at this endpoint before; or, for an unknown responder in key mode, the next
   * MAX_MAC1_COPIES trusted keys (the same Noise message each time, so at most one is answered).
   */
  private sendCopies(now: number, init: Initiation): void {
    let keys: Uint8Array[];
    const known = init.expected ?? this.endpointPeer.get(init.endpoint);
    if (this.passwordMode) keys = [this.hsId.psk];
    else if (known !== undefined) keys = [peerIdToPublicKey(known)];
    else if (this.endpointKey.get(init.endpoint)) keys = [this.endpointKey.get(init.endpoint)!];
    else {
      const n = Math.min(MAX_MAC1_COPIES, this.otherKeys.length);
      keys = Array.from({ length: n }, (_, i) => this.otherKeys[(init.keyRotation + i) % this.otherKeys.length]!);
      init.keyRotation = (init.keyRotation + n) % Math.max(1, this.otherKeys.length);
    }
    const stored = this.cookies.get(init.endpoint);
    const cookie = stored && now < stored.until ? stored.cookie : null;
    init.sent = keys.map((k) => ({ k, message: sealInitiation(init.hs.body, mac1Key(k), cookie) }));
    for (const copy of init.sent) this.sink.send(init.endpoint, copy.message);
  }

  private retransmitInitiation(now: number, init: Initiation): void {
    if (init.forPeer !== null) {
      const p = this.peers.get(init.forPeer);
      if (!p || !p.current) return this.endInitiation(init);
      init.endpoint = p.endpoint; // follow a roaming peer
    }
    if (now - init.hsCreatedAt >= this.timing.initiationRenewMs) {
      // fresh ephemeral key, index and timestamp; a late answer to the old message 1 is dropped
      this.forgetHs(init);
      init.hs = this.createHs(now);
      init.hsCreatedAt = now;
      this.byIndex.set(init.hs.senderIndex, init);
      this.ownEphemerals.set(hex(init.hs.ephemeral), init);
    }
    this.sendInitiation(now, init);
  }

  private forgetHs(init: Initiation): void {
    if (this.byIndex.get(init.hs.senderIndex) === init) this.byIndex.delete(init.hs.senderIndex);
    const e = hex(init.hs.ephemeral);
    if (this.ownEphemerals.get(e) === init) this.ownEphemerals.delete(e);
  }

  /** Forget an initiation (completed, cancelled or superseded). */
  private endInitiation(init: Initiation): void {
    this.forgetHs(init);
    if (this.connects.get(init.endpoint) === init) this.connects.delete(init.endpoint);
    if (init.forPeer !== null) {
      const p = this.peers.get(init.forPeer);
      if (p && p.rekey === init) p.rekey = null;
    }
    this.timers.cancel(init.timer);
  }

  /** Remember who answered at the endpoint we dialled (and, in key mode, its key for mac1). */
  private learnEndpoint(init: Initiation, peer: PeerId, key: Uint8Array): void {
    if (init.forPeer !== null) return;
    this.endpointPeer.set(init.endpoint, peer);
    this.endpointKey.set(init.endpoint, key);
  }

  private forgetResponder(r: ResponderEntry): void {
    this.responders.remove(r);
    this.changes.n++;
    if (this.byIndex.get(r.st.senderIndex) === r) this.byIndex.delete(r.st.senderIndex);
  }

  // ---- helpers ---------------------------------------------------------------------------

  /**
   * Run what is due for `p` (session expiry, confirmation retransmits, rekey) and return when
   * it next has something due. Each condition is checked and its time taken from one
   * expression, so what is due and when cannot disagree.
   */
  private peerTimers(p: PeerState, now: number): number {
    const t = this.timing;
    let next = Infinity;
    for (const s of [p.current, p.pending, p.previous]) {
      if (!s) continue;
      const diesAt = s.establishedAt + t.rejectAfterMs;
      if (now >= diesAt) this.discard(s);
      else next = Math.min(next, diesAt);
    }
    const pending = p.pending;
    if (pending && !pending.confirmed) {
      const giveUpAt = pending.establishedAt + t.confirmTimeoutMs;
      if (now >= giveUpAt) this.discard(pending); // the peer never took it up; let a new rekey start
      else next = Math.min(next, giveUpAt);
    }
    if (!p.current && p.pending) { p.current = p.pending; p.pending = null; }
    if (p.previous && p.current?.confirmed) {
      const graceEndsAt = p.current.confirmedAt + t.previousGraceMs;
      if (now >= graceEndsAt) this.discard(p.previous);
      else next = Math.min(next, graceEndsAt);
    }
    for (const s of [p.current, p.pending]) {
      if (!s || !s.confirmMessage || s.confirmed) continue;
      if (now >= s.confirmRetryAt) {
        this.sink.send(p.endpoint, s.confirmMessage);
        s.confirmBackoffMs = Math.min(s.confirmBackoffMs * 2, t.handshakeRetryMaxMs);
        s.confirmRetryAt = now + this.jitter(s.confirmBackoffMs);
      }
      next = Math.min(next, s.confirmRetryAt);
    }
    if (!p.rekey && p.current && !p.pending) {
      const rekeyAt = rekeyDueAt(p.current, t);
      if (now >= rekeyAt) this.startRekey(now, p);
      else next = Math.min(next, rekeyAt);
    } else if (p.rekey && now >= p.rekey.nextSendAt) {
      this.retransmitInitiation(now, p.rekey);
    }
    if (p.rekey) next = Math.min(next, p.rekey.nextSendAt);
    if (!p.current && !p.pending && !p.previous) {
      this.removePeer(p);
      return Infinity;
    }
    return next;
  }

  /** Something changed `p`'s sessions: its timers run at once and work out their next time. */
  private wake(p: PeerState): void {
    this.timers.runBy(p.timer, this.lastNow);
  }

  accepts(peer: PeerId): boolean {
    return this.isTrusted(peer);
  }

  /** Is `endpoint` where a peer with a live session is? (Its handshakes draw on a reserve.) */
  private isPeerEndpoint(now: number, endpoint: Endpoint): boolean {
    for (const p of this.peers.values()) if (p.endpoint === endpoint && p.current && isUsable(now, p.current, this.timing)) return true;
    return false;
  }

  private isSelf(now: number, endpoint: Endpoint): boolean {
    const until = this.selfEndpoints.get(endpoint);
    if (until === undefined) return false;
    if (now < until) return true;
    this.selfEndpoints.delete(endpoint);
    return false;
  }

  private wall(now: number): number {
    return this.wallClock ? this.wallClock() : now;
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

  /** A fresh X25519 private key. */
  private randomKey(): Uint8Array {
    const key = new Uint8Array(32);
    this.rng.fill(key);
    return key;
  }

  /** `ms` scaled by a random factor in [0.75, 1.25) so retries of many nodes spread out. */
  private jitter(ms: number): number {
    return ms * (0.75 + 0.5 * this.rng.next());
  }
}
