// A node that restarts past full-mesh-max (issue 13's sessions on demand): a peer that was sending
// it data is answered by the new process at once, not after a peer timeout. (The real channel and
// the simulator's ignore connect() while a session looks usable; a restart seen in a record makes
// the engine renew() the session, in case the new process never dials us.)
import { describe, expect, it } from 'vitest';
import { runSeeded, Sim } from './harness.js';

const OTHERS = ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];

function unknownSessionDrops(sim: Sim, name: string): number {
  const node = sim.node(name);
  return node.mustEngine().status(sim.clock(node)).drops['unknown-session'] ?? 0;
}

describe('restarts past full-mesh-max', () => {
  it('peers stop sending into the sessions of a restarted node and talk to the new process', () =>
    runSeeded('restart, SWIM', 41, (seed) => {
      const sim = new Sim({ seed });
      const config = { fullMeshMax: 4 };
      sim.add({ name: 'a', ip: '10.0.0.1', seeds: [], config }, { name: 'b', ip: '10.0.0.2', seeds: ['a'], config });
      OTHERS.forEach((n, i) => sim.add({ name: n, ip: `10.0.0.${100 + i}`, seeds: ['a', 'b'], config }));
      sim.start('a');
      sim.run(50);
      sim.start('b', ...OTHERS);
      sim.run(60_000);
      const ping = sim.ping('c', '10.0.0.108', 50); // c keeps a session with k: it sends it data
      sim.run(5_000);
      const t0 = sim.now;
      sim.restart('k');
      sim.run(15_000);
      const back = ping.firstReplyAfter(t0);
      const drops = unknownSessionDrops(sim, 'k');
      console.log(`k restarted: c's pings answered again after ${back ? back.sentAt - t0 : 'never'} ms; k dropped ${drops} packets for sessions of its previous process`);
      expect(back).toBeDefined();
      expect(back!.sentAt - t0).toBeLessThan(1_500);
    }));
});
