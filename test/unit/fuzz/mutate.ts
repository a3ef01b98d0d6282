// Seeded byte mutations for the fuzz tests: the classic set (bit flips, interesting values,
// insertions, deletions, truncation, extension, splicing with another corpus entry) plus
// "keep a real header, garbage after it", which gets past the first length and index checks
// into the deeper paths. Knows nothing about hacloud's formats: the corpus comes from the
// real encoders, so the mutations follow the format when it changes.
import type { SeededRng } from '../crypto-harness.js';

const BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const U16S = [0x0000, 0x0001, 0x7fff, 0x8000, 0xfffe, 0xffff];
const U32S = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

export class ByteMutator {
  constructor(readonly rng: SeededRng, readonly corpus: readonly Uint8Array[]) {}

  int(n: number): number {
    return this.rng.int(n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)]!;
  }

  random(n: number): Uint8Array {
    const words = new Uint32Array((n + 3) >> 2); // a word at a time: random bytes are most of the cost
    for (let i = 0; i < words.length; i++) words[i] = this.rng.u32();
    return new Uint8Array(words.buffer, 0, n);
  }

  /** 1..4 random operations on a copy of `src`. */
  mutate(src: Uint8Array, ops = 1 + this.rng.int(4)): Uint8Array {
    let d: Uint8Array = src.slice();
    for (let i = 0; i < ops; i++) d = this.op(d);
    return d;
  }

  /** A length-ish value: around the buffer size or one of the boundary values. */
  private interesting(d: Uint8Array, at: number, pool: readonly number[], mask: number): number {
    switch (this.rng.int(4)) {
      case 0: return (d.length + this.rng.int(3) - 1) & mask; // length ± 1
      case 1: return (d.length - at + this.rng.int(3) - 1) & mask; // bytes left ± 1
      default: return this.pick(pool);
    }
  }

  private writeInt(d: Uint8Array, at: number, v: number, bytes: number): void {
    const bigEndian = this.rng.int(2) === 0;
    for (let k = 0; k < bytes; k++) d[at + (bigEndian ? bytes - 1 - k : k)] = (v >>> (8 * k)) & 0xff;
  }

  op(d: Uint8Array): Uint8Array {
    const rng = this.rng;
    const n = d.length;
    switch (rng.int(14)) {
      case 0: // flip a bit
        if (n) d[rng.int(n)]! ^= 1 << rng.int(8);
        return d;
      case 1: { // an interesting byte
        if (!n) return d;
        const at = rng.int(n);
        d[at] = this.interesting(d, at, BYTES, 0xff);
        return d;
      }
      case 2: // a random byte
        if (n) d[rng.int(n)] = rng.int(256);
        return d;
      case 3: { // an interesting u16 or u32, either byte order (length fields, indices, counters)
        const bytes = rng.int(2) ? 2 : 4;
        if (n < bytes) return d;
        const at = rng.int(n - bytes + 1);
        this.writeInt(d, at, this.interesting(d, at, bytes === 2 ? U16S : U32S, bytes === 2 ? 0xffff : 0xffff_ffff), bytes);
        return d;
      }
      case 4: { // insert bytes
        const at = rng.int(n + 1);
        const ins = rng.int(2) ? this.random(1 + rng.int(16)) : new Uint8Array(1 + rng.int(8)).fill(this.pick(BYTES));
        return concat(d.subarray(0, at), ins, d.subarray(at));
      }
      case 5: { // delete a range
        if (!n) return d;
        const at = rng.int(n);
        return concat(d.subarray(0, at), d.subarray(Math.min(n, at + 1 + rng.int(16))));
      }
      case 6: // truncate
        return d.slice(0, rng.int(n + 1));
      case 7: // extend with random bytes or zeros
        return concat(d, rng.int(2) ? this.random(1 + rng.int(64)) : new Uint8Array(1 + rng.int(64)));
      case 8: { // copy a chunk of itself elsewhere
        if (n < 2) return d;
        const from = rng.int(n);
        const len = 1 + rng.int(Math.min(16, n - from));
        d.copyWithin(rng.int(n - len + 1), from, from + len);
        return d;
      }
      case 9: { // splice: our head, another entry's tail
        const o = this.pick(this.corpus);
        return concat(d.subarray(0, rng.int(n + 1)), o.subarray(rng.int(o.length + 1)));
      }
      case 10: { // splice at the same offset: headers line up, bodies swap
        const o = this.pick(this.corpus);
        const cut = rng.int(Math.min(n, o.length) + 1);
        return concat(d.subarray(0, cut), o.subarray(cut));
      }
      case 11: { // keep a real header, garbage after it
        const keep = Math.min(n, 1 + rng.int(48));
        return concat(d.subarray(0, keep), this.random(rng.int(Math.max(n - keep, 0) * 2 + 2)));
      }
      case 12: { // overwrite a chunk with random bytes, length unchanged
        if (!n) return d;
        const at = rng.int(n);
        d.set(this.random(Math.min(n - at, 1 + rng.int(32))), at);
        return d;
      }
      default: // repeat the last byte (long runs of one value)
        return n ? concat(d, new Uint8Array(1 + rng.int(32)).fill(d[n - 1]!)) : d;
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
