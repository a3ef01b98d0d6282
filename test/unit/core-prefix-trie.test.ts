// The trie against an obviously correct linear scan (wireguard-go allowedips_rand_test style):
// thousands of seeded random prefixes, lookups, overwrites and deletions, both families.
import { describe, expect, it } from 'vitest';
import { PrefixTrie } from '../../src/core/prefix-trie.js';
import { formatPrefix, maskBytes, parsePrefix, prefixContains, type Family, type Prefix } from '../../src/wire/addr.js';
import { SimRng } from '../sim/rng.js';

class NaiveTable {
  readonly entries = new Map<string, { prefix: Prefix; value: number }>();

  set(prefix: Prefix, value: number): void {
    this.entries.set(formatPrefix(prefix), { prefix, value });
  }

  delete(prefix: Prefix): boolean {
    return this.entries.delete(formatPrefix(prefix));
  }

  lookup(addr: Uint8Array): number | undefined {
    let best: { prefix: Prefix; value: number } | undefined;
    for (const e of this.entries.values()) {
      if (prefixContains(e.prefix, addr) && (!best || e.prefix.len > best.prefix.len)) best = e;
    }
    return best?.value;
  }
}

/** Random prefixes clustered under a few roots so that they nest and share branches. */
function randomPrefix(rng: SimRng, family: Family, roots: Uint8Array[]): Prefix {
  const bytes = rng.pick(roots).slice();
  const max = family === 4 ? 32 : 128;
  for (let i = 2; i < bytes.length; i++) if (rng.chance(0.5)) bytes[i] = rng.int(256);
  const len = rng.chance(0.3) ? max : rng.int(max + 1);
  return { family, bytes: maskBytes(bytes, len), len };
}

function randomAddress(rng: SimRng, roots: Uint8Array[], near: Prefix[]): Uint8Array {
  if (near.length > 0 && rng.chance(0.5)) {
    const p = rng.pick(near);
    const out = p.bytes.slice();
    for (let bit = p.len; bit < out.length * 8; bit++) if (rng.chance(0.5)) out[bit >> 3] = out[bit >> 3]! | (0x80 >> (bit & 7));
    return out;
  }
  const out = rng.pick(roots).slice();
  for (let i = 1; i < out.length; i++) if (rng.chance(0.7)) out[i] = rng.int(256);
  return out;
}

describe('PrefixTrie', () => {
  it('finds the longest matching prefix', () => {
    const t = new PrefixTrie<string>();
    t.set(parsePrefix('10.0.0.0/8'), 'eight');
    t.set(parsePrefix('10.0.0.0/31'), 'thirty-one');
    t.set(parsePrefix('10.0.0.1'), 'host');
    t.set(parsePrefix('0.0.0.0/0'), 'default');
    t.set(parsePrefix('fd00::/8'), 'v6');
    const at = (a: string): string | undefined => t.lookup(parsePrefix(a).bytes);
    expect(at('10.0.0.1')).toBe('host');
    expect(at('10.0.0.0')).toBe('thirty-one');
    expect(at('10.9.9.9')).toBe('eight');
    expect(at('192.168.1.1')).toBe('default');
    expect(at('fd12::1')).toBe('v6');
    expect(at('fe80::1')).toBeUndefined();
    expect(t.size).toBe(5);
    expect(t.delete(parsePrefix('10.0.0.1'))).toBe(true);
    expect(t.delete(parsePrefix('10.0.0.1'))).toBe(false);
    expect(at('10.0.0.1')).toBe('thirty-one');
    expect([...t.entries()].map(([p, v]) => `${formatPrefix(p)}=${v}`)).toEqual([
      '0.0.0.0/0=default',
      '10.0.0.0/8=eight',
      '10.0.0.0/31=thirty-one',
      'fd00::/8=v6',
    ]);
  });

  for (const family of [4, 6] as const) {
    it(`agrees with a linear scan on random IPv${family} inserts, deletes and lookups`, () => {
      const rng = new SimRng(family * 1000 + 1);
      const rootCount = 6;
      const roots = Array.from({ length: rootCount }, () => {
        const b = new Uint8Array(family === 4 ? 4 : 16);
        rng.fill(b);
        return b;
      });
      const trie = new PrefixTrie<number>();
      const naive = new NaiveTable();
      const inserted: Prefix[] = [];
      for (let round = 0; round < 4_000; round++) {
        const p = randomPrefix(rng, family, roots);
        trie.set(p, round);
        naive.set(p, round);
        inserted.push(p);
        if (rng.chance(0.25)) {
          const victim = rng.pick(inserted);
          expect(trie.delete(victim)).toBe(naive.delete(victim));
        }
        if (round % 100 === 0) expect(trie.countNodes()).toBeLessThan(2 * trie.size + 2);
        if (round % 4 === 0) {
          const addr = randomAddress(rng, roots, inserted);
          expect(trie.lookup(addr), `lookup after ${round} rounds`).toBe(naive.lookup(addr));
        }
      }
      for (let i = 0; i < 5_000; i++) {
        const addr = randomAddress(rng, roots, inserted);
        expect(trie.lookup(addr)).toBe(naive.lookup(addr));
      }
      expect(trie.size).toBe(naive.entries.size);
      for (const p of inserted) {
        expect(trie.get(p)).toBe(naive.entries.get(formatPrefix(p))?.value);
      }
      // empty it completely: lookups then find nothing and no glue nodes remain
      for (const p of inserted) trie.delete(p);
      expect(trie.size).toBe(0);
      expect(trie.countNodes()).toBe(0);
      expect([...trie.entries()]).toEqual([]);
      expect(trie.lookup(roots[0]!)).toBeUndefined();
    });
  }

  it('handles 10 000 claims (the scale the issue asks for) and keeps answering correctly', () => {
    const rng = new SimRng(99);
    const trie = new PrefixTrie<number>();
    const naive = new NaiveTable();
    for (let i = 0; i < 10_000; i++) {
      const b = Uint8Array.from([10, rng.int(256), rng.int(256), rng.int(256)]);
      const len = rng.pick([16, 24, 28, 31, 32, 32, 32]);
      const p: Prefix = { family: 4, bytes: maskBytes(b, len), len };
      trie.set(p, i);
      naive.set(p, i);
    }
    for (let i = 0; i < 500; i++) {
      const a = Uint8Array.from([10, rng.int(256), rng.int(256), rng.int(256)]);
      expect(trie.lookup(a)).toBe(naive.lookup(a));
    }
  });
});
