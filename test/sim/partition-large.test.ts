// Partitions past full-mesh-max (issue 13's SWIM membership, fullMeshMax 4 among 12 nodes): the
// fault soak's rule (partition.test.ts: an isolated node serves nothing, and waits a peer timeout
// when peers return) holds there too, while a client keeps using the shared address.
import { describe, expect, it } from 'vitest';
import { runSeeded, twelveNodes, TWELVE_OTHERS as OTHERS, type Sim } from './harness.js';

const SHARED = '10.0.0.1';

const routes = (sim: Sim): string[] => sim.routesTo(SHARED);

/**
 * Standby b is cut off from everyone for `cutMs` while c pings the shared address, then the cut
 * heals: the working server a keeps the address throughout, on every node. `beforeHeal` checks
 * b's state at the end of the cut.
 */
function cutOffStandby(seed: number, cutMs: number, beforeHeal: (sim: Sim) => void = () => {}): void {
  const sim = twelveNodes(seed, { ipA: SHARED, ipB: SHARED, settleMs: 10_000 });
  expect(sim.node('c').mustEngine().status(sim.clock(sim.node('c'))).members.fullMesh).toBe(false);
  expect(routes(sim).every((r) => r.endsWith('->a'))).toBe(true);
  const ping = sim.ping('c', SHARED, 50);
  sim.run(2_000);
  const t0 = sim.now;
  sim.net.partition(sim.endpointsOf(['b']), sim.endpointsOf(['a', ...OTHERS]));
  sim.run(cutMs);
  beforeHeal(sim);
  sim.net.heal();
  sim.run(30_000);
  expect(routes(sim).filter((r) => !r.endsWith('->a'))).toEqual([]);
  for (const n of ['a', ...OTHERS]) {
    expect(sim.events((e) => e.node === n && e.t > t0 && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`), n).toEqual([]);
  }
  expect(ping.between(t0).every((r) => r.server === 'a')).toBe(true);
}

describe('partitions past full-mesh-max', () => {
  it('a standby cut off from everyone does not take the address from the working server when it comes back', () =>
    runSeeded('isolated standby, SWIM', 31, (seed) =>
      // long enough for everyone to hold b dead and b everyone
      cutOffStandby(seed, 40_000, (sim) => {
        const alone = sim.node('b').mustEngine().status(sim.clock(sim.node('b')));
        expect(alone.members).toMatchObject({ alive: 0, sessions: 0 }); // b holds everyone dead: the case to test
      })));

  // Shorter cuts: b still has on-demand sessions that close only after 30 s idle, so it is not
  // yet alone by that rule; the working server keeps the address all the same.
  for (const cutMs of [4_000, 15_000]) {
    it(`a standby cut off for ${cutMs / 1_000} s (its sessions not yet closed) takes nothing over either`, () =>
      runSeeded(`short isolation ${cutMs}`, 32, (seed) => cutOffStandby(seed, cutMs)));
  }
});
