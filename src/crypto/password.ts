// Password mode: every node that knows the network password (and the network name) is
// trusted.
//
// Derivation (fixed, so every node of one network derives the same psk from the password):
//   salt   = first 16 bytes of BLAKE2b-256(NETWORK_SALT_LABEL | network name as UTF-8, NFC)
//   master = Argon2id(password as UTF-8 after NFC normalisation, salt, ops 4, mem 64 MiB, 32 bytes)
//   psk    = crypto_kdf(master, id 1, context "hcnet-v2")                     (32 bytes)
// Nodes must agree on the salt without talking, so it cannot be random; putting the network
// name in it means one precomputed dictionary no longer fits every hacloud network. Argon2id's
// cost (~0.15 s and 64 MiB per guess on the reference machine) is what makes guessing slow.
//
// Inherent to any psk handshake: whoever captures one message 1 can test passwords against it
// offline at that cost, so a password must be strong (password-strength.ts warns), and key mode
// is the better choice for anything exposed. The password only admits a node to the network;
// each node still has its own identity key (an identity file, daemon/identity-file.ts), so
// peers can tell nodes apart and pin them.
//
// Nothing is cached: the caller derives once at start-up and keeps the result.
import { KDF_CONTEXT_BYTES, PWHASH_SALT_BYTES, argon2id, blake2b, kdfDerive, wipe } from './sodium.js';

export const PWHASH_OPS_LIMIT = 4;
// 64 MiB (libsodium's "interactive" memory) and 4 passes: half the memory peak of 128 MiB at start-up for about the same guessing cost in time.
export const PWHASH_MEM_LIMIT_BYTES = 64 * 1024 * 1024;
export const NETWORK_SALT_LABEL = 'hacloud network salt v2:';
/** The network name when none is configured. */
export const DEFAULT_NETWORK = 'hacloud';
const KDF_CONTEXT = 'hcnet-v2';
const PSK_SUBKEY_ID = 1;

export const PSK_BYTES = 32;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s.normalize('NFC'));

/** The Argon2id salt of a network: first 16 bytes of BLAKE2b-256(label | name). */
export function networkSalt(network: string): Uint8Array {
  const digest = new Uint8Array(32);
  blake2b(digest, utf8(NETWORK_SALT_LABEL + network));
  return digest.slice(0, PWHASH_SALT_BYTES);
}

export interface NetworkSecrets {
  /** Pre-shared key of the handshake (Noise psk0) and key material of mac1 (macs.ts). */
  readonly psk: Uint8Array;
}

/** Derive the secrets of a network's password. Takes ~0.2 s of CPU: call once. */
export function deriveNetworkSecrets(password: string, network = DEFAULT_NETWORK): NetworkSecrets {
  if (password.length === 0) throw new Error('password: must not be empty');
  if (network.length === 0) throw new Error('network: must not be empty');
  const master = new Uint8Array(32);
  argon2id(master, utf8(password), networkSalt(network), PWHASH_OPS_LIMIT, PWHASH_MEM_LIMIT_BYTES);
  const context = new TextEncoder().encode(KDF_CONTEXT);
  if (context.length !== KDF_CONTEXT_BYTES) throw new Error('kdf context must have 8 bytes');
  const psk = new Uint8Array(PSK_BYTES);
  kdfDerive(psk, PSK_SUBKEY_ID, context, master);
  wipe(master);
  return { psk };
}
