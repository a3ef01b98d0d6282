// The simulator fails fast, naming its seed, instead of spinning: a livelock (events that never
// let simulated time advance) and a storm (a run over its event budget). Its cost at scale is
// measured by `npm run bench -- --only sim-scale` (bench/sim-scale.ts).
import { describe, expect, it } from 'vitest';
import { SimChannel } from './sim-channel.js';
import { Sim, type ChannelFactory } from './harness.js';

/** A channel that always has a timer due: the engine can never catch up (a livelock). */
const alwaysDue: ChannelFactory = (ctx) => {
  const ch = new SimChannel({ id: ctx.identity, rng: ctx.rng, sink: ctx.sink });
  ch.nextDeadline = () => -Infinity;
  return ch;
};

describe('simulator budgets', () => {
  it('a livelock (a timer that is always due) fails at once, naming the seed', () => {
    const sim = new Sim({ seed: 77, channel: alwaysDue });
    sim.add({ name: 'a', ip: '10.0.0.1' });
    sim.start('a');
    expect(() => sim.run(1_000)).toThrow(/^simulator livelock at t=0 \(seed 77\): 100000 events at one instant; nodes due: a/);
  });

  it('a run over its event budget stops with the seed and the busiest nodes', () => {
    const sim = new Sim({ seed: 78, maxEvents: 1_000 });
    sim.add({ name: 'a', ip: '10.0.0.1', seeds: ['b'] }, { name: 'b', ip: '10.0.0.2', seeds: ['a'] });
    sim.start('a', 'b');
    expect(() => sim.run(60_000)).toThrow(/step budget of 1000 events exceeded at t=[\d.]+ ms \(seed 78\); busiest nodes: [ab] \d+/);
  });
});
