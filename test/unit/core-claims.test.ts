import { describe, expect, it } from 'vitest';
import { ClaimTable, plainRecord, type ClaimRecord } from '../../src/core/claims.js';
import { activeReason, chooseActive, compareRank, type Claimant } from '../../src/core/routing.js';
import { parsePrefix } from '../../src/wire/addr.js';

function table() {
  const t = new ClaimTable();
  const changes: string[] = [];
  const log = (cs: ReturnType<ClaimTable['setClaims']>) => {
    for (const c of cs) changes.push(`${c.entry.text} ${c.from ?? '-'}>${c.to ?? '-'}`);
  };
  const set = (peer: string, boot: number, records: ClaimRecord[]) => log(t.setClaims(peer, boot, records));
  const remove = (peer: string) => log(t.removePeer(peer));
  const route = (ip: string): string | null => t.lookup(parsePrefix(ip).bytes)?.active ?? null;
  return { t, changes, route, set, remove };
}

const P = (...texts: string[]): ClaimRecord[] => texts.map((x) => plainRecord(parsePrefix(x), 100));
const R = (text: string, o: Partial<ClaimRecord> = {}): ClaimRecord => ({ ...plainRecord(parsePrefix(text), 100), ...o });
const C = (peer: string, o: Partial<Claimant> = {}): Claimant =>
  ({ peer, bootTimeMs: 100, priority: 100, preempt: false, state: 'up', epoch: 0, ...o });

describe('the choice among claimants of one prefix (routing.ts)', () => {
  it('without anyone serving: highest priority, then earliest boot time, then lowest id', () => {
    expect(compareRank(C('b', { bootTimeMs: 1 }), C('a', { bootTimeMs: 2 }))).toBeLessThan(0);
    expect(compareRank(C('a'), C('b'))).toBeLessThan(0);
    expect(compareRank(C('z', { priority: 150, bootTimeMs: 999 }), C('a', { bootTimeMs: 1 }))).toBeLessThan(0);
    expect(chooseActive([C('a', { bootTimeMs: 1 }), C('b', { priority: 150, bootTimeMs: 9 })])?.peer).toBe('b');
    expect(activeReason([C('a')], C('a'))).toBe('only claimant');
    expect(activeReason([C('a', { bootTimeMs: 1 }), C('b', { bootTimeMs: 2 })], C('a', { bootTimeMs: 1 }))).toBe('longest uptime');
  });

  it('withdrawn claims (unhealthy, drained) take no part', () => {
    const a = C('a', { priority: 200, state: 'unhealthy' });
    const b = C('b', { priority: 150, state: 'drained', epoch: 4 });
    const c = C('c');
    expect(chooseActive([a, b, c])).toBe(c);
    expect(chooseActive([a, b])).toBeNull();
    expect(activeReason([a, b], null)).toBe('all claims withdrawn');
    expect(activeReason([a, c], c)).toBe('only healthy claimant');
  });

  it('the claimant serving keeps the prefix against a higher priority without preempt', () => {
    const serving = C('b', { priority: 100, epoch: 3 });
    const back = C('a', { priority: 150, bootTimeMs: 1 });
    expect(chooseActive([back, serving])).toBe(serving);
    expect(activeReason([serving, back], serving)).toBe('already serving (no preemption)');
    // ready to preempt: it takes over
    const preempting = { ...back, preempt: true };
    expect(chooseActive([preempting, serving])).toBe(preempting);
    expect(activeReason([preempting, serving], preempting)).toBe('preempts (higher priority)');
    // preempt with an equal or lower priority does nothing
    expect(chooseActive([C('a', { preempt: true }), serving])).toBe(serving);
  });

  it('of several serving claimants the most recent takeover (highest epoch) stays', () => {
    const frozen = C('a', { epoch: 5, bootTimeMs: 1, priority: 200 });
    const took = C('b', { epoch: 6 });
    expect(chooseActive([frozen, took])).toBe(took);
    expect(activeReason([took, frozen], took)).toBe('most recent takeover');
    expect(chooseActive([C('a', { epoch: 6, priority: 120 }), C('b', { epoch: 6 })])?.peer).toBe('a');
  });
});

describe('ClaimTable', () => {
  it('routes to the most specific claim, then by rank, whatever order claims arrive in', () => {
    for (const order of [['x', 'y', 'z'], ['z', 'y', 'x'], ['y', 'z', 'x']]) {
      const { route, set } = table();
      const claims: Record<string, [number, string[]]> = {
        x: [300, ['10.0.0.1']], // youngest, /32
        y: [100, ['10.0.0.1']], // oldest, /32: wins 10.0.0.1
        z: [50, ['10.0.0.0/31', '10.0.0.0/24']], // oldest of all, but less specific
      };
      for (const id of order) set(id, claims[id]![0], P(...claims[id]![1]));
      expect(route('10.0.0.1')).toBe('y');
      expect(route('10.0.0.0')).toBe('z');
      expect(route('10.0.0.77')).toBe('z');
      expect(route('10.0.1.1')).toBeNull();
    }
  });

  it('returns each change of an active claimant once, and withdraws a peer at once', () => {
    const { t, changes, route, set, remove } = table();
    set('self', 200, P('10.0.0.1'));
    set('a', 100, P('10.0.0.1', '10.9.0.0/16'));
    set('b', 150, P('10.0.0.1'));
    expect(changes).toEqual(['10.0.0.1/32 ->self', '10.0.0.1/32 self>a', '10.9.0.0/16 ->a']);
    changes.length = 0;
    remove('a');
    expect(changes).toEqual(['10.0.0.1/32 a>b', '10.9.0.0/16 a>-']);
    expect(route('10.9.1.1')).toBeNull();
    expect(t.entries().map((e) => [e.text, e.claimants.map((c) => c.peer)])).toEqual([['10.0.0.1/32', ['b', 'self']]]);
  });

  it('a restart (newer boot time) demotes the claimant; unchanged claims cause no changes', () => {
    const { t, changes, route, set } = table();
    set('a', 100, P('10.0.0.1'));
    set('b', 150, P('10.0.0.1'));
    changes.length = 0;
    set('a', 100, P('10.0.0.1'));
    expect(changes).toEqual([]);
    set('a', 900, P('10.0.0.1'));
    expect(changes).toEqual(['10.0.0.1/32 a>b']);
    expect(route('10.0.0.1')).toBe('b');
    expect(t.claimsOf('a').map((r) => r.prefix.len)).toEqual([32]);
  });

  it('replacing claims adds and withdraws only the difference', () => {
    const { t, changes, set } = table();
    set('a', 1, P('10.0.0.1', '10.0.0.2'));
    changes.length = 0;
    set('a', 1, P('10.0.0.2', '10.0.0.3', '10.0.0.3'));
    expect(changes).toEqual(['10.0.0.3/32 ->a', '10.0.0.1/32 a>-']);
    expect(t.size).toBe(2);
  });

  it('a withdrawn claim stays listed (status) but routes nowhere; the highest epoch is remembered past the last claimant', () => {
    const { t, changes, route, set, remove } = table();
    set('a', 1, [R('10.0.0.1', { epoch: 7 })]);
    set('b', 2, [R('10.0.0.1')]);
    set('a', 1, [R('10.0.0.1', { state: 'unhealthy' })]);
    expect(changes).toEqual(['10.0.0.1/32 ->a', '10.0.0.1/32 a>b']);
    expect(t.get(parsePrefix('10.0.0.1'))?.claimants.map((c) => `${c.peer}:${c.state}`)).toEqual(['b:up', 'a:unhealthy']);
    expect(route('10.0.0.1')).toBe('b');
    remove('a');
    remove('b');
    expect(t.size).toBe(0);
    expect(t.maxEpoch(parsePrefix('10.0.0.1'))).toBe(7);
    set('c', 3, P('10.0.0.1'));
    expect(t.get(parsePrefix('10.0.0.1'))?.maxEpoch).toBe(7);
  });

  it('marks the claimant that drained while serving, until it undrains or goes away', () => {
    const { t, set, remove } = table();
    const entry = () => t.get(parsePrefix('10.0.0.1'))!;
    set('a', 1, [R('10.0.0.1', { epoch: 1 })]);
    set('b', 2, [R('10.0.0.1')]);
    expect(entry().drainPeer).toBeNull();
    set('a', 1, [R('10.0.0.1', { state: 'drained' })]);
    expect([entry().active, entry().drainPeer]).toEqual(['b', 'a']);
    set('a', 1, [R('10.0.0.1')]); // undrained: a normal standby again
    expect(entry().drainPeer).toBeNull();
    set('b', 2, [R('10.0.0.1', { epoch: 2 })]);
    set('b', 2, [R('10.0.0.1', { state: 'drained' })]);
    expect([entry().active, entry().drainPeer]).toEqual(['a', 'b']);
    remove('b');
    expect(entry().drainPeer).toBeNull();
    // a standby that drains was not serving: nothing to keep
    set('c', 3, [R('10.0.0.1', { state: 'drained' })]);
    expect(entry().drainPeer).toBeNull();
  });
});
