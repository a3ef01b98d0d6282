// The production Rng (see core/types.ts): the OS CSPRNG. The simulator injects a seeded one.
import { randomFillSync } from 'node:crypto';
import type { Rng } from '../core/types.js';

const POOL_WORDS = 256;

export function systemRng(): Rng {
  // next() is called for jitter on timers, not per packet; a small pool keeps it cheap.
  const pool = new Uint32Array(POOL_WORDS);
  let used = POOL_WORDS;
  return {
    fill(buf) {
      randomFillSync(buf);
    },
    next() {
      if (used === POOL_WORDS) {
        randomFillSync(pool);
        used = 0;
      }
      return pool[used++]! / 0x1_0000_0000;
    },
  };
}
