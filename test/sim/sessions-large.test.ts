// Sessions past full-mesh-max (issue 13: SWIM membership, sessions on demand), twelve nodes.
// - A node that restarts: a peer that was sending it data is answered by the new process at
//   once, not after a peer timeout. (connect() does nothing while a session looks usable, in the
//   real channel and the simulator's alike; a restart seen in a record makes the engine renew().)
// - A node behind NAT whose sessions are all on demand still learns the address its NAT maps it
//   to (the 'observed' message), or its record names no address the others can reach it at.
import { describe, expect, it } from 'vitest';
import type { NatKind } from './nat.js';
import { runSeeded, twelveNodes } from './harness.js';

describe('sessions past full-mesh-max', () => {
  it('peers stop sending into the sessions of a restarted node and talk to the new process', () =>
    runSeeded('restart, SWIM', 41, (seed) => {
      const sim = twelveNodes(seed, { ipA: '10.0.0.1', ipB: '10.0.0.2', settleMs: 60_000 });
      const ping = sim.ping('c', '10.0.0.108', 50); // c keeps a session with k: it sends it data
      sim.run(5_000);
      const t0 = sim.now;
      sim.restart('k');
      sim.run(15_000);
      const back = ping.firstReplyAfter(t0);
      const k = sim.node('k');
      const drops = k.mustEngine().status(sim.clock(k)).drops['unknown-session'] ?? 0;
      console.log(`k restarted: c's pings answered again after ${back ? back.sentAt - t0 : 'never'} ms; k dropped ${drops} packets for sessions of its previous process`);
      expect(back).toBeDefined();
      expect(back!.sentAt - t0).toBeLessThan(1_500);
    }));

  it('a NATed node with no kept session learns its mapped address, and the new one after its NAT rebooted', () =>
    runSeeded('observed, SWIM', 51, (seed) => {
      const nat = { kind: 'port-restricted' as NatKind };
      const sim = twelveNodes(seed, { ipA: '10.0.0.1', ipB: '10.0.0.2', extra: [{ name: 'n', ip: '10.0.0.50', nat }], settleMs: 60_000 });
      const n = sim.node('n');
      const reflexive = (): string[] => n.mustEngine().status(sim.clock(n)).candidates.filter((c) => c.kind === 'reflexive').map((c) => c.endpoint);
      expect(n.mustEngine().status(sim.clock(n)).members).toMatchObject({ fullMesh: false, kept: 0 });
      expect(reflexive()).toEqual(['203.0.113.1:3210']);
      sim.net.nat('n').reboot();
      const t0 = sim.now;
      const learned = sim.runUntilTrue(() => reflexive()[0] === '203.0.113.1:3217', 60_000);
      console.log(`NAT rebooted: n announces ${reflexive().join(', ')} after ${Math.round(sim.now - t0)} ms`);
      expect(learned).toBe(true);
    }));
});
