// A mesh past full-mesh-max (here 16 nodes, fullMeshMax 4, fast settings): sessions on
// demand, SWIM for everything else. What a full mesh guarantees must still hold where it
// matters: a stop is known at once, a crash within the failure detector's bound, a stalled
// node shorter than a suspicion is not declared dead, a healed partition merges, a restart is
// taken back, and loss never moves a prefix in use.
import { describe, expect, it } from 'vitest';
import { pollUntil, routedByAll, runSeeded, Sim } from './harness.js';

const N = 16;
const VIP = '10.0.0.1';
const ipOf = (i: number): string => `10.1.0.${i + 1}`;

function mesh(seed: number, link: { loss?: number } = {}): Sim {
  const sim = new Sim({ seed, link });
  for (let i = 0; i < N; i++) {
    sim.add({
      name: `n${i}`, ip: ipOf(i), seeds: i === 0 ? [] : ['n0', `n${sim.rng.int(i)}`], config: { fullMeshMax: 4 },
      ...(i === 1 || i === 2 ? { claims: [`${VIP}/32`] } : {}),
    });
  }
  for (let i = 0; i < N; i++) sim.at(i * 10, () => sim.start(`n${i}`));
  expect(pollUntil(sim, () => sim.all.every((x) => routedByAll(sim, x.spec.ip, x.name)), 20_000)).not.toBeNull();
  sim.run(5_000);
  return sim;
}


const failed = (sim: Sim, after = 0) => sim.events((e) => e.t > after && e.event.type === 'peer-down' && e.event.reason === 'failed');

describe(`a mesh past full-mesh-max (${N} nodes)`, () => {
  it('runs on demand: no full mesh of sessions, few kept', () =>
    runSeeded('members on demand', 1401, (seed) => {
      const sim = mesh(seed);
      sim.run(40_000); // start-up sessions close when idle
      for (const n of sim.all) {
        const m = n.mustEngine().status(sim.clock(n)).members;
        expect(m.fullMesh).toBe(false);
        expect(m.records).toBe(N);
        expect(m.kept).toBe(0); // nobody sends traffic
      }
      expect(failed(sim)).toEqual([]);
    }));

  it('a graceful stop is known everywhere at once; a crash within the failure detector\'s bound; a restart is back', () =>
    runSeeded('members stop crash restart', 1402, (seed) => {
      const sim = mesh(seed);
      sim.stop('n5');
      const stopMs = pollUntil(sim, () => routedByAll(sim, ipOf(5), null), 5_000, 5);
      console.log(`stop known everywhere after ${stopMs} ms`);
      expect(stopMs).not.toBeNull();
      expect(stopMs!).toBeLessThan(500);
      expect(failed(sim)).toEqual([]); // a stop is a leave, not a failure
      const t0 = sim.now;
      sim.crash('n7');
      const crashMs = pollUntil(sim, () => routedByAll(sim, ipOf(7), null), 20_000, 20);
      console.log(`crash known everywhere after ${crashMs} ms`);
      expect(crashMs).not.toBeNull();
      expect(crashMs!).toBeLessThan(10_000);
      expect(failed(sim, t0).every((e) => (e.event as { peer: string }).peer === sim.node('n7').id)).toBe(true);
      sim.start('n7');
      expect(pollUntil(sim, () => routedByAll(sim, ipOf(7), 'n7'), 10_000)).not.toBeNull();
    }));

  it('a node stalled for less than a suspicion is not declared dead', () =>
    runSeeded('members stall', 1403, (seed) => {
      const sim = mesh(seed);
      const t0 = sim.now;
      sim.freeze('n9', 1_000);
      sim.run(15_000);
      expect(failed(sim, t0)).toEqual([]);
      expect(routedByAll(sim, ipOf(9), 'n9')).toBe(true);
    }));

  it('a healed partition merges: every node routes every node again', () =>
    runSeeded('members partition', 1404, (seed) => {
      const sim = mesh(seed);
      const side = sim.all.filter((_, i) => i % 2 === 1).map((x) => x.endpoint);
      const rest = sim.all.filter((_, i) => i % 2 === 0).map((x) => x.endpoint);
      sim.net.partition(side, rest);
      // each side finds the other dead
      const splitMs = pollUntil(sim, () => sim.all.every((x, i) => sim.all.every((y, j) => (i % 2 === j % 2) === (sim.routeOf(x.name, y.spec.ip) === y.name))), 30_000, 100);
      console.log(`partition: each side routes only its own after ${splitMs} ms`);
      expect(splitMs).not.toBeNull();
      sim.net.heal();
      const mergeMs = pollUntil(sim, () => sim.all.every((x) => routedByAll(sim, x.spec.ip, x.name)), 60_000, 100);
      console.log(`partition healed: every route back after ${mergeMs} ms`);
      expect(mergeMs).not.toBeNull();
    }));

  it('under 20 % loss a shared IP in use never fails over, and every node stays routed', () =>
    runSeeded('members loss', 1405, (seed) => {
      const sim = mesh(seed);
      sim.net.setProfile({ loss: 0.2 });
      const ping = sim.ping('n12', VIP, 50);
      const t0 = sim.now;
      sim.run(60_000);
      const vipChanges = sim.events((e) => e.t > t0 && e.event.type === 'route-change' && e.event.prefixText === `${VIP}/32`);
      expect(vipChanges.map((e) => `${e.node} ${(e.event as { cause: string }).cause}`)).toEqual([]);
      expect(ping.replies.length).toBeGreaterThan(0.5 * ping.seq);
      console.log(`60 s of 20 % loss: ${failed(sim, t0).length} members wrongly declared dead by some node (and taken back)`);
      sim.net.setProfile({ loss: 0 });
      expect(pollUntil(sim, () => sim.all.every((x) => routedByAll(sim, x.spec.ip, x.name)), 10_000, 100)).not.toBeNull();
    }));
});
