// Log levels, most severe first. -v raises the default (info) to debug, -vv to trace;
// -q lowers it to warn, -qq to error.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** The level after `verbose` -v and `quiet` -q flags, clamped to the known levels. */
export function levelFromVerbosity(verbose: number, quiet: number, base: LogLevel = DEFAULT_LOG_LEVEL): LogLevel {
  const i = LOG_LEVELS.indexOf(base) + verbose - quiet;
  return LOG_LEVELS[Math.max(0, Math.min(LOG_LEVELS.length - 1, i))]!;
}
