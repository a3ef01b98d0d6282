// The hacloud handshake: Noise XXpsk0 on libsodium primitives, sans-IO (bytes in, bytes and
// state out; the caller picks indices and supplies ephemeral randomness).
//
//   Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b with these hacloud choices:
//   - HASH = BLAKE2b-256; HKDF's HMAC is replaced by keyed BLAKE2b (a PRF in its own right),
//     so this is Noise-shaped but not byte-compatible with other Noise implementations.
//   - static keys are Ed25519 identities; the `s` token carries the 32-byte Ed25519 public
//     key (that is the PeerId) and the DH steps use its X25519 form.
//   - each message's cleartext header (type, version, indices) is mixed into h before its
//     tokens, so the header is authenticated like the rest of the transcript.
//
//   prologue: h = HASH(PROTOCOL_NAME); ck = h; MixHash("hacloud handshake")
//
//   1. initiator -> responder   [type 1 | version | 0 0 | sender index I]
//        MixHash(header); psk: MixKeyAndHash(psk); e: send e_i, MixHash, MixKey
//        payload P1 = version u8 | n u8 | n algorithm ids (initiator's preference order)
//      Only a holder of the psk can produce P1's tag, so in password mode a stranger's
//      message 1 is dropped without any reply ('auth'). In key mode psk = 32 zero bytes and
//      trust comes from checking the peer's static key (messages 2 and 3).
//   2. responder -> initiator   [type 2 | version | 0 0 | sender index R | receiver index I]
//        MixHash(header); e: send e_r, MixHash, MixKey; ee; s: EncryptAndHash(edpub_r); es
//        payload P2 = version u8 | instance id (8) | chosen algorithm u8 | n u8 | n ids
//   3. initiator -> responder   [type 3 | version | 0 0 | receiver index R]
//        MixHash(header); s: EncryptAndHash(edpub_i); se
//        payload P3 = version u8 | instance id (8)
//   Split(): k1 = initiator -> responder key, k2 = responder -> initiator key.
//
//   Both transport keys come from HKDF over the chaining key, which has absorbed the psk,
//   all three DH results (ee, es, se: forward secrecy and mutual authentication) and, via h
//   as associated data of every encrypted field, the whole transcript. Raw DH output is
//   never used as a key. The initiator's identity travels only in message 3, encrypted.
//
//   Algorithm negotiation (computed by the responder, sent in P2, re-checked by the
//   initiator): among algorithms both lists contain, pick the one with the smallest sum of
//   its positions in the two lists; a tie goes to the initiator's earlier choice. No common
//   algorithm: no session. `plain` can only win when both sides list it.
//
//   Instance id: 8 random bytes per process start. A peer whose instance id changed has
//   restarted; the channel uses it to tell a restart from a rekey.
import type { DropReason } from '../core/types.js';
import {
  HANDSHAKE_CONFIRM_HEADER_BYTES, HANDSHAKE_INIT_HEADER_BYTES, HANDSHAKE_RESPONSE_HEADER_BYTES,
  MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, PROTOCOL_VERSION, readU32, writeU32,
} from '../wire/header.js';
import { ALGORITHM_IDS, algorithmById, type AlgorithmName } from './aead.js';
import type { IdentityKeyPair } from './keys.js';
import {
  TAG_BYTES, X25519_BYTES, blake2b, blake2bParts, chachaOpenDetached, chachaSealDetached,
  edPublicToX25519, x25519, x25519SeedKeypair,
} from './sodium.js';

const PROTOCOL_NAME = 'hacloud/Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b-256/1';
const PROLOGUE = 'hacloud handshake';
const HASH_BYTES = 32;
export const INSTANCE_ID_BYTES = 8;
export const MAX_ALGORITHMS = 8;
/** Longest handshake message we accept (room for payload fields of later versions). */
export const MAX_HANDSHAKE_BYTES = 512;
const ENC_STATIC_BYTES = 32 + TAG_BYTES;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const INITIAL_H = (() => {
  const h = new Uint8Array(HASH_BYTES);
  blake2b(h, utf8(PROTOCOL_NAME));
  const out = new Uint8Array(HASH_BYTES);
  blake2bParts(out, [h, utf8(PROLOGUE)]);
  return { h: out, ck: h };
})();

function prf(key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  blake2b(out, data, key);
  return out;
}

/** HKDF(ck, ikm) with keyed BLAKE2b as the PRF: up to three 32-byte outputs. */
function hkdf(ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const prk = prf(ck, ikm);
  const t1 = prf(prk, Uint8Array.of(1));
  const t2 = prf(prk, concat(t1, Uint8Array.of(2)));
  if (outputs === 2) return [t1, t2];
  return [t1, t2, prf(prk, concat(t2, Uint8Array.of(3)))];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function nonceFor(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  writeU32(nonce, 4, n);
  return nonce;
}

/** Noise SymmetricState. Cloned before reading a message so a forged one changes nothing. */
class SymmetricState {
  constructor(
    public ck: Uint8Array = INITIAL_H.ck,
    public h: Uint8Array = INITIAL_H.h,
    public k: Uint8Array | null = null,
    public n = 0,
  ) {}

  clone(): SymmetricState {
    return new SymmetricState(this.ck, this.h, this.k, this.n); // fields are replaced, never mutated
  }

  mixHash(data: Uint8Array): void {
    const h = new Uint8Array(HASH_BYTES);
    blake2bParts(h, [this.h, data]);
    this.h = h;
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, ikm, 2);
    this.ck = ck!;
    this.k = k!;
    this.n = 0;
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, th, tk] = hkdf(this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(th!);
    this.k = tk!;
    this.n = 0;
  }

  encryptAndHash(pt: Uint8Array): Uint8Array {
    if (!this.k) throw new Error('handshake: no key'); // psk0 sets k before any payload
    const c = new Uint8Array(pt.length + TAG_BYTES);
    chachaSealDetached(c.subarray(0, pt.length), c.subarray(pt.length), pt, this.h, nonceFor(this.n++), this.k);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(c: Uint8Array): Uint8Array | null {
    if (!this.k || c.length < TAG_BYTES) return null;
    const len = c.length - TAG_BYTES;
    const pt = new Uint8Array(len);
    if (!chachaOpenDetached(pt, c.subarray(0, len), c.subarray(len), this.h, nonceFor(this.n), this.k)) return null;
    this.n++;
    this.mixHash(c);
    return pt;
  }

  split(): [Uint8Array, Uint8Array] {
    const [k1, k2] = hkdf(this.ck, new Uint8Array(0), 2);
    return [k1!, k2!];
  }
}

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

interface Ephemeral { publicKey: Uint8Array; secretKey: Uint8Array }

export interface InitiatorState {
  readonly senderIndex: number;
  /** Message 1, kept for retransmission. */
  readonly message: Uint8Array;
  readonly ss: SymmetricState;
  readonly e: Ephemeral;
}

export interface ReceivedInitiation {
  readonly initiatorIndex: number;
  readonly initiatorAlgorithms: AlgorithmName[];
  /** The initiator's ephemeral public key (also a handy key to spot duplicates). */
  readonly re: Uint8Array;
  readonly ss: SymmetricState;
}

export interface ResponderState {
  readonly senderIndex: number;
  readonly initiatorIndex: number;
  readonly algorithm: AlgorithmName;
  /** Message 2, kept for answering a duplicated message 1. */
  readonly message: Uint8Array;
  readonly ss: SymmetricState;
  readonly e: Ephemeral;
  readonly re: Uint8Array;
}

/** Outcome of reading message 2: the responder is known; message 3 not yet written. */
export interface ReadResponse {
  readonly remoteStatic: Uint8Array;
  readonly remoteIndex: number;
  readonly remoteInstance: Uint8Array;
  readonly remoteAlgorithms: AlgorithmName[];
  readonly algorithm: AlgorithmName;
  readonly ss: SymmetricState;
  readonly re: Uint8Array;
  readonly e: Ephemeral;
}

export interface SessionKeys {
  readonly sendKey: Uint8Array;
  readonly recvKey: Uint8Array;
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

function checkHeader(msg: Uint8Array, type: number, headerBytes: number, minBytes: number): DropReason | null {
  if (msg.length < minBytes || msg.length > MAX_HANDSHAKE_BYTES) return 'malformed';
  if (msg[0] !== type || msg[1] !== PROTOCOL_VERSION || msg[2] !== 0 || msg[3] !== 0) return 'malformed';
  return headerBytes > msg.length ? 'malformed' : null;
}

function ephemeralFrom(seed: Uint8Array): Ephemeral {
  if (seed.length !== 32) throw new RangeError('ephemeral seed must have 32 bytes');
  return x25519SeedKeypair(seed);
}

function dh(out: Ephemeral['secretKey'], pub: Uint8Array): Uint8Array | null {
  const shared = new Uint8Array(X25519_BYTES);
  return x25519(shared, out, pub) ? shared : null;
}

// ---- message 1 -------------------------------------------------------------------------

export function createInitiation(id: HandshakeIdentity, senderIndex: number, ephemeralSeed: Uint8Array): InitiatorState {
  const header = new Uint8Array(HANDSHAKE_INIT_HEADER_BYTES);
  header[0] = MSG_HANDSHAKE_INIT;
  header[1] = PROTOCOL_VERSION;
  writeU32(header, 4, senderIndex);
  const ss = new SymmetricState();
  ss.mixHash(header);
  ss.mixKeyAndHash(id.psk);
  const e = ephemeralFrom(ephemeralSeed);
  ss.mixHash(e.publicKey);
  ss.mixKey(e.publicKey);
  const payload = concat(Uint8Array.of(PROTOCOL_VERSION), encodeAlgorithms(id.algorithms));
  const c = ss.encryptAndHash(payload);
  return { senderIndex, message: concat(header, e.publicKey, c), ss, e };
}

const INIT_MIN_BYTES = HANDSHAKE_INIT_HEADER_BYTES + 32 + 3 + TAG_BYTES;

export function readInitiation(id: HandshakeIdentity, msg: Uint8Array): ReceivedInitiation | Fail {
  const bad = checkHeader(msg, MSG_HANDSHAKE_INIT, HANDSHAKE_INIT_HEADER_BYTES, INIT_MIN_BYTES);
  if (bad) return fail(bad);
  const ss = new SymmetricState();
  ss.mixHash(msg.subarray(0, HANDSHAKE_INIT_HEADER_BYTES));
  ss.mixKeyAndHash(id.psk);
  const re = msg.slice(HANDSHAKE_INIT_HEADER_BYTES, HANDSHAKE_INIT_HEADER_BYTES + 32);
  ss.mixHash(re);
  ss.mixKey(re);
  const p = ss.decryptAndHash(msg.subarray(HANDSHAKE_INIT_HEADER_BYTES + 32));
  if (!p) return fail('auth');
  if (p[0] !== PROTOCOL_VERSION) return fail('malformed');
  const algs = decodeAlgorithms(p, 1);
  if (!algs) return fail('malformed');
  return { initiatorIndex: readU32(msg, 4), initiatorAlgorithms: algs.algs, re, ss };
}

// ---- message 2 -------------------------------------------------------------------------

/** Answer a verified message 1. null if the initiator's ephemeral key is unusable (low order). */
export function createResponse(
  id: HandshakeIdentity, init: ReceivedInitiation, senderIndex: number, ephemeralSeed: Uint8Array,
  algorithm: AlgorithmName,
): ResponderState | null {
  const ss = init.ss.clone();
  const header = new Uint8Array(HANDSHAKE_RESPONSE_HEADER_BYTES);
  header[0] = MSG_HANDSHAKE_RESPONSE;
  header[1] = PROTOCOL_VERSION;
  writeU32(header, 4, senderIndex);
  writeU32(header, 8, init.initiatorIndex);
  ss.mixHash(header);
  const e = ephemeralFrom(ephemeralSeed);
  ss.mixHash(e.publicKey);
  ss.mixKey(e.publicKey);
  const ee = dh(e.secretKey, init.re);
  if (!ee) return null;
  ss.mixKey(ee);
  const cs = ss.encryptAndHash(id.keyPair.publicKey);
  const es = dh(id.keyPair.x25519Secret, init.re);
  if (!es) return null;
  ss.mixKey(es);
  const payload = concat(Uint8Array.of(PROTOCOL_VERSION), id.instanceId,
    Uint8Array.of(ALGORITHM_IDS[algorithm]), encodeAlgorithms(id.algorithms));
  const cp = ss.encryptAndHash(payload);
  return {
    senderIndex, initiatorIndex: init.initiatorIndex, algorithm, message: concat(header, e.publicKey, cs, cp),
    ss, e, re: init.re,
  };
}

const RESPONSE_MIN_BYTES = HANDSHAKE_RESPONSE_HEADER_BYTES + 32 + ENC_STATIC_BYTES + 12 + TAG_BYTES;

/** Sender index of a message 2 (its receiver index is read by the caller to find `st`). */
export function readResponse(st: InitiatorState, msg: Uint8Array): ReadResponse | Fail {
  const bad = checkHeader(msg, MSG_HANDSHAKE_RESPONSE, HANDSHAKE_RESPONSE_HEADER_BYTES, RESPONSE_MIN_BYTES);
  if (bad) return fail(bad);
  if (readU32(msg, 8) !== st.senderIndex) return fail('unknown-session');
  const ss = st.ss.clone();
  ss.mixHash(msg.subarray(0, HANDSHAKE_RESPONSE_HEADER_BYTES));
  let off = HANDSHAKE_RESPONSE_HEADER_BYTES;
  const re = msg.slice(off, off + 32);
  off += 32;
  ss.mixHash(re);
  ss.mixKey(re);
  const ee = dh(st.e.secretKey, re);
  if (!ee) return fail('auth');
  ss.mixKey(ee);
  const rs = ss.decryptAndHash(msg.subarray(off, off + ENC_STATIC_BYTES));
  off += ENC_STATIC_BYTES;
  if (!rs) return fail('auth');
  const rsX = edPublicToX25519(rs);
  if (!rsX) return fail('auth');
  const es = dh(st.e.secretKey, rsX);
  if (!es) return fail('auth');
  ss.mixKey(es);
  const p = ss.decryptAndHash(msg.subarray(off));
  if (!p) return fail('auth');
  if (p.length < 1 + INSTANCE_ID_BYTES + 1 || p[0] !== PROTOCOL_VERSION) return fail('malformed');
  const algorithm = algorithmById(p[1 + INSTANCE_ID_BYTES]!);
  const algs = decodeAlgorithms(p, 2 + INSTANCE_ID_BYTES);
  if (!algorithm || !algs) return fail('malformed');
  return {
    remoteStatic: rs, remoteIndex: readU32(msg, 4), remoteInstance: p.slice(1, 1 + INSTANCE_ID_BYTES),
    remoteAlgorithms: algs.algs, algorithm, ss, re, e: st.e,
  };
}

// ---- message 3 -------------------------------------------------------------------------

/** Write message 3 after the caller accepted the responder; returns it and the session keys. */
export function createConfirm(id: HandshakeIdentity, r: ReadResponse): { message: Uint8Array; keys: SessionKeys } | null {
  const ss = r.ss.clone();
  const header = new Uint8Array(HANDSHAKE_CONFIRM_HEADER_BYTES);
  header[0] = MSG_HANDSHAKE_CONFIRM;
  header[1] = PROTOCOL_VERSION;
  writeU32(header, 4, r.remoteIndex);
  ss.mixHash(header);
  const cs = ss.encryptAndHash(id.keyPair.publicKey);
  const se = dh(id.keyPair.x25519Secret, r.re);
  if (!se) return null;
  ss.mixKey(se);
  const cp = ss.encryptAndHash(concat(Uint8Array.of(PROTOCOL_VERSION), id.instanceId));
  const [k1, k2] = ss.split();
  return { message: concat(header, cs, cp), keys: { sendKey: k1, recvKey: k2 } };
}

const CONFIRM_MIN_BYTES = HANDSHAKE_CONFIRM_HEADER_BYTES + ENC_STATIC_BYTES + 1 + INSTANCE_ID_BYTES + TAG_BYTES;

export interface ReadConfirm {
  readonly remoteStatic: Uint8Array;
  readonly remoteInstance: Uint8Array;
  readonly keys: SessionKeys;
}

export function readConfirm(st: ResponderState, msg: Uint8Array): ReadConfirm | Fail {
  const bad = checkHeader(msg, MSG_HANDSHAKE_CONFIRM, HANDSHAKE_CONFIRM_HEADER_BYTES, CONFIRM_MIN_BYTES);
  if (bad) return fail(bad);
  if (readU32(msg, 4) !== st.senderIndex) return fail('unknown-session');
  const ss = st.ss.clone();
  ss.mixHash(msg.subarray(0, HANDSHAKE_CONFIRM_HEADER_BYTES));
  const off = HANDSHAKE_CONFIRM_HEADER_BYTES;
  const rs = ss.decryptAndHash(msg.subarray(off, off + ENC_STATIC_BYTES));
  if (!rs) return fail('auth');
  const rsX = edPublicToX25519(rs);
  if (!rsX) return fail('auth');
  const se = dh(st.e.secretKey, rsX);
  if (!se) return fail('auth');
  ss.mixKey(se);
  const p = ss.decryptAndHash(msg.subarray(off + ENC_STATIC_BYTES));
  if (!p) return fail('auth');
  if (p.length < 1 + INSTANCE_ID_BYTES || p[0] !== PROTOCOL_VERSION) return fail('malformed');
  const [k1, k2] = ss.split();
  return { remoteStatic: rs, remoteInstance: p.slice(1, 1 + INSTANCE_ID_BYTES), keys: { sendKey: k2, recvKey: k1 } };
}

export function isFail<T extends object>(r: T | Fail): r is Fail {
  return 'ok' in r && r.ok === false;
}
