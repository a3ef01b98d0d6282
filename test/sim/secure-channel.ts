// Runs the simulator over the real SecureChannel (Noise handshake, AEAD, replay window): the
// channel factory the harness plugs in instead of SimChannel. Identities are derived from the
// harness's identity string, so key mode keeps a node's key across restarts and password mode
// gets a fresh one per start, exactly like the daemon.
import { SecureChannel } from '../../src/crypto/channel.js';
import { keyPairFromSeed, type IdentityKeyPair } from '../../src/crypto/keys.js';
import type { ChannelFactory } from './harness.js';
import { SimRng } from './rng.js';

/** FNV-1a, to turn an identity string into a PRNG seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** All nodes share `psk` (what the password derives; Argon2 is skipped to keep runs fast). */
export function secureChannel(psk: Uint8Array): ChannelFactory {
  const keys = new Map<string, IdentityKeyPair>();
  return (ctx) => {
    let identity = keys.get(ctx.identity);
    if (!identity) {
      const seed = new Uint8Array(32);
      new SimRng(hash32(ctx.identity)).fill(seed);
      identity = keyPairFromSeed(seed);
      keys.set(ctx.identity, identity);
    }
    return new SecureChannel({ identity, psk, rng: ctx.rng, sink: ctx.sink, wallClock: ctx.wallClock });
  };
}
