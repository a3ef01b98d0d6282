// The token bucket's promise to a caller that schedules a retry: when take() fails, nextAt()
// lies in the future, even a fraction of a token short at clock values where the wait is
// smaller than one float step (simulated nodes run on clocks around 3e8 ms).
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { SimRng } from '../sim/rng.js';

describe('TokenBucket', () => {
  it('refills at its rate up to the burst', () => {
    const b = new TokenBucket(10, 2);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(true);
    expect(b.take(0)).toBe(false);
    expect(b.nextAt(0)).toBe(100);
    expect(b.take(100)).toBe(true);
    expect(b.available(10_000)).toBe(2);
  });

  it('when take() fails, nextAt() is later than now, also a hair short of a token at a large clock', () => {
    // Found by the simulator (1000 nodes): a gossip target's first contact was refused and its
    // retry scheduled at exactly `now`, so the node's timer never stopped firing.
    const rng = new SimRng(7);
    let refusals = 0;
    for (let run = 0; run < 50; run++) {
      const b = new TokenBucket(10, 20);
      let now = 348_836_200.56336296 + rng.next() * 1e6;
      for (let i = 0; i < 2_000; i++) {
        // a few targets want a first contact at this moment
        let refused = false;
        for (let k = 1 + rng.int(5); k > 0; k--) if (!b.take(now)) refused = true;
        const at = b.nextAt(now);
        if (refused) {
          refusals++;
          expect(at).toBeGreaterThan(now);
        }
        now = at > now ? at : now + rng.next() * 30; // retry exactly when told, as membership.ts does
      }
    }
    expect(refusals).toBeGreaterThan(10_000);
  });
});
