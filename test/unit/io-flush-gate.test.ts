// The flush promise of the queueing adapters: one microtask flush per callback however many
// writes were queued, none when the caller corked, and a new one after each flush.
import { describe, expect, it } from 'vitest';
import { FlushGate } from '../../src/io/flush-gate.js';

describe('FlushGate', () => {
  it('schedules one flush for many queued writes, and again after a flush', async () => {
    let flushes = 0;
    const gate: FlushGate = new FlushGate(() => {
      flushes++;
      gate.flushed();
    });
    gate.queued();
    gate.queued();
    expect(flushes).toBe(0); // never synchronous
    await Promise.resolve();
    expect(flushes).toBe(1);
    gate.queued();
    await Promise.resolve();
    expect(flushes).toBe(2);
  });

  it('schedules nothing while corked, until the caller has flushed', async () => {
    let flushes = 0;
    const gate: FlushGate = new FlushGate(() => flushes++);
    gate.cork();
    gate.queued();
    await Promise.resolve();
    expect(flushes).toBe(0);
    gate.flushed(); // the caller's own flush
    gate.queued();
    await Promise.resolve();
    expect(flushes).toBe(1);
  });
});
