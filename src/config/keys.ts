// The one check on keys the config can do itself: does a given public key belong to the
// private key? A private key is an Ed25519 seed; the public key (the node id) is its X25519
// form: the X25519 private key is the first half of SHA-512(seed) (clamped by X25519 itself),
// exactly what libsodium's crypto_sign_ed25519_sk_to_curve25519 computes. Everything else is
// the crypto module's.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { Buffer } from 'node:buffer';

/** PKCS#8 DER header for a raw 32-byte X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Public key (base64url, 43 chars) of an Ed25519 private key seed given as base64url. */
export function publicKeyOf(privateKey: string): string {
  const seed = Buffer.from(privateKey, 'base64url');
  const scalar = createHash('sha512').update(seed).digest().subarray(0, 32);
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'jwk' }).x!;
}
