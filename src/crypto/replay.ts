// Sliding-window replay filter for one receive key (the WireGuard / RFC 6479 bitmap).
//
// A ring of RING_BLOCKS 32-bit words holds one bit per counter. The newest counter seen is
// `last`; a counter is fresh if it is newer than `last`, or within WINDOW of it and its bit
// is clear. Moving forward clears the words that scroll into view, so the cost of a jump is
// bounded by the ring size, not by the distance.
//
// Counters are JS numbers: the wire carries 64 bits, but hacloud caps counters at
// MAX_COUNTER = 2^53 - 1 (exact in a double) and the channel rekeys after far fewer
// packets, so no bigint is needed on the hot path.
import { MAX_COUNTER } from '../wire/header.js';

const BLOCK_BITS = 32;
const RING_BLOCKS = 128; // power of two
/** Packets older than `last - WINDOW` are rejected; 4064 >= the 2048 the design requires. */
export const REPLAY_WINDOW = (RING_BLOCKS - 1) * BLOCK_BITS;

export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_BLOCKS);
  private last = 0;
  private empty = true;

  /** Would `counter` be accepted? Does not record it (call before the expensive decrypt). */
  check(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_COUNTER)) return false;
    if (this.empty || counter > this.last) return true;
    if (this.last - counter > REPLAY_WINDOW) return false;
    const block = Math.floor(counter / BLOCK_BITS) % RING_BLOCKS;
    const bit = 1 << (counter % BLOCK_BITS);
    return (this.ring[block] & bit) === 0;
  }

  /** Record `counter` after its packet authenticated; false if it was not fresh after all. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    const blockIndex = Math.floor(counter / BLOCK_BITS);
    if (this.empty) {
      this.empty = false;
      this.last = counter;
      this.ring.fill(0);
    } else if (counter > this.last) {
      const current = Math.floor(this.last / BLOCK_BITS);
      const steps = Math.min(blockIndex - current, RING_BLOCKS);
      for (let i = 1; i <= steps; i++) this.ring[(current + i) % RING_BLOCKS] = 0;
      this.last = counter;
    }
    this.ring[blockIndex % RING_BLOCKS] |= 1 << (counter % BLOCK_BITS);
    return true;
  }
}
