// AES-256-GCM and ChaCha20-Poly1305 through the OpenSSL inside the node binary, via the hacloud
// addon (native/aead.c): the key is set once per session direction and each packet only sets
// its nonce, so sealing 1400 bytes costs ~0.8 us (AES-GCM) instead of ~5 us with a node:crypto
// Cipher object per packet (bench/dataplane-aead.ts). aead.ts falls back to node:crypto and
// libsodium when the addon is not built.
import { loadNative, type NativeAeadHandle } from '../native/addon.js';

/** Wire ids (handshake.ts / aead.ts): the addon uses the same numbers. */
export type NativeAeadAlgorithm = 1 | 2;

let available: boolean | undefined;

/** Whether the addon is built and has the AEAD (older builds do not). */
export function nativeAeadAvailable(): boolean {
  if (available === undefined) {
    try {
      available = typeof loadNative().NativeAead === 'function';
    } catch {
      available = false;
    }
  }
  return available;
}

/** A keyed OpenSSL AEAD context pair; throws if the addon is missing (check availability first). */
export function createNativeAead(algorithm: NativeAeadAlgorithm, key: Uint8Array): NativeAeadHandle {
  const Ctor = loadNative().NativeAead;
  if (!Ctor) throw new Error('hacloud native addon has no AEAD: rebuild it with `npm run install`');
  return new Ctor(algorithm, key);
}
