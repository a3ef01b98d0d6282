// A stand-in for Ed25519 node-record signatures in the simulator and the engine's unit tests:
// the "public key" is a hash of the id and the "signature" a keyed hash of the body under it.
// It binds a record to its id and detects any change of the bytes, but anyone could compute
// it: real signatures (crypto/record-auth.ts) are tested in the unit tests and run in the
// simulator over the secure channel; this one lets a thousand nodes check records for free.
import type { RecordAuth } from '../../src/core/record-auth.js';
import type { PeerId } from '../../src/core/types.js';
import { blake2b } from '../../src/crypto/sodium.js';

function keyOf(id: PeerId): Uint8Array {
  const key = new Uint8Array(32);
  blake2b(key, new TextEncoder().encode(`sim record key ${id}`));
  return key;
}

function mac(key: Uint8Array, body: Uint8Array): Uint8Array {
  const sig = new Uint8Array(64);
  blake2b(sig, body, key);
  return sig;
}

/** The stand-in for node `id` (or for the id `id()` returns once it is known). */
export function simRecordAuth(id: PeerId | (() => PeerId)): RecordAuth {
  let cached: Uint8Array | null = null;
  const own = (): Uint8Array => (cached ??= keyOf(typeof id === 'string' ? id : id()));
  return {
    get publicKey() {
      return own();
    },
    sign: (body) => mac(own(), body),
    verify: (peer, publicKey, body, signature) => {
      const k = keyOf(peer);
      if (publicKey.length !== 32 || k.some((b, i) => b !== publicKey[i])) return false;
      const want = mac(k, body);
      return signature.length === 64 && want.every((b, i) => b === signature[i]);
    },
  };
}
