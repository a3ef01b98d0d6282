// The hacloud handshake: Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b (noise.ts, unmodified) plus
// hacloud's framing around its three messages. Sans-IO: bytes in, bytes and state out; the
// caller picks indices, ephemeral keys and the wall-clock timestamp.
//
//   prologue = "hacloud handshake" | PROTOCOL_VERSION (one byte)
//   psk      = the network psk in password mode, 32 zero bytes in key mode
//   statics  = X25519 keys; the `s` a node sends is its PeerId's bytes (keys.ts)
//
// Clear framing keeps only what a receiver needs before it can decrypt; everything that must
// be authentic travels in the Noise payloads (encrypted, and bound to the transcript):
//   1. [1 | version | 0 0]  e(32) | enc(P1)  | mac1(16) | mac2(16)          (132 bytes)
//        P1 = sender index u32 | wall-clock ms u64 | n u8 | n algorithm ids | zero padding
//        to P1_BYTES, so message 1 is never smaller than a message 2 (no amplification).
//        mac1/mac2 are outside Noise: see macs.ts.
//   2. [2 | version | 0 0 | receiver index u32]  e(32) | enc(s)(48) | enc(P2)
//        P2 = sender index u32 | instance id (8) | chosen algorithm u8 | n u8 | n ids
//   3. [3 | version | 0 0 | receiver index u32]  enc(s)(48) | enc(P3)
//        P3 = instance id (8)
//   Split(): initiator -> responder key first.
// Payload fields are read in order and trailing bytes are ignored, so a later version can
// append fields. The version byte sits in the clear (to reject quickly) and in the prologue
// (so a changed byte breaks the handshake).
//
// Message 1 alone carries no DH, so anyone can write one in key mode; it proves nothing
// about the sender, and the responder treats it that way (channel.ts). Only a holder of the
// psk can produce P1's tag, so in password mode a stranger's message 1 is dropped at once.
//
// Algorithm negotiation (computed by the responder, sent in P2, re-checked by the initiator):
// among algorithms both lists contain, pick the one with the smallest sum of its positions in
// the two lists; a tie goes to the initiator's earlier choice. No common algorithm: no
// session. `plain` can only win when both sides list it.
//
// Instance id: 8 random bytes per process start. A peer whose instance id changed has
// restarted; the channel uses it to tell a restart from a rekey.
import type { DropReason } from '../core/types.js';
import {
  HANDSHAKE_CONFIRM_HEADER_BYTES, HANDSHAKE_INIT_HEADER_BYTES, HANDSHAKE_RESPONSE_HEADER_BYTES,
  MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, PROTOCOL_VERSION, readU32, writeU32,
} from '../wire/header.js';
import { ALGORITHM_IDS, algorithmById, type AlgorithmName } from './aead.js';
import { isCanonicalPublicKey, type IdentityKeyPair } from './keys.js';
import { concat, HandshakeState, XX_PSK0 } from './noise.js';
import { MACS_BYTES } from './macs.js';
import { TAG_BYTES } from './sodium.js';

export const NOISE_PROTOCOL_NAME = 'Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b';
const PROLOGUE = new Uint8Array([...new TextEncoder().encode('hacloud handshake'), PROTOCOL_VERSION]);
export const INSTANCE_ID_BYTES = 8;
export const MAX_ALGORITHMS = 8;
/** P1 is padded to this many bytes: message 1 (132 bytes) >= the largest message 2 (126). */
const P1_BYTES = 48;
/** Bytes of message 1 before mac1: header, e, encrypted P1. */
export const INIT_BODY_BYTES = HANDSHAKE_INIT_HEADER_BYTES + 32 + P1_BYTES + TAG_BYTES;
export const INIT_BYTES = INIT_BODY_BYTES + MACS_BYTES;
/** Longest message 2 or 3 we accept (room for payload fields of later versions). */
export const MAX_HANDSHAKE_BYTES = 512;
const ENC_STATIC_BYTES = 32 + TAG_BYTES;

/** What a node brings to every handshake. */
export interface HandshakeIdentity {
  readonly keyPair: IdentityKeyPair;
  /** 32 bytes; all zero in key-only mode. */
  readonly psk: Uint8Array;
  /** Supported algorithms, most preferred first. */
  readonly algorithms: readonly AlgorithmName[];
  /** INSTANCE_ID_BYTES random bytes, fixed for the life of the process. */
  readonly instanceId: Uint8Array;
}

type Fail = { ok: false; reason: DropReason };
const fail = (reason: DropReason): Fail => ({ ok: false, reason });

export function isFail<T extends object>(r: T | Fail): r is Fail {
  return 'ok' in r && r.ok === false;
}

function newState(id: HandshakeIdentity, initiator: boolean, ephemeral?: Uint8Array): HandshakeState {
  return new HandshakeState({
    protocolName: NOISE_PROTOCOL_NAME, pattern: XX_PSK0, initiator, prologue: PROLOGUE,
    s: { publicKey: id.keyPair.publicKey, secretKey: id.keyPair.secretKey },
    ...(ephemeral ? { e: ephemeral } : {}), psks: [id.psk],
  });
}

function header(type: number, bytes: number, receiverIndex?: number): Uint8Array {
  const h = new Uint8Array(bytes);
  h[0] = type;
  h[1] = PROTOCOL_VERSION;
  if (receiverIndex !== undefined) writeU32(h, 4, receiverIndex);
  return h;
}


function checkHeader(msg: Uint8Array, type: number, headerBytes: number): boolean {
  return msg.length > headerBytes && msg.length <= MAX_HANDSHAKE_BYTES && msg[0] === type &&
    msg[1] === PROTOCOL_VERSION && msg[2] === 0 && msg[3] === 0;
}

/** The negotiation rule documented at the top of this file. */
export function negotiateAlgorithm(
  initiator: readonly AlgorithmName[], responder: readonly AlgorithmName[],
): AlgorithmName | undefined {
  let best: AlgorithmName | undefined;
  let bestScore = Infinity;
  initiator.forEach((alg, i) => {
    const j = responder.indexOf(alg);
    if (j >= 0 && i + j < bestScore) { best = alg; bestScore = i + j; }
  });
  return best;
}

function encodeAlgorithms(algs: readonly AlgorithmName[]): Uint8Array {
  return Uint8Array.from([algs.length, ...algs.map((a) => ALGORITHM_IDS[a])]);
}

/** Parse "n | n ids" at `off`; unknown ids are skipped (a newer peer may offer more). */
function decodeAlgorithms(p: Uint8Array, off: number): { algs: AlgorithmName[]; end: number } | null {
  if (off >= p.length) return null;
  const n = p[off]!;
  if (n === 0 || n > MAX_ALGORITHMS || off + 1 + n > p.length) return null;
  const algs: AlgorithmName[] = [];
  for (let i = 0; i < n; i++) {
    const a = algorithmById(p[off + 1 + i]!);
    if (a && !algs.includes(a)) algs.push(a);
  }
  return { algs, end: off + 1 + n };
}

function writeU64(buf: Uint8Array, off: number, v: number): void {
  writeU32(buf, off, v >>> 0);
  writeU32(buf, off + 4, Math.floor(v / 0x1_0000_0000));
}

function readU64(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 4) * 0x1_0000_0000 + readU32(buf, off);
}

// ---- message 1 -------------------------------------------------------------------------

export interface InitiatorState {
  readonly senderIndex: number;
  readonly hs: HandshakeState;
  /** Message 1 up to mac1 (the same for every copy; each copy gets its own macs). */
  readonly body: Uint8Array;
  /** Our ephemeral public key (how we recognise our own message 1 coming back). */
  readonly ephemeral: Uint8Array;
}

export function createInitiation(
  id: HandshakeIdentity, senderIndex: number, ephemeralSecret: Uint8Array, wallMs: number,
): InitiatorState {
  const hs = newState(id, true, ephemeralSecret);
  const p = new Uint8Array(P1_BYTES);
  writeU32(p, 0, senderIndex);
  writeU64(p, 4, Math.max(0, Math.floor(wallMs)));
  p.set(encodeAlgorithms(id.algorithms), 12);
  const noise = hs.writeMessage(p)!; // message 1 has no DH: cannot fail
  return {
    senderIndex, hs, body: concat(header(MSG_HANDSHAKE_INIT, HANDSHAKE_INIT_HEADER_BYTES), noise),
    ephemeral: hs.e.publicKey,
  };
}

/** The ephemeral public key of a message 1 (no checks beyond the length). */
export function initiationEphemeral(msg: Uint8Array): Uint8Array {
  return msg.subarray(HANDSHAKE_INIT_HEADER_BYTES, HANDSHAKE_INIT_HEADER_BYTES + 32);
}

export interface ReceivedInitiation {
  readonly initiatorIndex: number;
  readonly initiatorAlgorithms: AlgorithmName[];
  /** The initiator's wall clock when it wrote the message (ms since the epoch). */
  readonly timestampMs: number;
  readonly hs: HandshakeState;
}

/** Read message 1 (`msg` whole, macs included; the caller checked length, type and macs). */
export function readInitiation(id: HandshakeIdentity, msg: Uint8Array): ReceivedInitiation | Fail {
  if (msg.length !== INIT_BYTES || !checkHeader(msg, MSG_HANDSHAKE_INIT, HANDSHAKE_INIT_HEADER_BYTES)) {
    return fail('malformed');
  }
  const hs = newState(id, false);
  const p = hs.readMessage(msg.subarray(HANDSHAKE_INIT_HEADER_BYTES, INIT_BODY_BYTES));
  if (!p) return fail('auth');
  const algs = decodeAlgorithms(p, 12);
  if (p.length < 12 || !algs) return fail('malformed');
  return { initiatorIndex: readU32(p, 0), timestampMs: readU64(p, 4), initiatorAlgorithms: algs.algs, hs };
}

// ---- message 2 -------------------------------------------------------------------------

export interface ResponderState {
  readonly senderIndex: number;
  readonly initiatorIndex: number;
  readonly algorithm: AlgorithmName;
  /** Message 2, kept for answering a retransmitted message 1. */
  readonly message: Uint8Array;
  readonly hs: HandshakeState;
}

/** Answer a verified message 1. null if the initiator's ephemeral key is unusable (low order). */
export function createResponse(
  id: HandshakeIdentity, init: ReceivedInitiation, senderIndex: number, ephemeralSecret: Uint8Array,
  algorithm: AlgorithmName,
): ResponderState | null {
  init.hs.setEphemeral(ephemeralSecret);
  const p = new Uint8Array(4 + INSTANCE_ID_BYTES + 1);
  writeU32(p, 0, senderIndex);
  p.set(id.instanceId, 4);
  p[4 + INSTANCE_ID_BYTES] = ALGORITHM_IDS[algorithm];
  const noise = init.hs.writeMessage(concat(p, encodeAlgorithms(id.algorithms)));
  if (!noise) return null;
  const message = concat(header(MSG_HANDSHAKE_RESPONSE, HANDSHAKE_RESPONSE_HEADER_BYTES, init.initiatorIndex), noise);
  return { senderIndex, initiatorIndex: init.initiatorIndex, algorithm, message, hs: init.hs };
}

/** Outcome of reading message 2: the responder is known; message 3 not yet written. */
export interface ReadResponse {
  readonly remoteStatic: Uint8Array;
  readonly remoteIndex: number;
  readonly remoteInstance: Uint8Array;
  readonly remoteAlgorithms: AlgorithmName[];
  readonly algorithm: AlgorithmName;
  /** A copy of the initiator's state that has read message 2 (`st` itself is unchanged). */
  readonly hs: HandshakeState;
}

/** Read message 2 (the caller found `st` by the receiver index); `st` itself never changes. */
export function readResponse(st: InitiatorState, msg: Uint8Array): ReadResponse | Fail {
  if (!checkHeader(msg, MSG_HANDSHAKE_RESPONSE, HANDSHAKE_RESPONSE_HEADER_BYTES)) return fail('malformed');
  if (readU32(msg, 4) !== st.senderIndex) return fail('unknown-session');
  if (msg.length < HANDSHAKE_RESPONSE_HEADER_BYTES + 32 + ENC_STATIC_BYTES + TAG_BYTES) return fail('malformed');
  const hs = st.hs.clone();
  const p = hs.readMessage(msg.subarray(HANDSHAKE_RESPONSE_HEADER_BYTES));
  if (!p) return fail('auth');
  const rs = hs.rs!;
  const algorithm = algorithmById(p[4 + INSTANCE_ID_BYTES] ?? 255);
  const algs = decodeAlgorithms(p, 5 + INSTANCE_ID_BYTES);
  if (!isCanonicalPublicKey(rs) || p.length < 5 + INSTANCE_ID_BYTES || !algorithm || !algs) {
    return fail(isCanonicalPublicKey(rs) ? 'malformed' : 'auth');
  }
  return {
    remoteStatic: rs, remoteIndex: readU32(p, 0), remoteInstance: p.slice(4, 4 + INSTANCE_ID_BYTES),
    remoteAlgorithms: algs.algs, algorithm, hs,
  };
}

// ---- message 3 -------------------------------------------------------------------------

export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly recvKey: Uint8Array;
}

/** Write message 3 after the caller accepted the responder; returns it and the session keys. */
export function createConfirm(id: HandshakeIdentity, r: ReadResponse): { message: Uint8Array; keys: SessionKeys } | null {
  const noise = r.hs.writeMessage(id.instanceId);
  if (!noise) return null;
  return {
    message: concat(header(MSG_HANDSHAKE_CONFIRM, HANDSHAKE_CONFIRM_HEADER_BYTES, r.remoteIndex), noise),
    keys: r.hs.split(),
  };
}

export interface ReadConfirm {
  readonly remoteStatic: Uint8Array;
  readonly remoteInstance: Uint8Array;
  readonly keys: SessionKeys;
}

export function readConfirm(st: ResponderState, msg: Uint8Array): ReadConfirm | Fail {
  if (!checkHeader(msg, MSG_HANDSHAKE_CONFIRM, HANDSHAKE_CONFIRM_HEADER_BYTES)) return fail('malformed');
  if (readU32(msg, 4) !== st.senderIndex) return fail('unknown-session');
  if (msg.length < HANDSHAKE_CONFIRM_HEADER_BYTES + ENC_STATIC_BYTES + TAG_BYTES) return fail('malformed');
  const hs = st.hs.clone();
  const p = hs.readMessage(msg.subarray(HANDSHAKE_CONFIRM_HEADER_BYTES));
  if (!p) return fail('auth');
  const rs = hs.rs!;
  if (!isCanonicalPublicKey(rs)) return fail('auth');
  if (p.length < INSTANCE_ID_BYTES) return fail('malformed');
  return { remoteStatic: rs, remoteInstance: p.slice(0, INSTANCE_ID_BYTES), keys: hs.split() };
}
