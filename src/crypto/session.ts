// Session state of the secure channel and the rules that decide which session carries data.
//
// Per peer (keyed by PeerId) at most three sessions:
//   current   what send() uses;
//   pending   a session we initiated while `current` was confirmed: it is not used for sending
//             until the peer proves it has it (first packet received on it), so a lost
//             message 3 never blackholes traffic during a rekey;
//   previous  the session `current` replaced; receive-only, valid until the new current is
//             confirmed plus previousGraceMs (packets in flight during a rekey still arrive).
// A session is "confirmed" once a packet was received on it. The responder of a handshake
// sends a keepalive on the new session at once, which is what confirms it on the initiator;
// until then the initiator retransmits message 3 with backoff and does not send data on it
// (the responder may have rejected our key at message 3), so isEstablished() and
// onEstablished() on the initiator side wait for that keepalive (half a round trip).
//
// Simultaneous initiation (both sides connect at once, or a rekey collides with the other
// side's) resolves deterministically: when a new session N completes while the peer's
// current or pending session C is still fresh (unconfirmed, or younger than
// simultaneousGuardMs) and the two were initiated by different nodes, the one initiated by
// the lower PeerId (string order) wins on both sides; the loser is discarded (the initiator
// does not even send message 3). Otherwise the newer session wins. A session with a peer
// that restarted (new instance id) always wins and replaces everything.
//
// Rekey: the initiator of the current session starts a new handshake after rekeyAfterMs,
// the responder of it only after rekeyAfterMs + responderRekeyDelayMs (so the two rarely
// collide), and either side after rekeyAfterMessages packets. Sessions die at
// rejectAfterMs or rejectAfterMessages.
import type { Timer } from '../core/timer-heap.js';
import type { Endpoint, PeerId } from '../core/types.js';
import { createAead, type Aead, type AlgorithmName } from './aead.js';
import type { ChannelTiming } from './channel-options.js';
import type { InitiatorState, ResponderState, SessionKeys } from './handshake.js';
import { ReplayWindow } from './replay.js';

export interface Session {
  readonly kind: 'session';
  readonly peer: PeerState;
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly algorithm: AlgorithmName;
  readonly sendAead: Aead;
  readonly recvAead: Aead;
  readonly replay: ReplayWindow;
  readonly establishedAt: number;
  readonly initiatorId: PeerId;
  readonly initiatedByUs: boolean;
  readonly remoteInstance: string;
  /** The handshake message that completed it on our side (spots duplicates). */
  readonly finalMessage: Uint8Array;
  /** Initiator only: message 3, retransmitted until the session is confirmed. */
  confirmMessage: Uint8Array | null;
  confirmRetryAt: number;
  confirmBackoffMs: number;
  sendCounter: number;
  confirmed: boolean;
  confirmedAt: number;
  /** Tell the mesh onEstablished() when this (initiator) session is confirmed. */
  announce: boolean;
  dead: boolean;
}

export interface PeerState {
  readonly kind: 'peer';
  readonly id: PeerId;
  endpoint: Endpoint;
  instance: string;
  current: Session | null;
  pending: Session | null;
  previous: Session | null;
  /** A rekey handshake in flight. */
  rekey: Initiation | null;
  /** When its sessions and its rekey next have something due (channel.ts peerTimers). */
  readonly timer: Timer<PeerState>;
}

export interface Initiation {
  readonly kind: 'initiation';
  /** Where message 1 goes (for a rekey: the peer's endpoint, followed while it roams). */
  endpoint: Endpoint;
  /** Set for a rekey: the peer whose session it renews. */
  readonly forPeer: PeerId | null;
  /** Who we expect to answer, when known (rekey, or a dial of a known peer): its key keys mac1. */
  readonly expected: PeerId | null;
  hs: InitiatorState;
  hsCreatedAt: number;
  nextSendAt: number;
  backoffMs: number;
  /** Key mode, responder unknown: where in the trusted list this attempt's mac1 copies start. */
  keyRotation: number;
  /** The copies of message 1 sent for `hs` (one per mac1 key), to open a cookie reply with. */
  sent: { readonly k: Uint8Array; readonly message: Uint8Array }[];
  /** A dial's retransmit timer (a rekey's runs on its peer's timer). */
  readonly timer: Timer<Initiation>;
}

export interface ResponderEntry {
  readonly kind: 'responder';
  readonly st: ResponderState;
  /** Source of message 1: where message 2 went, and the session's endpoint. */
  readonly from: Endpoint;
  /** Rate-limit source of `from` (pending slots are capped per source). */
  readonly source: string;
  readonly expiresAt: number;
  /** The initiator's ephemeral key (hex): the key of a retransmitted message 1. */
  readonly ephemeral: string;
  lastSentAt: number;
  resends: number;
  completed: boolean;
}

export type IndexEntry = Session | Initiation | ResponderEntry;

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface NewSession {
  peer: PeerState;
  localIndex: number;
  remoteIndex: number;
  algorithm: AlgorithmName;
  keys: SessionKeys;
  initiatorId: PeerId;
  initiatedByUs: boolean;
  remoteInstance: string;
  finalMessage: Uint8Array;
}

export function createSession(now: number, n: NewSession): Session {
  return {
    kind: 'session', peer: n.peer, localIndex: n.localIndex, remoteIndex: n.remoteIndex, algorithm: n.algorithm,
    sendAead: createAead(n.algorithm, n.keys.sendKey), recvAead: createAead(n.algorithm, n.keys.recvKey),
    replay: new ReplayWindow(), establishedAt: now, initiatorId: n.initiatorId, initiatedByUs: n.initiatedByUs,
    remoteInstance: n.remoteInstance, finalMessage: n.finalMessage.slice(), confirmMessage: null,
    confirmRetryAt: Infinity, confirmBackoffMs: 0, sendCounter: 0, confirmed: false, confirmedAt: Infinity,
    announce: false, dead: false,
  };
}

/** Wipe the keys; the session must already be unlinked from its peer and the index map. */
export function destroySession(s: Session): void {
  s.dead = true;
  s.sendAead.destroy();
  s.recvAead.destroy();
}

/**
 * Does a session just completed with `p`, initiated by `initiatorId` with a peer running
 * `instance`, win against the peer's current and pending sessions? (The tie rule above.)
 */
export function newSessionWins(
  now: number, p: PeerState, initiatorId: PeerId, instance: string, timing: ChannelTiming,
): boolean {
  if (p.instance !== instance) return true;
  for (const c of [p.current, p.pending]) {
    if (!c || c.initiatorId === initiatorId) continue;
    const fresh = !c.confirmed || now - c.establishedAt < timing.simultaneousGuardMs;
    if (fresh && c.initiatorId < initiatorId) return false;
  }
  return true;
}

/**
 * Can `s` carry data now? Besides age and counter limits, a session we initiated must be
 * confirmed first: until the responder is heard on it we cannot know it accepted message 3
 * (it may have rejected our key), so we neither send on it nor report it established.
 */
export function isUsable(now: number, s: Session, timing: ChannelTiming): boolean {
  return !s.dead && (s.confirmed || !s.initiatedByUs) &&
    now - s.establishedAt < timing.rejectAfterMs && s.sendCounter < timing.rejectAfterMessages;
}

export function rekeyDueAt(s: Session, timing: ChannelTiming): number {
  return s.establishedAt + timing.rekeyAfterMs + (s.initiatedByUs ? 0 : timing.responderRekeyDelayMs);
}
