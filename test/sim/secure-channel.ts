// Runs the simulator over the real SecureChannel (Noise handshake, AEAD, replay window): the
// channel factory the harness plugs in instead of SimChannel. Identities are derived from the
// harness's identity string, so key mode keeps a node's key across restarts and password mode
// gets a fresh one per start, exactly like the daemon.
import { SecureChannel } from '../../src/crypto/channel.js';
import { keyPairFromSeed, type IdentityKeyPair } from '../../src/crypto/keys.js';
import { identityRecordAuth } from '../../src/crypto/record-auth.js';
import type { ChannelFactory } from './harness.js';
import { SimRng } from './rng.js';

/** FNV-1a, to turn an identity string into a PRNG seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const keys = new Map<string, IdentityKeyPair>();

/** The key pair of a harness identity string (the same on every call). */
function keyPairOf(name: string): IdentityKeyPair {
  let identity = keys.get(name);
  if (!identity) {
    const seed = new Uint8Array(32);
    new SimRng(hash32(name)).fill(seed);
    identity = keyPairFromSeed(seed);
    keys.set(name, identity);
  }
  return identity;
}

/**
 * All nodes share `psk` (what the password derives; Argon2 is skipped to keep runs fast).
 * Node records are signed with the identities' real Ed25519 keys.
 */
export function secureChannel(psk: Uint8Array): ChannelFactory {
  const factory: ChannelFactory = (ctx) =>
    new SecureChannel({ identity: keyPairOf(ctx.identity), psk, rng: ctx.rng, sink: ctx.sink, wallClock: ctx.wallClock });
  factory.recordAuth = (identity) => identityRecordAuth(keyPairOf(identity));
  return factory;
}
