import { describe, expect, it } from 'vitest';
import { formatDurationMs, MAX_DURATION_MS, parseDurationMs } from '../../src/config/duration.js';
import { ValueError } from '../../src/config/errors.js';

describe('parseDurationMs', () => {
  it.each([
    ['0.5', 500],
    ['2', 2000],
    ['.25', 250],
    ['300ms', 300],
    ['2s', 2000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    [' 2 s ', 2000],
    ['0', 0],
  ])('parses %j as %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('takes numbers as seconds (YAML `keepalive: 0.5`)', () => {
    expect(parseDurationMs(0.5)).toBe(500);
    expect(parseDurationMs(5)).toBe(5000);
  });

  it('rounds to whole milliseconds', () => {
    expect(parseDurationMs('0.0015')).toBe(2);
    expect(parseDurationMs('1.4ms')).toBe(1);
  });

  it.each(['', 'abc', '2x', '-1', '1e3', '5 minutes', '1m30s', 'inf', 'NaN', '2.s.', '0x10'])(
    'refuses %j with a hint', (text) => {
      expect(() => parseDurationMs(text)).toThrow(ValueError);
      expect(() => parseDurationMs(text)).toThrow(/is not a duration \(use seconds like 0\.5 or 2, or a unit/);
    });

  it('refuses negative and non-finite numbers', () => {
    expect(() => parseDurationMs(-1)).toThrow(/not a duration/);
    expect(() => parseDurationMs(Infinity)).toThrow(/not a duration/);
    expect(() => parseDurationMs(NaN)).toThrow(/not a duration/);
  });

  it('refuses values below 1ms that are not zero', () => {
    expect(() => parseDurationMs('0.4ms')).toThrow(/shorter than 1ms/);
  });

  it('refuses values a Node timer cannot hold', () => {
    expect(parseDurationMs(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(() => parseDurationMs('25d')).toThrow(/not a duration/);
    expect(() => parseDurationMs('600h')).toThrow(/too long/);
  });
});

describe('formatDurationMs', () => {
  it.each([[500, '500ms'], [3000, '3s'], [1500, '1.5s'], [300_000, '5m'], [7_200_000, '2h']])(
    '%i ms → %s', (ms, text) => {
      expect(formatDurationMs(ms)).toBe(text);
    });
});
