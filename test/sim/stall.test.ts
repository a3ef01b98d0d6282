import { describe, expect, it } from 'vitest';
import { runSeeded, Sim } from './harness.js';

const SHARED = '10.0.0.1';

describe('wake from sleep', () => {
  it('a node stalled far past the peer timeout does not declare everyone dead when it wakes', () =>
    runSeeded('stall guard', 51, (seed) => {
      const sim = new Sim({ seed });
      sim.add(
        { name: 'a', ip: SHARED, seeds: ['b'] },
        { name: 'b', ip: SHARED, seeds: ['a'] },
        { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
        { name: 'd', ip: '10.0.0.101', seeds: ['a', 'b'] },
      );
      sim.start('a');
      sim.run(50);
      sim.start('b', 'c', 'd');
      sim.run(2_000);
      const frozenAt = sim.now;
      sim.freeze('c', 10 * sim.peerTimeoutMs);
      sim.run(1_000);
      sim.crash('a'); // dies while c sleeps
      sim.run(10 * sim.peerTimeoutMs - 1_000);
      const woke = sim.now;
      sim.run(3_000);

      const atC = sim.events((e) => e.node === 'c' && e.t >= woke);
      expect(atC.some((e) => e.event.type === 'stall' && e.event.gapMs >= 9 * sim.peerTimeoutMs)).toBe(true);
      const downs = atC.filter((e) => e.event.type === 'peer-down');
      // only the node that really died, and only after a full timeout of awake silence
      expect(downs.map((e) => e.event.type === 'peer-down' && sim.nameOf(e.event.peer))).toEqual(['a']);
      expect(downs[0]!.t - woke).toBeGreaterThanOrEqual(sim.peerTimeoutMs - sim.keepaliveMs);
      expect(downs[0]!.t - woke).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs);
      expect(sim.routeOf('c', SHARED)).toBe('b');
      // the others saw c go and come back
      expect(sim.events((e) => e.node === 'b' && e.t > frozenAt && e.event.type === 'peer-down' && sim.nameOf(e.event.peer) === 'c')).toHaveLength(1);
      expect(sim.node('b').mustEngine().status(sim.clock(sim.node('b'))).peers.map((p) => sim.nameOf(p.id)).sort()).toEqual(['c', 'd']);
    }));
});
