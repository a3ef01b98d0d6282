// The boundary between the mesh core (peers, claims, routing) and the secure channel
// (handshake, AEAD, rekey). Both sides are sans-IO: the channel turns datagrams into
// authenticated messages and back, and the mesh never sees an unauthenticated byte.
//
//   UDP datagram --receive()--> Channel --onMessage(peer, kind, payload)--> Mesh
//   Mesh --send(peer, kind, payload)--> Channel --sink.send(endpoint, datagram)--> UDP
//
// "Endpoint" here is a path key (path.ts): a UDP endpoint, or a relay path, which the
// engine's sink.send() wraps into a message to the relay. The channel roams (moves a peer to
// the path an authenticated packet came from) only onto direct paths; relay paths are chosen
// by the engine (setPath), so two sides never chase each other between relays.
import type { DropReason, Endpoint, MsgKind, PeerId } from './types.js';

/** Callbacks the channel makes. Buffers passed out are only valid during the call. */
export interface ChannelSink {
  /** Put a datagram on the wire. The implementation sends or copies it before returning. */
  send(to: Endpoint, datagram: Uint8Array): void;
  /**
   * A session with `peer` is established (first handshake, a re-handshake after the
   * peer restarted, or a handshake from a new endpoint). The mesh learns the peer's
   * start time from its first control message, which tells a restart from roaming.
   */
  onEstablished(now: number, peer: PeerId, endpoint: Endpoint): void;
  /**
   * An authenticated message from `peer`, whose current path is `endpoint`; it came in on
   * path `arrival` (the same unless it came another way: a relay, a probe, an old session).
   * `payload` is only valid during the call.
   */
  onMessage(now: number, peer: PeerId, endpoint: Endpoint, kind: MsgKind, payload: Uint8Array, arrival: Endpoint): void;
  /** A handshake to `endpoint` reached this node itself: never try that endpoint again. */
  onSelf(endpoint: Endpoint): void;
  /** A datagram was dropped; counted per reason by the caller. */
  onDrop(reason: DropReason, from: Endpoint): void;
}

export interface Channel {
  /** This node's identity. */
  readonly localId: PeerId;
  /**
   * Start (or keep retrying with backoff) a handshake with whoever listens at `endpoint`.
   * `peer`: who we expect there, when known (a gossiped or lost peer); the secure channel
   * then addresses message 1 to that key alone (its mac1) instead of trying every trusted key.
   */
  connect(now: number, endpoint: Endpoint, peer?: PeerId): void;
  /**
   * Shake hands with `peer` anew even though a session is up: its end may have lost it (it
   * restarted, or closed it idle) while ours still looks usable. The current session carries
   * on until the new one replaces it. Without a session this is connect(now, endpoint, peer).
   */
  renew(now: number, endpoint: Endpoint, peer: PeerId): void;
  /** Stop retrying handshakes to `endpoint` (it was ourselves, or it is no longer wanted). */
  cancelConnect(endpoint: Endpoint): void;
  /** Encrypt and send to an established peer. Returns false if there is no usable session. */
  send(now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean;
  /**
   * Like send(), on path `path` instead of the peer's current one (probing another path, or
   * answering on the path a message came in on). The current path does not change.
   */
  sendVia(now: number, peer: PeerId, path: Endpoint, kind: MsgKind, payload: Uint8Array): boolean;
  /** From now on send to `peer` on `path` (the engine chose it; an authenticated packet proved it). */
  setPath(peer: PeerId, path: Endpoint): void;
  /** The 32-byte wire form of an id (relay headers); null if `peer` has none. */
  peerKey(peer: PeerId): Uint8Array | null;
  /** The id a 32-byte wire key names; null if it is not a valid one. May allocate. */
  peerFromKey(key: Uint8Array): PeerId | null;
  /** Feed one received datagram. Never throws: bad input ends in sink.onDrop(). */
  receive(now: number, from: Endpoint, datagram: Uint8Array): void;
  /** Run timers (handshake retransmit, rekey, expiry of old keys). */
  timeout(now: number): void;
  /** Earliest time at which timeout() has work to do (Infinity if none). */
  nextDeadline(): number;
  /** Forget every session with `peer` (it timed out or left). */
  forget(peer: PeerId): void;
  /**
   * Could a handshake with `peer` ever be accepted (key mode: is it a trusted key)? The mesh
   * dials only identities this says yes to, so gossip cannot point it at strangers.
   */
  accepts(peer: PeerId): boolean;
  /** Is there a session that can carry data to `peer` right now? */
  isEstablished(peer: PeerId): boolean;
  /** For status output: the current session's start time and cipher (optional). */
  sessionInfo?(peer: PeerId): { establishedAt: number; algorithm: string } | undefined;
  /** For status output: handshakes completed so far (optional). */
  readonly handshakesCompleted?: number;
}
