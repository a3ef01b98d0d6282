// The simulator scale benchmark (bench/sim-scale.ts) on a small cluster: every phase measures,
// and the figures are what the protocol promises at these settings.
import { describe, expect, it } from 'vitest';
import { simScaleTable } from '../../bench/report.js';
import { measureSimScale } from '../../bench/sim-scale.js';

describe('sim-scale bench', () => {
  it('10 nodes: converges, idles, and times a join, a crash and a failover of the shared IP', () => {
    const row = measureSimScale({ nodes: 10, convergeMaxMs: 20_000, phaseMaxMs: 20_000, idleMs: 5_000, cpuBudgetS: 30 }, () => {});
    expect(row.error).toBeUndefined();
    expect(row.converge).toHaveProperty('ms');
    expect(row.knownShare).toBe(1);
    const t = row.peerTimeoutMs + row.keepaliveMs;
    for (const timing of [row.join, row.crash, row.failoverClient, row.failoverAll]) {
      expect(timing).toHaveProperty('ms');
      expect((timing as { ms: number }).ms).toBeLessThanOrEqual(t);
    }
    // full mesh at these settings: keepalives, probes and their answers, a few per peer and second
    expect(row.idle!.datagramsPerS).toBeGreaterThan(9);
    expect(row.idle!.datagramsPerS).toBeLessThan(9 * 6);
    const table = simScaleTable([row]);
    expect(table).toContain('| 10 ');
    expect(table).not.toContain('n/a');
  });

  it('a row out of CPU budget says so instead of measuring', () => {
    const row = measureSimScale({ nodes: 30, convergeMaxMs: 20_000, phaseMaxMs: 20_000, idleMs: 5_000, cpuBudgetS: 0 }, () => {});
    expect(row.converge).toEqual({ over: expect.stringMatching(/^CPU budget spent at 0\.1 s$/) });
    expect(row.join).toEqual({ over: 'not converged' });
    expect(simScaleTable([row])).toContain('n/a (CPU budget spent at 0.1 s)');
  });
});
