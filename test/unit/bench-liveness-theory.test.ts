// The sweep's predicted column must be the formula of src/core/constants.ts' header comment:
// the worked examples there are the reference values.
import { describe, expect, it } from 'vitest';
import { formatRate, predictFalseFailovers } from '../../bench/liveness-theory.js';

describe('predictFalseFailovers', () => {
  it('reproduces the worked examples of constants.ts at 20 % loss', () => {
    const fast = predictFalseFailovers(100, 800, 0.2);
    expect(fast).toMatchObject({ keepalivesLost: 7, probes: 20 });
    expect(fast.perLinkPerSecond).toBeCloseTo(10 * 0.2 ** 7 * 0.36 ** 20, 25);
    expect(formatRate(fast.perLinkPerSecond)).toBe('1.7e-13');
    expect(formatRate(predictFalseFailovers(500, 3_000, 0.2).perLinkPerSecond)).toBe('8.6e-13');
    expect(formatRate(predictFalseFailovers(2_000, 5_000, 0.2).perLinkPerSecond)).toBe('1.3e-10');
  });

  it('counts the probes actually sent when the probe interval is clamped to the minimum timer', () => {
    // S = 75 ms, P = max(10, 125 / 20) = 10 ms: probes at 75, 85, …, 195 ms.
    const r = predictFalseFailovers(25, 200, 0.2);
    expect(r).toMatchObject({ keepalivesLost: 7, probes: 13 });
    expect(r.perLinkPerSecond).toBeCloseTo(40 * 0.2 ** 7 * 0.36 ** 13, 20);
  });

  it('is zero without loss and certain with total loss', () => {
    expect(predictFalseFailovers(50, 400, 0).perLinkPerSecond).toBe(0);
    expect(formatRate(0)).toBe('0');
    expect(predictFalseFailovers(50, 400, 1).perLinkPerSecond).toBe(20);
  });

  it('rejects a loss that is not a fraction', () => {
    expect(() => predictFalseFailovers(100, 800, 20)).toThrow(RangeError);
  });
});
