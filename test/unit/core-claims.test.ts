import { describe, expect, it } from 'vitest';
import { ClaimTable } from '../../src/core/claims.js';
import { activeReason, compareClaimants } from '../../src/core/routing.js';
import { parsePrefix } from '../../src/wire/addr.js';

function table() {
  const changes: string[] = [];
  const t = new ClaimTable((entry, from, to) => changes.push(`${entry.text} ${from ?? '-'}>${to ?? '-'}`));
  const route = (ip: string): string | null => t.lookup(parsePrefix(ip).bytes)?.active ?? null;
  return { t, changes, route };
}

const P = (...texts: string[]) => texts.map((x) => parsePrefix(x));

describe('claimant order', () => {
  it('prefers the earliest boot time, then the lowest id', () => {
    expect(compareClaimants({ peer: 'b', bootTimeMs: 1 }, { peer: 'a', bootTimeMs: 2 })).toBeLessThan(0);
    expect(compareClaimants({ peer: 'a', bootTimeMs: 5 }, { peer: 'b', bootTimeMs: 5 })).toBeLessThan(0);
    expect(compareClaimants({ peer: 'a', bootTimeMs: 5 }, { peer: 'a', bootTimeMs: 5 })).toBe(0);
    expect(activeReason([{ peer: 'a', bootTimeMs: 1 }])).toBe('only claimant');
    expect(activeReason([{ peer: 'a', bootTimeMs: 1 }, { peer: 'b', bootTimeMs: 2 }])).toBe('longest uptime');
    expect(activeReason([{ peer: 'a', bootTimeMs: 1 }, { peer: 'b', bootTimeMs: 1 }])).toBe('same start time, lowest id');
  });
});

describe('ClaimTable', () => {
  it('routes to the most specific claim, then the longest uptime, whatever order claims arrive in', () => {
    for (const order of [['x', 'y', 'z'], ['z', 'y', 'x'], ['y', 'z', 'x']]) {
      const { t, route } = table();
      const claims: Record<string, [number, string[]]> = {
        x: [300, ['10.0.0.1']], // youngest, /32
        y: [100, ['10.0.0.1']], // oldest, /32: wins 10.0.0.1
        z: [50, ['10.0.0.0/31', '10.0.0.0/24']], // oldest of all, but less specific
      };
      for (const id of order) t.setClaims(id, claims[id]![0], P(...claims[id]![1]));
      expect(route('10.0.0.1')).toBe('y');
      expect(route('10.0.0.0')).toBe('z');
      expect(route('10.0.0.77')).toBe('z');
      expect(route('10.0.1.1')).toBeNull();
    }
  });

  it('reports each change of an active claimant once, and withdraws a peer at once', () => {
    const { t, changes, route } = table();
    t.setClaims('self', 200, P('10.0.0.1'));
    t.setClaims('a', 100, P('10.0.0.1', '10.9.0.0/16'));
    t.setClaims('b', 150, P('10.0.0.1'));
    expect(changes).toEqual(['10.0.0.1/32 ->self', '10.0.0.1/32 self>a', '10.9.0.0/16 ->a']);
    changes.length = 0;
    t.removePeer('a');
    expect(changes).toEqual(['10.0.0.1/32 a>b', '10.9.0.0/16 a>-']);
    expect(route('10.9.1.1')).toBeNull();
    expect(t.entries().map((e) => [e.text, e.claimants.map((c) => c.peer)])).toEqual([['10.0.0.1/32', ['b', 'self']]]);
  });

  it('a restart (newer boot time) demotes the claimant; unchanged claims cause no events', () => {
    const { t, changes, route } = table();
    t.setClaims('a', 100, P('10.0.0.1'));
    t.setClaims('b', 150, P('10.0.0.1'));
    changes.length = 0;
    t.setClaims('a', 100, P('10.0.0.1'));
    expect(changes).toEqual([]);
    t.setClaims('a', 900, P('10.0.0.1'));
    expect(changes).toEqual(['10.0.0.1/32 a>b']);
    expect(route('10.0.0.1')).toBe('b');
    expect(t.claimsOf('a').map((p) => p.len)).toEqual([32]);
  });

  it('replacing claims adds and withdraws only the difference', () => {
    const { t, changes } = table();
    t.setClaims('a', 1, P('10.0.0.1', '10.0.0.2'));
    changes.length = 0;
    t.setClaims('a', 1, P('10.0.0.2', '10.0.0.3', '10.0.0.3'));
    expect(changes).toEqual(['10.0.0.1/32 a>-', '10.0.0.3/32 ->a']);
    expect(t.size).toBe(2);
  });
});
