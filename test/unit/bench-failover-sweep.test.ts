// The failover sweep's counting: a miscount would call a flapping setting clean.
import { describe, expect, it } from 'vitest';
import { fastestClean, isClean, probeSwitches, type SoakResult, type SweepRow } from '../../bench/failover-sweep.js';

const quiet: SoakResult = {
  lossPercent: 20, seconds: 60, peersLost: 0, clientRouteMoves: 0, probeSwitches: 0, statusFailovers: 0,
  suspicions: 40, longestRecoveredMs: 120, stalls: 0, longestStallMs: 0, load1: 1, labCpuPct: 20,
};

function row(peerTimeoutMs: number, gapsMs: number[], soak: Partial<SoakResult> = {}): SweepRow {
  return {
    candidate: { keepaliveMs: 50, peerTimeoutMs },
    soaks: [{ ...quiet, lossPercent: 0 }, { ...quiet, ...soak }],
    failover: { kind: 'kill -9', settings: '', gapsMs, switchBacks: 0 },
  };
}

describe('probeSwitches', () => {
  it('counts changes of the answering server after the mark, not silences', () => {
    const lines = ['answer 1 sa', 'silent 2', 'answer 3 sa', 'silent 4', 'answer 5 sb', 'answer 6 sa'];
    expect(probeSwitches(lines, 2)).toBe(2);
    expect(probeSwitches(lines, 5)).toBe(1); // sb before the mark, sa after it
    expect(probeSwitches(lines, 6)).toBe(0);
    expect(probeSwitches(['silent 1', 'answer 2 sb'], 0)).toBe(0);
  });
});

describe('isClean and fastestClean', () => {
  it('a setting is clean only if no soak saw a death or any of its consequences', () => {
    expect(isClean(row(300, [310]))).toBe(true);
    for (const bad of [{ peersLost: 1 }, { clientRouteMoves: 1 }, { probeSwitches: 1 }, { statusFailovers: 1 }]) {
      expect(isClean(row(300, [310], bad))).toBe(false);
    }
    expect(isClean({ ...row(300, [310]), error: 'lab failed' })).toBe(false);
    expect(isClean({ ...row(300, [310]), soaks: [] })).toBe(false);
  });

  it('picks the clean setting with the lowest kill -9 median', () => {
    const flapping = row(100, [110, 111, 112], { peersLost: 2 });
    const fast = row(200, [220, 190, 215]);
    const slow = row(400, [400, 410, 405]);
    expect(fastestClean([flapping, slow, fast])).toBe(fast);
    expect(fastestClean([flapping])).toBeNull();
    expect(fastestClean([{ ...fast, failover: undefined }])).toBeNull();
  });
});
