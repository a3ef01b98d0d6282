// The fake channels' peer keys: a simulator id is a short name, its "key" the name's ASCII
// bytes zero-padded to 32 (what relay headers carry). Shared by test/sim and test/unit fakes.
import type { PeerId } from '../../src/core/types.js';

export function nameKey(peer: PeerId): Uint8Array | null {
  const b = new TextEncoder().encode(peer);
  if (b.length === 0 || b.length > 32) return null;
  const key = new Uint8Array(32);
  key.set(b);
  return key;
}

/** The name a key stands for; null for a key no name makes (wrong length, not printable ASCII). */
export function nameFromKey(key: Uint8Array): PeerId | null {
  let n = key.length;
  while (n > 0 && key[n - 1] === 0) n--;
  if (n === 0 || key.length !== 32) return null;
  for (let i = 0; i < n; i++) if (key[i]! < 0x21 || key[i]! > 0x7e) return null;
  return new TextDecoder().decode(key.subarray(0, n));
}
