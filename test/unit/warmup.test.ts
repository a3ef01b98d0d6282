// The start-up JIT warm-up: a throwaway loop pair of real engines and channels must really
// carry packets both ways (or the warm-up would optimise nothing), and leave no timer behind.
import { describe, expect, it, vi } from 'vitest';
import { systemRng } from '../../src/crypto/rng.js';
import { connectedLoopPair, warmUpDataPath } from '../../src/daemon/warmup.js';

describe('data path warm-up', () => {
  for (const algorithm of ['aes256', 'chacha20', 'plain'] as const) {
    it(`carries every packet through sealed sessions (${algorithm})`, () => {
      const result = warmUpDataPath(algorithm, systemRng(), 2048);
      expect(result).toEqual({ packets: 2048, ms: expect.any(Number) });
    });
  }

  it('delivers a batch read on one side to the other side only', () => {
    const pair = connectedLoopPair({ algorithm: 'chacha20', rng: systemRng(), batch: 8, packetBytes: 600 });
    expect(pair).toBeDefined();
    const { a, b, wire } = pair!;
    try {
      a.tun.read();
      wire.pump();
      expect(b.tun.stats.writePackets).toBe(8);
      expect(a.tun.stats.writePackets).toBe(0);
      expect(a.engine.status(0).peers.map((p) => p.algorithm)).toEqual(['chacha20']);
    } finally {
      a.plane.stop();
      b.plane.stop();
    }
  });

  it('stops its data planes: no timer outlives the warm-up', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'] });
    try {
      expect(warmUpDataPath('aes256', systemRng(), 512)).toMatchObject({ packets: 512 });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
