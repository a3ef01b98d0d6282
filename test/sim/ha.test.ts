// HA beyond "the node died": health-checked claims with hysteresis, priorities and
// preemption, drain, a frozen node waking up. Two servers share 10.0.0.1; a client pings it.
import { describe, expect, it } from 'vitest';
import type { OwnClaimSpec } from '../../src/core/own-claims.js';
import { runSeeded, Sim } from './harness.js';

const SHARED = '10.0.0.1';
const INTERVAL_MS = 100;
const HEALTH = { rise: 2, fall: 2 };

type Options = Partial<Omit<OwnClaimSpec, 'prefix'>>;

function cluster(seed: number, a: Options = {}, b: Options = {}): Sim {
  const sim = new Sim({ seed });
  sim.add(
    { name: 'a', ip: SHARED, seeds: ['b'], claimOptions: { [SHARED]: a } },
    { name: 'b', ip: SHARED, seeds: ['a'], claimOptions: { [SHARED]: b } },
    { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
  );
  return sim;
}

const routes = (sim: Sim): string[] => sim.routesTo(SHARED);
const allRouteTo = (sim: Sim, server: string): boolean => sim.live().every((n) => sim.routeOf(n.name, SHARED) === server);
const changesOf = (sim: Sim, node: string, after: number) =>
  sim.events((e) => e.node === node && e.t > after && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`);
const role = (sim: Sim, node: string): string => {
  const n = sim.node(node);
  return n.mustEngine().status(sim.clock(n)).ownClaims.find((c) => c.prefix === `${SHARED}/32`)!.role;
};

describe('health-checked claims', () => {
  it('a failing check withdraws the claim after `fall` checks; the client is served by the other within interval × fall + a keepalive', () =>
    runSeeded('health withdraw', 41, (seed) => {
      const sim = cluster(seed, { health: HEALTH }, { health: HEALTH });
      let aUp = true;
      sim.start('a');
      sim.checkHealth('a', SHARED, INTERVAL_MS, () => aUp);
      sim.run(150);
      sim.start('b', 'c');
      sim.checkHealth('b', SHARED, INTERVAL_MS, () => true);
      sim.run(3_000);
      expect(routes(sim)).toEqual(['a->a', 'b->a', 'c->a']);
      expect([role(sim, 'a'), role(sim, 'b')]).toEqual(['active', 'standby']);
      const ping = sim.ping('c', SHARED, 10);
      sim.run(200);
      const t0 = sim.now;
      aUp = false; // the service on a dies; hacloud on a keeps running
      expect(sim.runUntilTrue(() => allRouteTo(sim, 'b'), 5_000)).toBe(true);
      const switchMs = sim.now - t0;
      expect(switchMs).toBeLessThanOrEqual(INTERVAL_MS * HEALTH.fall + sim.keepaliveMs);
      sim.run(300);
      expect(ping.firstReplyAfter(t0, 'b')!.at - t0).toBeLessThanOrEqual(INTERVAL_MS * HEALTH.fall + sim.keepaliveMs + 20);
      for (const n of ['b', 'c']) {
        expect(changesOf(sim, n, t0).map((e) => e.event.type === 'route-change' && e.event.cause)).toEqual(['health']);
      }
      expect(role(sim, 'a')).toBe('withdrawn');
      // a's peers still see the claim, withdrawn, and a is still their peer: only the claim moved
      const atC = sim.node('c').mustEngine().status(sim.clock(sim.node('c')));
      expect(atC.routes.find((r) => r.prefix === `${SHARED}/32`)!.claimants.map((x) => [sim.nameOf(x.id), x.state])).toEqual([['b', 'up'], ['a', 'unhealthy']]);
      expect(atC.peers.map((p) => sim.nameOf(p.id)).sort()).toEqual(['a', 'b']);
      // the service comes back: a is announced again after `rise` checks, as standby (no preemption)
      aUp = true;
      sim.run(INTERVAL_MS * (HEALTH.rise + 1) + 200);
      expect(role(sim, 'a')).toBe('standby');
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b']);
    }));

  it('a flapping check never moves the route faster than rise/fall allow', () =>
    runSeeded('health flapping', 42, (seed) => {
      const sim = cluster(seed, { health: { rise: 3, fall: 3 } }, {});
      sim.start('a', 'b', 'c');
      let n = 0;
      const flip = [true, true, true];
      // first a solid start, then every check the opposite of the one before
      sim.checkHealth('a', SHARED, INTERVAL_MS, () => (n < flip.length ? flip[n++]! : n++ % 2 === 0));
      sim.run(2_000);
      const t0 = sim.now;
      const before = routes(sim).join(' ');
      sim.run(30_000);
      expect(changesOf(sim, 'c', t0)).toEqual([]);
      expect(routes(sim).join(' ')).toBe(before);
    }));

  it('random check results move the route at most once per `fall` (or `rise`) checks', () =>
    runSeeded('health random', 43, (seed) => {
      const sim = cluster(seed, { health: { rise: 2, fall: 3 }, priority: 150, preempt: true }, {});
      sim.start('a', 'b', 'c');
      const rng = sim.rng.fork();
      sim.checkHealth('a', SHARED, INTERVAL_MS, () => rng.chance(0.5));
      sim.run(1_000);
      const t0 = sim.now;
      const durationMs = 60_000;
      sim.run(durationMs);
      const changes = changesOf(sim, 'c', t0);
      expect(changes.length).toBeGreaterThan(0); // the scenario did exercise it
      // each change needs at least min(rise, fall) = 2 fresh checks
      expect(changes.length).toBeLessThanOrEqual(durationMs / (INTERVAL_MS * 2));
      for (let i = 1; i < changes.length; i++) expect(changes[i]!.t - changes[i - 1]!.t).toBeGreaterThanOrEqual(2 * INTERVAL_MS - 20);
    }));
});

describe('priority and preemption', () => {
  it('priority beats uptime when nobody serves yet: the higher priority wins although it started later', () =>
    runSeeded('priority over uptime', 44, (seed) => {
      const sim = cluster(seed, {}, { priority: 150 });
      sim.start('a', 'c');
      sim.run(100);
      sim.start('b');
      sim.run(3_000);
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b']);
      const st = sim.node('c').mustEngine().status(sim.clock(sim.node('c')));
      expect(st.routes.find((r) => r.prefix === `${SHARED}/32`)!.reason).toBe('higher priority');
    }));

  it('without preempt a higher priority joining later does not take a served prefix; with preempt it does, after its delay', () =>
    runSeeded('preempt', 45, (seed) => {
      for (const preempt of [false, true]) {
        const sim = cluster(seed, {}, { priority: 150, preempt, preemptDelayMs: 1_000 });
        sim.start('a', 'c');
        sim.run(2_000);
        expect(allRouteTo(sim, 'a')).toBe(true);
        const t0 = sim.now;
        sim.start('b');
        sim.run(900); // within b's preempt delay: nothing moves
        expect(routes(sim)).toEqual(['a->a', 'b->a', 'c->a']);
        const moved = sim.runUntilTrue(() => allRouteTo(sim, 'b'), 5_000);
        expect(moved).toBe(preempt);
        if (preempt) {
          expect(sim.now - t0).toBeGreaterThanOrEqual(1_000);
          expect(sim.now - t0).toBeLessThan(1_000 + 300);
          expect(changesOf(sim, 'c', t0).map((e) => e.event.type === 'route-change' && e.event.cause)).toEqual(['preempt']);
        } else {
          expect(changesOf(sim, 'c', t0)).toEqual([]);
        }
      }
    }));

  it('a higher-priority node returning after a crash takes the prefix back only with preempt', () =>
    runSeeded('preempt on return', 46, (seed) => {
      for (const preempt of [false, true]) {
        const sim = cluster(seed, { priority: 150, preempt }, {});
        sim.start('a', 'b', 'c');
        sim.run(2_000);
        expect(allRouteTo(sim, 'a')).toBe(true);
        sim.crash('a');
        expect(sim.runUntilTrue(() => allRouteTo(sim, 'b'), 3_000)).toBe(true);
        sim.run(500);
        sim.restart('a');
        sim.run(5_000);
        expect(allRouteTo(sim, preempt ? 'a' : 'b')).toBe(true);
      }
    }));
});

describe('drain', () => {
  it('drain moves the prefix without losing a request; undrain makes the node a standby again', () =>
    runSeeded('drain', 47, (seed) => {
      const sim = cluster(seed);
      sim.start('a', 'b', 'c');
      sim.run(2_000);
      expect(allRouteTo(sim, 'a')).toBe(true);
      const ping = sim.ping('c', SHARED, 5);
      sim.run(300);
      const t0 = sim.now;
      sim.drain('a');
      sim.run(2_000);
      ping.stopped = true;
      sim.run(200);
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b']);
      expect(role(sim, 'a')).toBe('withdrawn');
      // every request was answered (by a or b)
      const answered = new Set(ping.replies.map((r) => r.seq));
      expect([...ping.sent.keys()].filter((seq) => !answered.has(seq))).toEqual([]);
      expect(ping.between(t0).some((r) => r.server === 'a')).toBe(true); // a served until c switched
      expect(ping.between(t0 + 500).every((r) => r.server === 'b')).toBe(true);
      expect(changesOf(sim, 'c', t0).map((e) => e.event.type === 'route-change' && e.event.cause)).toEqual(['drain']);
      const progress = sim.node('a').mustEngine().drainProgress(null);
      expect(progress).toEqual({ peers: 2, acked: 2, settled: true });
      sim.undrain('a');
      sim.run(1_000);
      expect(role(sim, 'a')).toBe('standby');
      expect(allRouteTo(sim, 'b')).toBe(true);
    }));
});

describe('a frozen node', () => {
  it('frozen for 3 × the peer timeout, the serving node wakes without stealing the prefix back', () =>
    runSeeded('freeze', 48, (seed) => {
      const sim = cluster(seed, { priority: 150 }, {});
      sim.start('a', 'b', 'c');
      sim.run(2_000);
      expect(allRouteTo(sim, 'a')).toBe(true);
      sim.freeze('a', 3 * sim.peerTimeoutMs);
      sim.run(3 * sim.peerTimeoutMs);
      expect(routes(sim).filter((r) => !r.startsWith('a'))).toEqual(['b->b', 'c->b']);
      const woke = sim.now;
      sim.run(5_000);
      expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b']);
      for (const n of ['b', 'c']) expect(changesOf(sim, n, woke)).toEqual([]);
      expect(role(sim, 'a')).toBe('standby');
    }));
});
