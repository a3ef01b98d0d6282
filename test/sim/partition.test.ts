import { describe, expect, it } from 'vitest';
import { runSeeded, Sim } from './harness.js';

const SHARED = '10.0.0.1';

function fiveNodes(seed: number): Sim {
  const sim = new Sim({ seed });
  sim.add(
    { name: 'a', ip: SHARED, seeds: ['b'] },
    { name: 'b', ip: SHARED, seeds: ['a'] },
    { name: 'c', ip: '10.0.0.100', seeds: ['a'] },
    { name: 'd', ip: '10.0.0.101', seeds: ['b'] },
    { name: 'e', ip: '10.0.0.102', seeds: ['d'] },
  );
  sim.start('a');
  sim.run(50);
  sim.start('b', 'c', 'd', 'e');
  sim.run(2_000);
  return sim;
}

/**
 * The README's bound for a healed partition to converge: the sides reconnect within the
 * reconnect backoff's cap (reconnectMaxMs, +25 % jitter), then one handshake and one NodeInfo
 * round trip settle who serves.
 */
const HEAL_BOUND_MS = (sim: Sim): number => 1.25 * sim.node('a').mustEngine().timing.reconnectMaxMs + 500;

const routes = (sim: Sim): string[] => sim.routesTo(SHARED);

describe('partitions', () => {
  it('each side of a partition uses its own claimant; after healing all converge on the later takeover', () =>
    runSeeded('partition and heal', 21, (seed) => {
      const sim = fiveNodes(seed);
      expect(routes(sim)).toEqual(['a->a', 'b->a', 'c->a', 'd->a', 'e->a']);
      sim.net.partition(sim.endpointsOf(['a', 'c']), sim.endpointsOf(['b', 'd', 'e']));
      sim.run(sim.peerTimeoutMs + sim.keepaliveMs);
      expect(routes(sim)).toEqual(['a->a', 'b->b', 'c->a', 'd->b', 'e->b']);
      // b took 10.0.0.1 over on its side (a newer serving epoch than a's): it keeps it, and a
      // goes to standby as soon as it hears b — no second switch for b's side.
      sim.net.heal();
      const t = sim.now;
      const merged = sim.runUntilTrue(() => routes(sim).every((r) => r.endsWith('->b')), 10_000);
      expect(merged, routes(sim).join(' ')).toBe(true);
      expect(sim.now - t).toBeLessThan(HEAL_BOUND_MS(sim));
      sim.run(5_000);
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b', 'd->b', 'e->b']);
      for (const n of ['b', 'd', 'e']) {
        expect(sim.events((e) => e.node === n && e.t > t && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`)).toEqual([]);
      }
      for (const n of sim.live()) expect(n.mustEngine().status(sim.clock(n)).peers).toHaveLength(4);
    }));

  it('a one-way partition (nobody hears a) fails over to b; after healing a hands over too', () =>
    runSeeded('one-way partition', 22, (seed) => {
      const sim = fiveNodes(seed);
      sim.net.partition(sim.endpointsOf(['a']), sim.endpointsOf(['b', 'c', 'd', 'e']), true);
      sim.run(sim.peerTimeoutMs + sim.keepaliveMs);
      expect(routes(sim).slice(1)).toEqual(['b->b', 'c->b', 'd->b', 'e->b']);
      sim.run(5_000);
      // a hears the others' handshakes but its answers are lost: it stays alone
      expect(routes(sim)).toEqual(['a->a', 'b->b', 'c->b', 'd->b', 'e->b']);
      sim.net.heal();
      const t = sim.now;
      expect(sim.runUntilTrue(() => routes(sim).every((r) => r.endsWith('->b')), 10_000)).toBe(true);
      expect(sim.now - t).toBeLessThan(HEAL_BOUND_MS(sim));
      sim.run(3_000);
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b', 'd->b', 'e->b']);
    }));

  it('a standby cut off from everyone does not take the address from the working server when it comes back', () =>
    runSeeded('isolated standby', 23, (seed) => {
      // Found by the fault soak (test/e2e/soak.test.ts): the isolated standby saw every peer die,
      // took over with a newer serving epoch, and after the heal that epoch won — clients moved
      // from a server that had worked all along (README rule 3: a node that returns does not
      // take a prefix from a working server).
      const sim = fiveNodes(seed);
      const t0 = sim.now;
      sim.net.partition(sim.endpointsOf(['b']), sim.endpointsOf(['a', 'c', 'd', 'e']));
      sim.run(3 * sim.peerTimeoutMs);
      expect(routes(sim).filter((r) => !r.startsWith('b->'))).toEqual(['a->a', 'c->a', 'd->a', 'e->a']);
      sim.net.heal();
      const t = sim.now;
      expect(sim.runUntilTrue(() => sim.live().every((n) => n.mustEngine().status(sim.clock(n)).peers.length === 4), 10_000)).toBe(true);
      expect(sim.now - t).toBeLessThan(HEAL_BOUND_MS(sim));
      sim.run(5_000);
      expect(routes(sim)).toEqual(['a->a', 'b->a', 'c->a', 'd->a', 'e->a']);
      for (const n of ['a', 'c', 'd', 'e']) {
        expect(sim.events((e) => e.node === n && e.t > t0 && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`), n).toEqual([]);
      }
    }));
});
