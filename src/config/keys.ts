// The one check on keys the config can do itself: does a given public key belong to the
// private key? A private key is an Ed25519 seed; node:crypto derives its public key the
// same way libsodium's crypto_sign_seed_keypair does. Everything else is the crypto module's.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Buffer } from 'node:buffer';

/** PKCS#8 DER header for a raw 32-byte Ed25519 seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Public key (base64url, 43 chars) of an Ed25519 private key seed given as base64url. */
export function publicKeyOf(privateKey: string): string {
  const seed = Buffer.from(privateKey, 'base64url');
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return jwk.x!;
}
