// Node identities: the private key, its printable form, and the public key that is the
// node's PeerId.
//
// Printable form (private and public keys alike): the 32 key bytes in base64url (RFC 4648
// section 5, alphabet A-Z a-z 0-9 '-' '_') WITHOUT padding, so always 43 characters. Only the
// canonical spelling is accepted (the unused low bits of the last character must be zero), so
// one key has exactly one text.
//
// The private key is a 32-byte Ed25519 seed. The PeerId is the X25519 public key derived from
// it (libsodium's Ed25519 -> X25519 conversion): exactly the static key the Noise handshake
// authenticates, so one key can never answer to two ids. (An Ed25519 public key P and -P --
// bit 255 flipped -- convert to the same X25519 key; an X25519 key with bit 255 set, or
// encoded as u >= 2^255 - 19, is the same key as its reduced form. parsePeerId() refuses all
// of those spellings.) The Ed25519 pair stays available for signing node records.
import type { PeerId, Rng } from '../core/types.js';
import {
  ED25519_SEED_BYTES, X25519_BYTES, edSecretToX25519, osRandomBytes, signSeedKeypair, x25519, x25519Base,
} from './sodium.js';

export const KEY_TEXT_CHARS = 43;

export interface IdentityKeyPair {
  /** The node id: base64url of `publicKey`. */
  readonly id: PeerId;
  /** X25519 public key (32 bytes): the Noise static key, and the id. */
  readonly publicKey: Uint8Array;
  /** X25519 private key (32 bytes, clamped) for the Diffie-Hellman steps of the handshake. */
  readonly secretKey: Uint8Array;
  /** The 32-byte Ed25519 seed: what `private-key` holds. */
  readonly seed: Uint8Array;
  /** The Ed25519 pair of the same seed (libsodium form: 32-byte public, 64-byte secret). */
  readonly signing: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
}

/** A key string that is not a valid key. The message is one line and names the key. */
export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;

/** 32 key bytes -> 43-character base64url without padding. */
export function encodeKey(bytes: Uint8Array): string {
  if (bytes.length !== 32) throw new RangeError(`a key has 32 bytes, got ${bytes.length}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

/**
 * Decode a printable key. `what` names it in errors, e.g. "private-key" or
 * "trusted-keys[2]".
 */
export function decodeKey(text: string, what: string): Uint8Array {
  const t = text.trim();
  if (t.length !== KEY_TEXT_CHARS) {
    throw new KeyFormatError(
      `${what}: expected ${KEY_TEXT_CHARS} base64url characters (32 bytes), got ${t.length}`);
  }
  if (!BASE64URL_RE.test(t)) {
    const bad = [...t].findIndex((c) => !/[A-Za-z0-9_-]/.test(c));
    throw new KeyFormatError(
      `${what}: invalid character ${JSON.stringify(t[bad])} at position ${bad + 1} ` +
      `(base64url allows A-Z a-z 0-9 - _, no padding)`);
  }
  const bytes = new Uint8Array(Buffer.from(t, 'base64url'));
  if (bytes.length !== 32 || encodeKey(bytes) !== t) {
    throw new KeyFormatError(`${what}: not a canonical base64url encoding of 32 bytes`);
  }
  return bytes;
}

/** Key pair from the 32-byte private seed. */
export function keyPairFromSeed(seed: Uint8Array): IdentityKeyPair {
  if (seed.length !== ED25519_SEED_BYTES) throw new RangeError('an Ed25519 seed has 32 bytes');
  const signing = signSeedKeypair(seed);
  const secretKey = edSecretToX25519(signing.secretKey);
  const publicKey = x25519Base(secretKey);
  return { id: encodeKey(publicKey), publicKey, secretKey, seed: new Uint8Array(seed), signing };
}

/**
 * A new identity. Uses `rng` when given (tests, simulator), else the OS generator through
 * libsodium (genkey, daemon start).
 */
export function generateKeyPair(rng?: Rng): IdentityKeyPair {
  const seed = new Uint8Array(ED25519_SEED_BYTES);
  if (rng) rng.fill(seed);
  else osRandomBytes(seed);
  return keyPairFromSeed(seed);
}

/** The key pair of a printable private key (`private-key` / `--private-key`). */
export function keyPairFromPrivate(text: string, what = 'private-key'): IdentityKeyPair {
  return keyPairFromSeed(decodeKey(text, what));
}

/** Bytes 31..0 of 2^255 - 19, little-endian: u must be below this. */
const FIELD_PRIME = (() => {
  const p = new Uint8Array(32).fill(0xff);
  p[0] = 0xed;
  p[31] = 0x7f;
  return p;
})();
/** Any clamped scalar: a public key whose product with it is all zero has low order. */
const PROBE_SCALAR = (() => {
  const k = new Uint8Array(32).fill(0x5a);
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
})();

/**
 * Is `key` the one canonical encoding of a usable X25519 public key? Bit 255 clear, u below
 * 2^255 - 19, and not a low-order point (which would make every DH result all zero).
 */
export function isCanonicalPublicKey(key: Uint8Array): boolean {
  if (key.length !== X25519_BYTES || key[31]! & 0x80) return false;
  for (let i = 31; i >= 0; i--) {
    if (key[i]! < FIELD_PRIME[i]!) break;
    if (key[i]! > FIELD_PRIME[i]! || i === 0) return false; // u >= p
  }
  return x25519(new Uint8Array(X25519_BYTES), PROBE_SCALAR, key);
}

/**
 * Validate a printable public key (`public-key`, `trusted-keys`) and return it as a PeerId.
 * Refuses keys that could never complete a handshake (low order) and non-canonical spellings
 * of a key, so a key has one id.
 */
export function parsePeerId(text: string, what = 'public-key'): PeerId {
  const bytes = decodeKey(text, what);
  if (!isCanonicalPublicKey(bytes)) {
    throw new KeyFormatError(`${what}: not a valid public key (an X25519 key as 'hacloud genkey' prints it)`);
  }
  return encodeKey(bytes);
}

/** Public key bytes of a PeerId (which must have come from parsePeerId or encodeKey). */
export function peerIdToPublicKey(id: PeerId): Uint8Array {
  return decodeKey(id, 'peer id');
}
