// The HA scenarios once more over the real secure channel: handshakes, AEAD and replay
// protection between the engines, with loss, so the boundary in src/core/channel.ts holds
// for the real implementation and not only for the simulator's.
import { describe, expect, it } from 'vitest';
import { runSeeded, Sim } from './harness.js';
import { SimRng } from './rng.js';
import { secureChannel } from './secure-channel.js';

const SHARED = '10.0.0.1';

function cluster(seed: number, identity: 'key' | 'password'): Sim {
  const psk = new Uint8Array(32);
  new SimRng(seed).fill(psk);
  const sim = new Sim({ seed, channel: secureChannel(psk), link: { loss: 0.05, latencyMs: 1, jitterMs: 1, duplicate: 0.01 } });
  sim.add(
    { name: 'a', ip: SHARED, seeds: ['b'], identity },
    { name: 'b', ip: SHARED, seeds: ['a'], identity },
    { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
  );
  sim.start('a');
  sim.run(100);
  sim.start('b', 'c');
  sim.run(3_000);
  return sim;
}

const routes = (sim: Sim): string[] => sim.routesTo(SHARED);

describe('over the real SecureChannel', () => {
  for (const identity of ['key', 'password'] as const) {
    it(`crash, failover, restart without switching back, graceful stop (${identity} mode, 5 % loss)`, () =>
      runSeeded(`secure channel ${identity}`, identity === 'key' ? 41 : 42, (seed) => {
        const sim = cluster(seed, identity);
        expect(routes(sim)).toEqual(['a->a', 'b->a', 'c->a']);
        const ping = sim.ping('c', SHARED, 10);
        sim.run(300);
        expect(ping.between(sim.now - 200).every((r) => r.server === 'a')).toBe(true);

        const t0 = sim.now;
        sim.crash('a');
        expect(sim.runUntilTrue(() => routes(sim).every((r) => r.endsWith('->b')), 3_000)).toBe(true);
        expect(sim.now - t0).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs);
        sim.run(100);
        expect(ping.firstReplyAfter(t0, 'b')!.at - t0).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs + 30);

        sim.restart('a');
        const t1 = sim.now;
        sim.run(5_000);
        expect(routes(sim)).toEqual(['a->b', 'b->b', 'c->b']);
        expect(sim.events((e) => e.t > t1 && e.node !== 'a' && e.event.type === 'route-change')).toEqual([]);
        expect(sim.node('a').mustEngine().status(sim.clock(sim.node('a'))).peers).toHaveLength(2);

        const t2 = sim.now;
        sim.stop('b');
        expect(sim.runUntilTrue(() => sim.routeOf('c', SHARED) === 'a', 1_000)).toBe(true);
        expect(sim.now - t2).toBeLessThan(100);
        // every datagram the channel refused was counted, none crashed the engine
        const drops = sim.node('c').mustEngine().status(sim.clock(sim.node('c'))).drops;
        expect(drops.auth).toBe(0);
      }));
  }
});
