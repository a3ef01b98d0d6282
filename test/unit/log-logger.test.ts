import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, formatLine } from '../../src/log/logger.js';
import { levelFromVerbosity, type LogLevel } from '../../src/log/levels.js';

const T = new Date('2026-01-02T03:04:05.678Z');

function capture(level?: LogLevel) {
  const lines: string[] = [];
  const log = createLogger({ level, sink: (l) => lines.push(l), now: () => T });
  return { log, lines };
}

describe('logger', () => {
  it('writes one line with ISO time, level and message', () => {
    const { log, lines } = capture();
    log.info('node started', { port: 3210 });
    expect(lines).toEqual(['2026-01-02T03:04:05.678Z INFO  node started port=3210\n']);
  });

  it('prefixes the node id once it is known', () => {
    const { log, lines } = capture();
    log.warn('before');
    log.setNodeId('k3Jd9aQe');
    log.error('after');
    expect(lines).toEqual([
      '2026-01-02T03:04:05.678Z WARN  before\n',
      '2026-01-02T03:04:05.678Z ERROR [k3Jd9aQe] after\n',
    ]);
  });

  it('filters by level: info by default, -v debug, -vv trace, -q warn', () => {
    const levels = ['error', 'warn', 'info', 'debug', 'trace'] as const;
    const seen = (level: (typeof levels)[number]) => {
      const { log, lines } = capture(level);
      for (const l of levels) log.log(l, l);
      return lines.map((line) => line.split(' ').pop()!.trim());
    };
    expect(seen('info')).toEqual(['error', 'warn', 'info']);
    expect(seen(levelFromVerbosity(1, 0))).toEqual(['error', 'warn', 'info', 'debug']);
    expect(seen(levelFromVerbosity(2, 0))).toEqual([...levels]);
    expect(seen(levelFromVerbosity(0, 1))).toEqual(['error', 'warn']);
    expect(seen(levelFromVerbosity(0, 5))).toEqual(['error']);
    const { log } = capture('warn');
    expect([log.enabled('warn'), log.enabled('info')]).toEqual([true, false]);
    log.setLevel('trace');
    expect(log.enabled('trace')).toBe(true);
  });

  it('keeps every entry on one line', () => {
    const line = formatLine(T, 'info', 'id\nx', 'two\nlines\r\ttab', { why: 'a b', err: new Error('bad\nthing'), list: [1, 2], empty: '' });
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toBe('2026-01-02T03:04:05.678Z INFO  [id\\nx] two\\nlines\\x0d\\ttab why="a b" err="bad\\nthing" list=[1,2] empty=""\n');
  });

  it('never throws on odd field values', () => {
    const { log, lines } = capture();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(() => log.info('odd', { circular, big: 10n, nothing: undefined, nul: null })).not.toThrow();
    expect(lines[0]).toMatch(/ odd circular="\[object Object\]" big=10 nul=null\n$/);
  });

  describe('to a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hacloud-log-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('appends to the file and reopens it after rotation', () => {
      const file = join(dir, 'node.log');
      const first = createLogger({ file, now: () => T });
      first.info('one');
      first.close();
      const log = createLogger({ file, now: () => T });
      log.info('two');
      renameSync(file, `${file}.1`);
      log.reopen();
      log.info('three');
      log.close();
      expect(readFileSync(`${file}.1`, 'utf8')).toBe(
        '2026-01-02T03:04:05.678Z INFO  one\n2026-01-02T03:04:05.678Z INFO  two\n');
      expect(readFileSync(file, 'utf8')).toBe('2026-01-02T03:04:05.678Z INFO  three\n');
    });

    it('falls back to stderr with a warning when the file cannot be opened', () => {
      const lines: string[] = [];
      const log = createLogger({ file: join(dir, 'missing-dir', 'x.log'), sink: (l) => lines.push(l), now: () => T });
      log.info('still here');
      expect(lines[0]).toMatch(/^2026-01-02T03:04:05\.678Z WARN  cannot open log file .*x\.log \(.*ENOENT.*\); logging to stderr\n$/);
      expect(lines[1]).toBe('2026-01-02T03:04:05.678Z INFO  still here\n');
    });

    it('keeps the line on stderr when the file write fails', () => {
      const lines: string[] = [];
      const log = createLogger({ file: '/dev/full', sink: (l) => lines.push(l), now: () => T });
      expect(() => log.info('disk full')).not.toThrow();
      log.close();
      expect(lines).toEqual(['2026-01-02T03:04:05.678Z INFO  disk full\n']);
    });
  });
});
