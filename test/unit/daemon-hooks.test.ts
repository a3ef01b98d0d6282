import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runHook } from '../../src/daemon/hooks.js';
import { createLogger } from '../../src/log/logger.js';

function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.charAt(0);
  } catch {
    return 'gone';
  }
}

describe('ifup/ifdown hooks', () => {
  let dir: string;
  let lines: string[];
  const log = () => createLogger({ level: 'debug', sink: (l) => lines.push(l) });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-hook-'));
    lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the script with /bin/sh and IFNAME plus extra variables in its environment', async () => {
    const out = join(dir, 'out');
    await runHook('ifup', `echo "$IFNAME $EXTRA" > ${out}`, { IFNAME: 'hacloud7', EXTRA: 'x y' }, log());
    expect(readFileSync(out, 'utf8')).toBe('hacloud7 x y\n');
    expect(lines.some((l) => l.includes('DEBUG') && l.includes('ifup script done'))).toBe(true);
  });

  it('logs a non-zero exit with the last line of output, without throwing', async () => {
    await expect(runHook('ifdown', 'echo first; echo "it failed" >&2; exit 3', { IFNAME: 'x' }, log())).resolves.toBeUndefined();
    const line = lines.find((l) => l.includes('ifdown script failed'));
    expect(line).toMatch(/WARN .*exit=3 .*output="it failed"/);
  });

  it('stops a script that runs too long, including what it started', async () => {
    const started = Date.now();
    const pidFile = join(dir, 'pid');
    await runHook('ifup', `sleep 30 & echo $! > ${pidFile}; wait`, { IFNAME: 'x' }, log(), 200);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(lines.some((l) => l.includes('ifup script timed out'))).toBe(true);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    // The background sleep is gone too (a zombie until init reaps it counts as gone).
    expect(processState(child)).toMatch(/^(gone|Z)$/);
  });
});
