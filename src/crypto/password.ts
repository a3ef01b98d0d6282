// Password mode: every node that knows the network password is trusted.
//
// Derivation (fixed, so every hacloud node derives the same secrets from a password):
//   master = Argon2id(password as UTF-8 after Unicode NFC normalisation,
//                     salt = NETWORK_SALT, ops = 4, mem = 64 MiB, 32 bytes)
//   NETWORK_SALT = first 16 bytes of BLAKE2b-256("hacloud network salt v1")
//   psk            = crypto_kdf(master, id 1, context "hcnet-v1")   (32 bytes)
//   network seed   = crypto_kdf(master, id 2, context "hcnet-v1")   (32 bytes, Ed25519 seed)
// The salt is fixed rather than random because nodes must agree on it without talking;
// Argon2id's memory cost is what makes guessing expensive (~0.15 s and 64 MiB per guess on
// the reference machine). The psk is mixed into the first handshake message, so a node
// without the password cannot even get a reply. The network key pair is what
// `hacloud genkey --password X` prints (the VpnCloud idea of "the key pair a password maps
// to"); hacloud nodes still need distinct identities, because peers are keyed by identity.
//
// Nothing is cached: the caller derives once at start-up and keeps the result.
import { keyPairFromSeed, type IdentityKeyPair } from './keys.js';
import { KDF_CONTEXT_BYTES, PWHASH_SALT_BYTES, argon2id, blake2b, kdfDerive, wipe } from './sodium.js';

export const PWHASH_OPS_LIMIT = 4;
// 64 MiB (libsodium's "interactive" memory) and 4 passes: half the memory peak of 128 MiB at start-up for about the same guessing cost in time.
export const PWHASH_MEM_LIMIT_BYTES = 64 * 1024 * 1024;
export const NETWORK_SALT_LABEL = 'hacloud network salt v1';
const KDF_CONTEXT = 'hcnet-v1';
const PSK_SUBKEY_ID = 1;
const NETWORK_KEY_SUBKEY_ID = 2;

export const PSK_BYTES = 32;

/** First 16 bytes of BLAKE2b-256(NETWORK_SALT_LABEL). */
export function networkSalt(): Uint8Array {
  const digest = new Uint8Array(32);
  blake2b(digest, new TextEncoder().encode(NETWORK_SALT_LABEL));
  return digest.subarray(0, PWHASH_SALT_BYTES);
}

export interface NetworkSecrets {
  /** Pre-shared key mixed into every handshake (Noise psk0). */
  readonly psk: Uint8Array;
  /** The key pair the password maps to (printed by `genkey --password`). */
  readonly networkKeyPair: IdentityKeyPair;
}

/** Derive the network secrets of a password. Takes ~0.2 s of CPU: call once. */
export function deriveNetworkSecrets(password: string): NetworkSecrets {
  if (password.length === 0) throw new Error('password: must not be empty');
  const master = new Uint8Array(32);
  argon2id(master, new TextEncoder().encode(password.normalize('NFC')), networkSalt(),
    PWHASH_OPS_LIMIT, PWHASH_MEM_LIMIT_BYTES);
  const context = new TextEncoder().encode(KDF_CONTEXT);
  if (context.length !== KDF_CONTEXT_BYTES) throw new Error('kdf context must have 8 bytes');
  const psk = new Uint8Array(PSK_BYTES);
  kdfDerive(psk, PSK_SUBKEY_ID, context, master);
  const seed = new Uint8Array(32);
  kdfDerive(seed, NETWORK_KEY_SUBKEY_ID, context, master);
  const networkKeyPair = keyPairFromSeed(seed);
  wipe(master);
  wipe(seed);
  return { psk, networkKeyPair };
}
