// Node identities: Ed25519 key pairs, their printable form, and their X25519 form for the
// handshake.
//
// Printable form (private and public keys alike): the 32 key bytes in base64url (RFC 4648
// section 5, alphabet A-Z a-z 0-9 '-' '_') WITHOUT padding, so always 43 characters. The
// private key is the 32-byte Ed25519 seed; the public key is the 32-byte Ed25519 public key
// and is also the node's PeerId. Only the canonical spelling is accepted (the unused low
// bits of the last character must be zero), so one key has exactly one text.
import type { PeerId, Rng } from '../core/types.js';
import {
  ED25519_SEED_BYTES, edPublicToX25519, edSecretToX25519, osRandomBytes,
  signSeedKeypair,
} from './sodium.js';

export const KEY_TEXT_CHARS = 43;

export interface IdentityKeyPair {
  /** The node id: base64url of `publicKey`. */
  readonly id: PeerId;
  /** Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Ed25519 secret key in libsodium's 64-byte form (seed followed by public key). */
  readonly secretKey: Uint8Array;
  /** The 32-byte seed: what `private-key` holds. */
  readonly seed: Uint8Array;
  /** X25519 form of the pair, used for the Diffie-Hellman steps of the handshake. */
  readonly x25519Public: Uint8Array;
  readonly x25519Secret: Uint8Array;
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
  const { publicKey, secretKey } = signSeedKeypair(seed);
  const x25519Public = edPublicToX25519(publicKey);
  if (!x25519Public) throw new Error('Ed25519 public key has no X25519 form'); // cannot happen for a derived key
  return {
    id: encodeKey(publicKey),
    publicKey,
    secretKey,
    seed: new Uint8Array(seed),
    x25519Public,
    x25519Secret: edSecretToX25519(secretKey),
  };
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

/**
 * Validate a printable public key (`public-key`, `trusted-keys`) and return it as a PeerId.
 * Rejects strings that are not a point on the curve, since such a key could never complete
 * a handshake.
 */
export function parsePeerId(text: string, what = 'public-key'): PeerId {
  const bytes = decodeKey(text, what);
  if (!edPublicToX25519(bytes)) throw new KeyFormatError(`${what}: not a valid Ed25519 public key`);
  return encodeKey(bytes);
}

/** Public key bytes of a PeerId (which must have come from parsePeerId or encodeKey). */
export function peerIdToPublicKey(id: PeerId): Uint8Array {
  return decodeKey(id, 'peer id');
}
