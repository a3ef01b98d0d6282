import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayWindow } from '../../src/crypto/replay.js';
import { MAX_COUNTER } from '../../src/wire/header.js';
import { SeededRng } from './crypto-harness.js';

describe('replay window', () => {
  it('is at least 2048 packets wide', () => {
    expect(REPLAY_WINDOW).toBeGreaterThanOrEqual(2048);
  });

  it('accepts counter 0 first, then rejects its duplicate', () => {
    const w = new ReplayWindow();
    expect(w.accept(0)).toBe(true);
    expect(w.check(0)).toBe(false);
    expect(w.accept(0)).toBe(false);
    expect(w.accept(1)).toBe(true);
  });

  it('accepts reordered packets within the window exactly once', () => {
    const w = new ReplayWindow();
    expect(w.accept(100)).toBe(true);
    for (let c = 99; c >= 0; c--) expect(w.accept(c)).toBe(true);
    for (let c = 0; c <= 100; c++) expect(w.accept(c)).toBe(false);
  });

  it('rejects packets older than the window, accepts the oldest one inside it', () => {
    const w = new ReplayWindow();
    const last = 10_000;
    expect(w.accept(last)).toBe(true);
    expect(w.check(last - REPLAY_WINDOW)).toBe(true);
    expect(w.check(last - REPLAY_WINDOW - 1)).toBe(false);
    expect(w.accept(last - REPLAY_WINDOW)).toBe(true);
    expect(w.accept(last - REPLAY_WINDOW)).toBe(false);
  });

  it('handles a jump far ahead: everything behind the window is too old, nothing stale remains', () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 500; c++) w.accept(c);
    const far = 1_000_000_000_123;
    expect(w.accept(far)).toBe(true);
    expect(w.accept(499)).toBe(false); // too old now
    // bits set before the jump must not make fresh counters look like duplicates
    for (let c = far - REPLAY_WINDOW; c < far; c++) expect(w.check(c)).toBe(true);
    expect(w.accept(far - 1)).toBe(true);
  });

  it('clears recycled ring words when sliding by less than the ring (wrap/shift)', () => {
    const w = new ReplayWindow();
    // walk forward in steps that wrap the ring many times, with a duplicate probe each time
    let c = 0;
    for (let i = 0; i < 2000; i++) {
      c += 1 + (i % 97) * 13;
      expect(w.accept(c)).toBe(true);
      expect(w.accept(c)).toBe(false);
      expect(w.check(c + 1)).toBe(true);
      if (c > REPLAY_WINDOW) expect(w.check(c - REPLAY_WINDOW - 1)).toBe(false);
    }
  });

  it('matches a naive set-based oracle on random traffic', () => {
    const rng = new SeededRng(7);
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let highest = -1;
    for (let i = 0; i < 50_000; i++) {
      const base = Math.max(0, highest);
      const c = Math.max(0, base + rng.int(6000) - 4500);
      const expected = !seen.has(c) && (highest < 0 || c > highest || highest - c <= REPLAY_WINDOW);
      expect(w.accept(c)).toBe(expected);
      if (expected) { seen.add(c); highest = Math.max(highest, c); }
    }
  });

  it('rejects counters beyond 2^53 - 1 and negative ones', () => {
    const w = new ReplayWindow();
    expect(w.check(MAX_COUNTER)).toBe(true);
    expect(w.check(MAX_COUNTER + 1)).toBe(false);
    expect(w.check(-1)).toBe(false);
    expect(w.accept(MAX_COUNTER)).toBe(true);
    expect(w.accept(MAX_COUNTER)).toBe(false);
    expect(w.accept(MAX_COUNTER - 1)).toBe(true);
  });
});
