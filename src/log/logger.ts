// The one logger: one line per entry, "2026-01-02T03:04:05.678Z INFO  [node] message k=v",
// to stderr or appended to --log-file. It never throws: a failing log must not stop a VPN.
import { closeSync, openSync, writeSync } from 'node:fs';
import { LOG_LEVELS, DEFAULT_LOG_LEVEL, type LogLevel } from './levels.js';
import { escapeControls } from './text.js';

export { LOG_LEVELS, type LogLevel } from './levels.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  /** -v: peer and claim changes. */
  debug(message: string, fields?: LogFields): void;
  /** -vv: per-message detail. Check enabled('trace') before building costly messages. */
  trace(message: string, fields?: LogFields): void;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  setLevel(level: LogLevel): void;
  /** Prefix every later line with this node's id (null: no prefix). */
  setNodeId(id: string | null): void;
  /** Reopen the log file (after logrotate moved it); no-op for stderr. */
  reopen(): void;
  close(): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Append to this file instead of writing to stderr. */
  file?: string | null;
  /** Where lines go when there is no file; defaults to stderr. For tests. */
  sink?: (line: string) => void;
  /** Wall clock for the timestamps; injectable for tests. */
  now?: () => Date;
}

const LEVEL_TAGS: Record<LogLevel, string> = {
  error: 'ERROR', warn: 'WARN ', info: 'INFO ', debug: 'DEBUG', trace: 'TRACE',
};

export function createLogger(opts: LoggerOptions = {}): Logger {
  let rank = LOG_LEVELS.indexOf(opts.level ?? DEFAULT_LOG_LEVEL);
  let nodeId: string | null = null;
  let fd: number | null = null;
  const now = opts.now ?? (() => new Date());
  const fallback = opts.sink ?? writeStderr;

  const openFile = (): void => {
    if (!opts.file) return;
    try {
      fd = openSync(opts.file, 'a', 0o640);
    } catch (e) {
      fd = null;
      fallback(formatLine(now(), 'warn', nodeId,
        `cannot open log file ${opts.file} (${(e as Error).message}); logging to stderr`, undefined));
    }
  };

  const emit = (line: string): void => {
    if (fd !== null) {
      try {
        writeSync(fd, line);
        return;
      } catch {
        // A full disk or a vanished file: keep the line on stderr rather than losing it.
      }
    }
    fallback(line);
  };

  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) > rank) return;
    try {
      emit(formatLine(now(), level, nodeId, message, fields));
    } catch {
      // Formatting exotic field values must not throw into the caller.
    }
  };

  openFile();
  return {
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
    trace: (m, f) => log('trace', m, f),
    log,
    enabled: (level) => LOG_LEVELS.indexOf(level) <= rank,
    setLevel: (level) => { rank = LOG_LEVELS.indexOf(level); },
    setNodeId: (id) => { nodeId = id; },
    reopen: () => {
      if (!opts.file) return;
      closeQuietly(fd);
      openFile();
    },
    close: () => {
      closeQuietly(fd);
      fd = null;
    },
  };
}

let stderrGuarded = false;

function writeStderr(line: string): void {
  try {
    // An EPIPE on a closed stderr arrives as an 'error' event; unhandled it would kill the node.
    if (!stderrGuarded) {
      process.stderr.on('error', () => {});
      stderrGuarded = true;
    }
    process.stderr.write(line);
  } catch {
    // Nowhere left to report it.
  }
}

function closeQuietly(fd: number | null): void {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

/** One line, always: control characters in messages and values are escaped. */
export function formatLine(time: Date, level: LogLevel, nodeId: string | null, message: string, fields?: LogFields): string {
  let line = `${time.toISOString()} ${LEVEL_TAGS[level]}`;
  if (nodeId) line += ` [${escapeControls(nodeId)}]`;
  line += ` ${escapeControls(message)}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      line += ` ${escapeControls(key)}=${formatValue(value)}`;
    }
  }
  return `${line}\n`;
}

function formatValue(value: unknown): string {
  let text: string;
  if (value instanceof Error) text = value.message;
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === null) {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : escapeControls(text);
}

