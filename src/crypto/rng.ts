// The production Rng (src/core/types.ts): the OS generator through libsodium. The core and
// the channel only ever see the Rng interface, so tests and the simulator inject a seeded
// one instead.
import type { Rng } from '../core/types.js';
import { osRandomBytes } from './sodium.js';

export function systemRng(): Rng {
  const word = new Uint32Array(1);
  const wordBytes = new Uint8Array(word.buffer);
  return {
    fill: (buf) => osRandomBytes(buf),
    next: () => {
      osRandomBytes(wordBytes);
      return word[0]! / 0x1_0000_0000;
    },
  };
}
