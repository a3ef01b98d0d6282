import { describe, expect, it } from 'vitest';
import { runSeeded, Sim } from './harness.js';

describe('mesh formation', () => {
  it('a chain of seed peers becomes a full mesh, and a node never connects to itself', () =>
    runSeeded('chain mesh', 11, (seed) => {
      const sim = new Sim({ seed });
      const n = 6;
      for (let i = 0; i < n; i++) {
        // node i knows only node i-1; node 0 is (mis)configured with its own address.
        sim.add({ name: `n${i}`, ip: `10.0.0.${i + 1}`, seeds: i === 0 ? ['n0'] : [`n${i - 1}`] });
      }
      sim.start(...sim.all.map((x) => x.name));
      sim.run(3_000);
      for (const node of sim.all) {
        const st = node.mustEngine().status(sim.clock(node));
        const peers = st.peers.map((p) => sim.nameOf(p.id)).sort();
        expect(peers, `${node.name}'s peers`).toEqual(sim.all.filter((x) => x !== node).map((x) => x.name).sort());
        expect(st.peers.every((p) => p.id !== node.id)).toBe(true);
        // every node can reach every other node's address
        for (const other of sim.all) expect(sim.routeOf(node.name, other.spec.ip)).toBe(other.name);
      }
      expect(sim.events((e) => e.node === 'n0' && e.event.type === 'self-detected')).toHaveLength(1);
      expect(sim.node('n0').mustEngine().status(sim.clock(sim.node('n0'))).selfEndpoints).toEqual([sim.node('n0').endpoint]);
    }));
});
