// Signing and checking node records (wire/record.ts) without the core knowing the algorithm.
// The daemon gives the engine the Ed25519 key of its identity (crypto/record-auth.ts); the
// simulator a cheap stand-in, so that a thousand simulated nodes do not spend their time in
// signature checks.
import type { PeerId } from './types.js';

export interface RecordAuth {
  /** Our public key as it goes into our records. */
  readonly publicKey: Uint8Array;
  /** Sign our own record body. */
  sign(body: Uint8Array): Uint8Array;
  /** Does `signature` sign `body` under `publicKey`, and is `publicKey` the key of `id`? Never throws. */
  verify(id: PeerId, publicKey: Uint8Array, body: Uint8Array, signature: Uint8Array): boolean;
}
