// The entry point: exit codes and one-line errors, in-process and through bin/hacloud.js.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

vi.mock('../../src/cli/genkey.js', () => ({
  runGenkey: () => {
    if (process.env['GENKEY_FAILS'] === '1') throw new Error('simulated failure\nsecond line');
    return 'private key for random';
  },
}));

/** Run main() in-process, capturing what it writes. */
async function runMain(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  try {
    await main(argv);
    return { code: process.exitCode, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
    process.env = saved;
    process.exitCode = undefined;
  }
}

describe('main()', () => {
  afterEach(() => { process.exitCode = undefined; });

  it('prints a config error as one line and exits 2', async () => {
    const r = await runMain(['--keepalive', 'x'], { PASSWORD: 'pw' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hacloud: --keepalive: 'x' is not a duration [^\n]*\n$/);
    expect(r.stdout).toBe('');
  });

  it('prints missing credentials as one line and exits 2', async () => {
    const r = await runMain(['--ip', '10.0.0.1'], { PASSWORD: '' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^hacloud: no credentials:/);
  });

  it('prints help on stdout and exits 0', async () => {
    const r = await runMain(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--connect, --peer/);
    expect(r.stderr).toBe('');
  });

  it('runs genkey and prints its output', async () => {
    const r = await runMain(['genkey'], { GENKEY_FAILS: '0' });
    expect(r).toEqual({ code: 0, stdout: 'private key for random\n', stderr: '' });
  });

  it('prints an unexpected error as one line with exit 1, the stack only when asked', async () => {
    const quiet = await runMain(['genkey'], { HACLOUD_DEBUG: '0', GENKEY_FAILS: '1' });
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toBe('hacloud: simulated failure second line (HACLOUD_DEBUG=1 shows details)\n');
    const debug = await runMain(['genkey'], { HACLOUD_DEBUG: '1', GENKEY_FAILS: '1' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^hacloud: simulated failure second line\nError: simulated failure\n[^]*\n {4}at /);
  });
});

/** Build dist/ unless it is newer than every source file of the CLI (npm test builds first). */
function ensureBuilt(): void {
  const built = join(root, 'dist/src/cli/main.js');
  const sources = ['src/cli', 'src/config', 'src/log'].flatMap((d) =>
    readdirSync(join(root, d)).map((f) => join(root, d, f)));
  if (existsSync(built) && sources.every((s) => statSync(s).mtimeMs <= statSync(built).mtimeMs)) return;
  spawnSync('npx', ['tsc', '-p', '.'], { cwd: root, stdio: 'ignore', timeout: 120_000 });
}

describe('bin/hacloud.js', () => {
  beforeAll(() => ensureBuilt(), 150_000);

  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'bin/hacloud.js'), ...args], {
      cwd: root, encoding: 'utf8', timeout: 20_000, env: { ...process.env, PASSWORD: '', HACLOUD_DEBUG: '', ...env },
    });

  it('refuses an unknown flag with one line on stderr and exit code 2', () => {
    const r = run(['--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('hacloud: unknown option --bogus; see hacloud --help\n');
    expect(r.stdout).toBe('');
  });

  it('refuses a bad value with exit code 2 and no stack trace', () => {
    const r = run(['--ip', '10.0.0.1/99', '-p', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("hacloud: --ip: '10.0.0.1/99': prefix length 99 is longer than 32\n");
  });

  it('prints the version', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
