// Past full-mesh-max a node behind NAT keeps sessions only with the peers it uses, maybe none:
// it must still learn the address its NAT maps it to (the 'observed' message) from the sessions
// it has, or its record never names an address the others can reach it at.
import { describe, expect, it } from 'vitest';
import type { NatKind } from './nat.js';
import { runSeeded, Sim } from './harness.js';

const OTHERS = ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];

describe('reflexive addresses past full-mesh-max', () => {
  it('a NATed node with no kept session learns its mapped address, and the new one after its NAT rebooted', () =>
    runSeeded('observed, SWIM', 51, (seed) => {
      const sim = new Sim({ seed });
      const config = { fullMeshMax: 4 };
      sim.add({ name: 'a', ip: '10.0.0.1', seeds: [], config }, { name: 'b', ip: '10.0.0.2', seeds: ['a'], config });
      OTHERS.forEach((n, i) => sim.add({ name: n, ip: `10.0.0.${100 + i}`, seeds: ['a', 'b'], config }));
      sim.add({ name: 'n', ip: '10.0.0.50', seeds: ['a', 'b'], config, nat: { kind: 'port-restricted' as NatKind } });
      sim.start('a');
      sim.run(50);
      sim.start('b', ...OTHERS, 'n');
      sim.run(60_000);
      const n = sim.node('n');
      const st = n.mustEngine().status(sim.clock(n));
      const reflexive = (): string[] => n.mustEngine().status(sim.clock(n)).candidates.filter((c) => c.kind === 'reflexive').map((c) => c.endpoint);
      expect(st.members).toMatchObject({ fullMesh: false, kept: 0 });
      expect(reflexive()).toEqual(['203.0.113.1:3210']);
      sim.net.nat('n').reboot();
      const t0 = sim.now;
      const learned = sim.runUntilTrue(() => reflexive()[0] === '203.0.113.1:3217', 60_000);
      console.log(`NAT rebooted: n announces ${reflexive().join(', ')} after ${sim.now - t0} ms; ${JSON.stringify(n.mustEngine().status(sim.clock(n)).members)}`);
      expect(learned).toBe(true);
    }));
});
