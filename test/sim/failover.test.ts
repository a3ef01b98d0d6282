import { describe, expect, it } from 'vitest';
import { runSeeded, Sim, type NodeSpec } from './harness.js';

const SHARED = '10.0.0.1';

/** The HA guide's example: two servers sharing 10.0.0.1, each seeding the other; two clients. */
function guideCluster(seed: number, identity: NodeSpec['identity'] = 'key'): Sim {
  const sim = new Sim({ seed });
  sim.add(
    { name: 'a', ip: SHARED, seeds: ['b'], identity },
    { name: 'b', ip: SHARED, seeds: ['a'], identity },
    { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
    { name: 'd', ip: '10.0.0.101', seeds: ['a', 'b'] },
  );
  sim.start('a');
  sim.run(100);
  sim.start('b');
  sim.run(100);
  sim.start('c', 'd');
  sim.run(2_000);
  return sim;
}

function routes(sim: Sim, ip = SHARED): Record<string, string | null> {
  return Object.fromEntries(sim.live().map((n) => [n.name, sim.routeOf(n.name, ip)]));
}

describe('failover of a shared IP', () => {
  it('everyone routes the shared IP to the longest-running server', () =>
    runSeeded('initial choice', 1, (seed) => {
      const sim = guideCluster(seed);
      expect(routes(sim)).toEqual({ a: 'a', b: 'a', c: 'a', d: 'a' });
      const st = sim.node('c').mustEngine().status(sim.clock(sim.node('c')));
      const route = st.routes.find((r) => r.prefix === '10.0.0.1/32')!;
      expect(route.claimants.map((x) => sim.nameOf(x.id))).toEqual(['a', 'b']);
      expect(route.reason).toBe('longest uptime');
    }));

  it('kill -9 of the active server: all nodes switch to the same survivor within peer timeout + one keepalive', () =>
    runSeeded('crash failover', 2, (seed) => {
      const sim = guideCluster(seed);
      const ping = sim.ping('c', SHARED, 10);
      sim.run(500);
      expect(ping.between(sim.now - 400).every((r) => r.server === 'a')).toBe(true);
      const t0 = sim.now;
      sim.crash('a');
      const switched = sim.runUntilTrue(() => Object.values(routes(sim)).every((r) => r === 'b'), 5_000);
      expect(switched).toBe(true);
      const switchMs = sim.now - t0;
      expect(switchMs).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs);
      sim.run(200);
      const first = ping.firstReplyAfter(t0, 'b')!;
      expect(first.at - t0).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs + 20);
      // the survivor's clients never got an answer from anyone else after the switch
      expect(ping.between(first.at).every((r) => r.server === 'b')).toBe(true);
      // Each node switches once, for a's timeout: on its own timer, or a moment earlier when b
      // (which timed a out first) announces that it serves — a is silent here too by then.
      for (const name of ['b', 'c', 'd']) {
        const changes = sim.events((e) => e.node === name && e.t > t0 && e.event.type === 'route-change');
        expect(changes.map((e) => e.event.type === 'route-change' && [sim.nameOf(e.event.from), sim.nameOf(e.event.to), e.event.cause])).toEqual([
          ['a', 'b', 'timeout'],
        ]);
      }
      const fo = sim.node('c').mustEngine().status(sim.clock(sim.node('c'))).failovers[0]!;
      expect(fo).toMatchObject({ prefix: '10.0.0.1/32' });
      // the gap is a's silence as c saw it when it switched
      expect(fo.gapMs).toBeGreaterThanOrEqual(sim.peerTimeoutMs - sim.keepaliveMs);
    }));

  it('graceful stop: peers switch at once, without waiting for the timeout', () =>
    runSeeded('graceful leave', 3, (seed) => {
      const sim = guideCluster(seed);
      const t0 = sim.now;
      sim.stop('a');
      expect(sim.runUntilTrue(() => ['b', 'c', 'd'].every((n) => sim.routeOf(n, SHARED) === 'b'), 2_000)).toBe(true);
      expect(sim.now - t0).toBeLessThan(20);
      sim.run(100);
      expect(sim.node('a').running).toBe(false); // exited once every peer acknowledged
      const downs = sim.events((e) => e.t > t0 && e.event.type === 'peer-down');
      expect(downs.map((e) => e.event.type === 'peer-down' && e.event.reason)).toEqual(['leave', 'leave', 'leave']);
    }));

  for (const identity of ['key', 'password'] as const) {
    it(`a restarted old primary (${identity} mode) rejoins but does not take the IP back`, () =>
      runSeeded(`restart no switch back (${identity})`, 4, (seed) => {
        const sim = guideCluster(seed, identity);
        sim.crash('a');
        sim.run(sim.peerTimeoutMs + 200);
        expect(routes(sim)).toEqual({ b: 'b', c: 'b', d: 'b' });
        const t1 = sim.now;
        sim.restart('a');
        sim.run(10_000);
        expect(routes(sim)).toEqual({ a: 'b', b: 'b', c: 'b', d: 'b' });
        expect(sim.events((e) => e.t > t1 && e.event.type === 'route-change' && e.node !== 'a')).toEqual([]);
        const peersOfA = sim.node('a').mustEngine().status(sim.clock(sim.node('a'))).peers.map((p) => sim.nameOf(p.id)).sort();
        expect(peersOfA).toEqual(['b', 'c', 'd']);
      }));

    it(`a primary restarted faster than the timeout (${identity} mode) hands over at once`, () =>
      runSeeded(`fast restart (${identity})`, 5, (seed) => {
        const sim = guideCluster(seed, identity);
        const t0 = sim.now;
        sim.crash('a');
        sim.run(100);
        sim.restart('a');
        const ok = sim.runUntilTrue(() => ['a', 'b', 'c', 'd'].every((n) => sim.routeOf(n, SHARED) === 'b'), 2_000);
        expect(ok).toBe(true);
        expect(sim.now - t0).toBeLessThan(sim.peerTimeoutMs);
        // c notices the restart itself, or b's takeover reaches it first
        const cause = identity === 'key' ? 'restart' : 'replaced';
        const atC = sim.events((e) => e.node === 'c' && e.t > t0 && e.event.type === 'route-change');
        expect(atC).toHaveLength(1);
        expect([cause, 'takeover']).toContain(atC[0]!.event.type === 'route-change' && atC[0]!.event.cause);
        sim.run(5_000);
        expect(routes(sim)).toEqual({ a: 'b', b: 'b', c: 'b', d: 'b' });
      }));
  }
});

describe('active/passive with /32 and /31', () => {
  it('the /32 server is primary even when younger; the /31 takes over only while it is gone', () =>
    runSeeded('active/passive', 6, (seed) => {
      const sim = new Sim({ seed });
      sim.add(
        { name: 'secondary', ip: '10.0.0.2', claims: ['10.0.0.0/31'], noAutoClaim: true, seeds: ['primary'] },
        { name: 'primary', ip: SHARED, seeds: ['secondary'] },
        { name: 'client', ip: '10.0.0.100', seeds: ['primary', 'secondary'] },
      );
      sim.start('secondary');
      sim.run(1_000);
      sim.start('primary', 'client');
      sim.run(2_000);
      expect(routes(sim)).toEqual({ secondary: 'primary', primary: 'primary', client: 'primary' });
      sim.crash('primary');
      sim.run(sim.peerTimeoutMs + sim.keepaliveMs);
      expect(routes(sim)).toEqual({ secondary: 'secondary', client: 'secondary' });
      sim.restart('primary');
      sim.run(2_000);
      expect(routes(sim)).toEqual({ secondary: 'primary', primary: 'primary', client: 'primary' });
      // 10.0.0.0, the rest of the /31, stays with the secondary throughout
      expect(sim.routeOf('client', '10.0.0.0')).toBe('secondary');
    }));
});
