// Durations in config values: a bare number is seconds (VpnCloud's unit, decimals allowed),
// or a number with a unit: "300ms", "2s", "5m", "1h". Everything is resolved to milliseconds.
import { ValueError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Node timers overflow above 2^31-1 ms (~24.8 days) and then fire almost at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION_RE = /^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?$/;

const HINT = 'use seconds like 0.5 or 2, or a unit: 300ms, 2s, 5m, 1h';

/**
 * Parse a duration (number of seconds, or a string as above) into whole milliseconds.
 * Throws ValueError on anything else, on negative values and on values a timer cannot hold.
 */
export function parseDurationMs(input: string | number): number {
  let ms: number;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new ValueError(`${input} is not a duration (${HINT})`);
    ms = input * 1000;
  } else {
    const m = DURATION_RE.exec(input.trim());
    if (!m) throw new ValueError(`'${input}' is not a duration (${HINT})`);
    ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  }
  const rounded = Math.round(ms);
  if (ms > 0 && rounded === 0) throw new ValueError(`'${input}' is shorter than 1ms`);
  if (rounded > MAX_DURATION_MS) throw new ValueError(`'${input}' is too long (at most 24 days)`);
  return rounded;
}

/** Short human form for messages: "500ms", "3s", "1.5s", "5m". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
