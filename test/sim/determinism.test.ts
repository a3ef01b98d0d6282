// A seed must replay exactly: the same seed gives the same event log, datagram for datagram,
// over the simulator's channel and over the real SecureChannel.
import { describe, expect, it } from 'vitest';
import { Sim, type ChannelFactory } from './harness.js';
import { SimRng } from './rng.js';
import { secureChannel } from './secure-channel.js';

function scenario(seed: number, channel?: ChannelFactory): string {
  const sim = new Sim({ seed, ...(channel ? { channel } : {}), link: { loss: 0.1, jitterMs: 3, reorder: 0.05, duplicate: 0.02 } });
  sim.add(
    { name: 'a', ip: '10.0.0.1', seeds: ['b'], identity: 'password' },
    { name: 'b', ip: '10.0.0.1', seeds: ['a'] },
    { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
  );
  sim.start('a', 'b', 'c');
  sim.ping('c', '10.0.0.1', 50);
  sim.run(2_000);
  sim.crash('a');
  sim.run(1_000);
  sim.restart('a');
  sim.run(2_000);
  return JSON.stringify({ log: sim.log, net: sim.net.stats });
}

describe('replay', () => {
  it('the same seed replays exactly; another seed differs', () => {
    expect(scenario(5)).toBe(scenario(5));
    expect(scenario(5)).not.toBe(scenario(6));
  });

  it('also over the real SecureChannel', () => {
    const psk = new Uint8Array(32);
    new SimRng(1).fill(psk);
    expect(scenario(7, secureChannel(psk))).toBe(scenario(7, secureChannel(psk)));
  });
});
