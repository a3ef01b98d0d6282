// The one module that loads sodium-native (CommonJS, no bundled types). Everything else in
// hacloud reaches libsodium through the typed wrappers below, so the set of primitives we
// depend on is visible in one place.
//
// Failure convention: functions that verify something (AEAD open, Ed25519 -> X25519 of a
// peer key, X25519 with a peer's public key) return false/-1 instead of throwing, so the
// packet path can count a drop without paying for an exception. Size mistakes are our own
// bugs and still throw.
import { createRequire } from 'node:module';

interface SodiumApi {
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_SEEDBYTES: number;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_SALTBYTES: number;
  crypto_kdf_CONTEXTBYTES: number;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_ed25519_pk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean;
  crypto_box_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
  crypto_generichash_batch(out: Uint8Array, inputs: Uint8Array[], key?: Uint8Array): void;
  crypto_kdf_derive_from_key(sub: Uint8Array, id: number, ctx: Uint8Array, key: Uint8Array): void;
  crypto_pwhash(
    out: Uint8Array, pw: Uint8Array, salt: Uint8Array, ops: number, mem: number, alg: number,
  ): void;
  randombytes_buf(buf: Uint8Array): void;
  sodium_memzero(buf: Uint8Array): void;
}

/**
 * The raw N-API functions behind sodium-native's JS wrappers. The wrappers throw on a failed
 * tag, and an exception costs ~10 us against ~2 us for the failed open itself (measured),
 * which matters when someone floods us with forged packets for a live session. So the
 * per-packet AEAD calls the binding directly and reads the status. The binding aborts the
 * process on a size mismatch (C assert), so callers check sizes first (aead.ts and
 * handshake.ts only pass views whose sizes they computed).
 */
interface SodiumBinding {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | undefined,
    npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt_detached(
    m: Uint8Array, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | undefined,
    npub: Uint8Array, k: Uint8Array,
  ): number;
}

const require = createRequire(import.meta.url);
const sodium = require('sodium-native') as SodiumApi;
const binding = require('sodium-native/binding.js') as SodiumBinding;

export const ED25519_PUBLIC_BYTES = 32;
export const ED25519_SECRET_BYTES = 64;
export const ED25519_SEED_BYTES = 32;
export const X25519_BYTES = 32;
export const CHACHA_NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const PWHASH_SALT_BYTES: number = sodium.crypto_pwhash_SALTBYTES;
export const KDF_CONTEXT_BYTES: number = sodium.crypto_kdf_CONTEXTBYTES;

/** Ed25519 key pair from a 32-byte seed. */
export function signSeedKeypair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = new Uint8Array(ED25519_PUBLIC_BYTES);
  const secretKey = new Uint8Array(ED25519_SECRET_BYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}

/** X25519 public key of an Ed25519 public key; null if it is not a valid curve point. */
export function edPublicToX25519(edPublic: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(X25519_BYTES);
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, edPublic);
  } catch {
    return null;
  }
  return out;
}

export const ED25519_SIGNATURE_BYTES = 64;

/** Ed25519 signature of `message` with a 64-byte libsodium secret key. */
export function edSign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const sig = new Uint8Array(ED25519_SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, message, secretKey);
  return sig;
}

/** Does `signature` (64 bytes) sign `message` under `publicKey` (32)? False on any bad input. */
export function edVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** X25519 secret scalar of an Ed25519 secret key (64 bytes). */
export function edSecretToX25519(edSecret: Uint8Array): Uint8Array {
  const out = new Uint8Array(X25519_BYTES);
  sodium.crypto_sign_ed25519_sk_to_curve25519(out, edSecret);
  return out;
}

/** X25519 key pair from 32 random bytes (hashed by libsodium, so any bytes are fine). */
export function x25519SeedKeypair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = new Uint8Array(X25519_BYTES);
  const secretKey = new Uint8Array(X25519_BYTES);
  sodium.crypto_box_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}

/** X25519 public key of a 32-byte private key (clamped by libsodium, as X25519 specifies). */
export function x25519Base(secret: Uint8Array): Uint8Array {
  const out = new Uint8Array(X25519_BYTES);
  sodium.crypto_scalarmult_base(out, secret);
  return out;
}

/**
 * X25519(secret, public) into `out`; false when libsodium refuses (a low-order public key
 * gives an all-zero secret, which must never become key material).
 */
export function x25519(out: Uint8Array, secret: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    sodium.crypto_scalarmult(out, secret, publicKey);
    return true;
  } catch {
    return false;
  }
}

/** BLAKE2b with the output length of `out` (16..64), optionally keyed (16..64 bytes). */
export function blake2b(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void {
  sodium.crypto_generichash(out, input, key);
}

/** BLAKE2b over the concatenation of `inputs` without copying them together. */
export function blake2bParts(out: Uint8Array, inputs: Uint8Array[], key?: Uint8Array): void {
  sodium.crypto_generichash_batch(out, inputs, key);
}

/** libsodium crypto_kdf: subkey number `id` of `key` in an 8-byte context. */
export function kdfDerive(out: Uint8Array, id: number, context: Uint8Array, key: Uint8Array): void {
  sodium.crypto_kdf_derive_from_key(out, id, context, key);
}

/** Argon2id (libsodium crypto_pwhash, algorithm ARGON2ID13). */
export function argon2id(
  out: Uint8Array, password: Uint8Array, salt: Uint8Array, opsLimit: number, memLimitBytes: number,
): void {
  sodium.crypto_pwhash(out, password, salt, opsLimit, memLimitBytes, sodium.crypto_pwhash_ALG_ARGON2ID13);
}

export const XCHACHA_NONCE_BYTES = 24;

/** XChaCha20-Poly1305-IETF seal: `out` gets ciphertext and tag (m.length + 16 bytes). */
export function xchachaSeal(out: Uint8Array, m: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): void {
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out, m, ad, null, nonce, key);
}

/** XChaCha20-Poly1305-IETF open into `out` (c.length - 16 bytes); false if forged. */
export function xchachaOpen(out: Uint8Array, c: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean {
  if (c.length < TAG_BYTES || out.length !== c.length - TAG_BYTES) return false;
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, c, ad, nonce, key);
    return true;
  } catch {
    return false;
  }
}

/** OS randomness. Only for key generation outside the sans-IO core (genkey, daemon start). */
export function osRandomBytes(buf: Uint8Array): void {
  sodium.randombytes_buf(buf);
}

/** Overwrite secret material we no longer need. */
export function wipe(buf: Uint8Array): void {
  sodium.sodium_memzero(buf);
}

/**
 * ChaCha20-Poly1305-IETF seal, detached tag. `c` and `m` must have the same length and may
 * be the same memory (libsodium supports in-place); `mac` 16 bytes, `nonce` 12, `key` 32.
 */
export function chachaSealDetached(
  c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array,
): void {
  binding.crypto_aead_chacha20poly1305_ietf_encrypt_detached(c, mac, m, ad, nonce, key);
}

/** ChaCha20-Poly1305-IETF open, detached tag; false if the tag does not verify. */
export function chachaOpenDetached(
  m: Uint8Array, c: Uint8Array, mac: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array,
): boolean {
  return binding.crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, c, mac, ad, nonce, key) === 0;
}
