// The boundary between the mesh core (peers, claims, routing) and the secure channel
// (handshake, AEAD, rekey). Both sides are sans-IO: the channel turns datagrams into
// authenticated messages and back, and the mesh never sees an unauthenticated byte.
//
//   UDP datagram --receive()--> Channel --onMessage(peer, kind, payload)--> Mesh
//   Mesh --send(peer, kind, payload)--> Channel --sink.send(endpoint, datagram)--> UDP
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
  /** An authenticated message from `peer`. `payload` is only valid during the call. */
  onMessage(now: number, peer: PeerId, endpoint: Endpoint, kind: MsgKind, payload: Uint8Array): void;
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
   * `peer`, when given, is the identity the mesh expects there (a lost peer, or what gossip
   * said); seeds are dialled without one.
   */
  connect(now: number, endpoint: Endpoint, peer?: PeerId): void;
  /** Stop retrying handshakes to `endpoint` (it was ourselves, or it is no longer wanted). */
  cancelConnect(endpoint: Endpoint): void;
  /** Encrypt and send to an established peer. Returns false if there is no usable session. */
  send(now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean;
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
