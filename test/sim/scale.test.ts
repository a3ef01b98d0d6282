// Membership that scales (issue 13), in the simulator at 100 nodes and default settings: past
// full-mesh-max, nodes keep sessions only with the peers they use, records spread by gossip and
// anti-entropy, and SWIM finds the failures. Each node claims its own /32; two share a VIP.
// Printed: control datagrams and bytes a second per idle node, and how long a join and a crash
// take to be known everywhere. Asserted: the bounds (≤ 10 datagrams/s and ≤ 2 kB/s per
// idle node, a join known within 5 s, a crash within 10 s) and that a client using the VIP
// still fails over within the peer timeout.
import { describe, expect, it } from 'vitest';
import { DEFAULT_KEEPALIVE_MS, DEFAULT_PEER_TIMEOUT_MS } from '../../src/core/constants.js';
import { pollUntil, routedByAll, runSeeded, Sim, type NodeSpec } from './harness.js';

const N = Number(process.env['SIM_SCALE_NODES'] ?? 100);
const VIP = '10.0.0.1';
const ipOf = (i: number): string => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function spec(sim: Sim, i: number): NodeSpec {
  const seeds = i === 0 ? [] : [...new Set(['n0', `n${sim.rng.int(i)}`])];
  return { name: `n${i}`, ip: ipOf(i), seeds, ...(i === 1 || i === 2 ? { claims: [`${VIP}/32`] } : {}) };
}


function started(seed: number): Sim {
  const sim = new Sim({ seed, keepaliveMs: DEFAULT_KEEPALIVE_MS, peerTimeoutMs: DEFAULT_PEER_TIMEOUT_MS });
  for (let i = 0; i < N; i++) sim.add(spec(sim, i));
  for (let i = 0; i < N; i++) sim.at(i * 20, () => sim.start(`n${i}`));
  const converged = pollUntil(sim, () => sim.live().length === N && sim.all.every((x) => routedByAll(sim, x.spec.ip, x.name)), 60_000, 500);
  expect(converged, 'every node routes every node\'s address').not.toBeNull();
  console.log(`${N} nodes: every node knows every other ${(sim.now / 1000).toFixed(1)} s after the first start (${(N * 20 / 1000).toFixed(1)} s of starts)`);
  return sim;
}

describe(`membership at ${N} nodes (default settings)`, () => {
  it('idle control traffic per node stays within the bounds; a join and a crash are known everywhere in time', () =>
    runSeeded('scale', 1301, (seed) => {
      const sim = started(seed);
      sim.run(30_000); // sessions of the start-up settle (idle ones close)
      const st = sim.node('n7').mustEngine().status(sim.clock(sim.node('n7'))).members;
      expect(st.fullMesh).toBe(false);
      expect(st.records).toBe(N);

      // idle traffic: everything every node sends (no application traffic runs)
      const sent = new Map<string, { datagrams: number; bytes: number }>();
      sim.net.tap((from, _to, d) => {
        const c = sent.get(from) ?? { datagrams: 0, bytes: 0 };
        c.datagrams++;
        c.bytes += d.length + 28; // IPv4 + UDP headers
        sent.set(from, c);
      });
      const windowS = 30;
      sim.run(windowS * 1000);
      const perNode = sim.all.map((x) => sent.get(x.endpoint) ?? { datagrams: 0, bytes: 0 });
      const dps = perNode.map((c) => c.datagrams / windowS);
      const bps = perNode.map((c) => c.bytes / windowS);
      const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const sessions = avg(sim.all.map((x) => x.mustEngine().status(sim.clock(x)).members.sessions));
      console.log(`${N} idle nodes: ${avg(dps).toFixed(2)} datagrams/s and ${avg(bps).toFixed(0)} B/s sent per node ` +
        `(max ${Math.max(...dps).toFixed(2)} / ${Math.max(...bps).toFixed(0)}), ${sessions.toFixed(1)} sessions open per node`);
      expect(avg(dps)).toBeLessThanOrEqual(10);
      expect(avg(bps)).toBeLessThanOrEqual(2_000);

      // a join: its address routed by everyone
      const joiner = sim.add({ name: 'new', ip: '10.2.0.1', seeds: ['n0', 'n5'] })[0]!;
      sim.start(joiner.name);
      const joinMs = pollUntil(sim, () => routedByAll(sim, '10.2.0.1', 'new'), 20_000, 20);
      console.log(`join known everywhere after ${joinMs} ms`);
      expect(joinMs).not.toBeNull();
      expect(joinMs!).toBeLessThanOrEqual(5_000);

      // a crash: its address routed by nobody
      sim.run(5_000);
      sim.crash(`n${N >> 1}`);
      const crashMs = pollUntil(sim, () => routedByAll(sim, ipOf(N >> 1), null), 30_000, 50);
      console.log(`crash known everywhere after ${crashMs} ms`);
      expect(crashMs).not.toBeNull();
      expect(crashMs!).toBeLessThanOrEqual(10_000);
      // nobody else was taken for dead meanwhile
      const wrongly = sim.events((e) => e.event.type === 'peer-down' && e.event.reason === 'failed' && e.event.peer !== sim.node(`n${N >> 1}`).id);
      expect(wrongly.map((e) => `${e.node} ${sim.nameOf((e.event as { peer: string }).peer)}`)).toEqual([]);
    }), 600_000);

  it('a client using the shared IP fails over within the peer timeout, as in a small mesh', () =>
    runSeeded('scale failover', 1302, (seed) => {
      const sim = started(seed);
      const active = sim.routeOf('n10', VIP)!;
      const standby = active === 'n1' ? 'n2' : 'n1';
      const ping = sim.ping('n10', VIP, 50);
      sim.run(5_000);
      expect(ping.between(sim.now - 1_000).every((r) => r.server === active)).toBe(true);
      const t0 = sim.now;
      sim.crash(active);
      sim.run(2 * DEFAULT_PEER_TIMEOUT_MS);
      const after = ping.firstReplyAfter(t0, standby);
      expect(after, 'the standby answers').toBeDefined();
      const gap = after!.at - t0;
      console.log(`VIP failover for a client in use: first reply from the standby ${gap.toFixed(0)} ms after the crash`);
      expect(gap).toBeLessThanOrEqual(DEFAULT_PEER_TIMEOUT_MS + 200);
    }), 600_000);
});
