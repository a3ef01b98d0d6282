// Fuzz the configuration loaders: YAML files (config/example.yaml and other valid files,
// mutated, written to a temp dir and read with loadConfigFile, then resolved) and command
// lines (valid ones mutated, through parseArgs, which reads --config files too). Each input
// must give a Config or a ConfigError whose message is one line — never another exception,
// never a stack trace. Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, type Env } from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/load.js';
import { mergeSettings } from '../../src/config/merge.js';
import { resolveSettings } from '../../src/config/resolve.js';
import { encodeKey, generateKeyPair } from '../../src/crypto/keys.js';
import { ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng } from './fuzz/run.js';
import { TextMutator } from './fuzz/text.js';

const YAML_COUNT = budget(0.003);
const ARGV_COUNT = budget(0.001);
const FILE = 'test/unit/fuzz-config.test.ts';
const EXAMPLE = fileURLToPath(new URL('../../config/example.yaml', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'hacloud-fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid file and command line of each kind: password and key mode, flow style, anchors, IPv6. */
function corpus(rng: ReturnType<typeof targetRng>) {
  const me = generateKeyPair(rng);
  const other = generateKeyPair(rng);
  const yaml = [
    readFileSync(EXAMPLE, 'utf8'),
    ['ip: 2001:db8::1/64', "listen: '[::1]:4000'", "peers: [a.example:1, '[2001:db8::2]:3210']",
      'claims: 10.9.0.0/16, 2001:db8:9::/48', 'crypto:', `  private-key: ${encodeKey(me.seed)}`, `  public-key: ${me.id}`,
      '  trusted-keys:', `    - ${other.id}`, '  algorithms: chacha20-poly1305', 'peer-timeout: 800ms', 'keepalive: 100ms',
      'mtu: 1380', 'log-level: debug'].join('\n'),
    '{ip: 10.1.0.1, crypto: {password: "p w"}, routes: false, auto-claim: false, device: {name: vpn0, type: tun}}',
    ['crypto:', '  password: &pw "0123"', 'ifup: *pw', 'peers:', '  - &p 10.0.0.2', '  - 10.0.0.3:4000', 'claims:', '  - 10.5.0.0/24',
      'control-socket: /tmp/x.sock', 'metrics-listen: 9310', 'stats-file: /tmp/s.yaml', 'pid-file: /tmp/p', 'user: nobody',
      'group: nogroup', 'log-file: /tmp/l', 'device:', '  path: /dev/net/tun', 'ifdown: ~'].join('\n'),
  ];
  const keyFile = join(dir, 'key-mode.yaml');
  writeFileSync(keyFile, yaml[1]!);
  const pw = { PASSWORD: 'from-env' };
  const argv: { args: string[]; env: Env }[] = [
    { env: {}, args: ['--password', 'mysecret', '--ip', '10.0.0.100', '-c', 'server-a:3210', '-c', 'server-b', '--peer-timeout', '5', '--keepalive', '2'] },
    { env: {}, args: ['-t', 'tun', '-d', 'vpn%d', '--device-path', '/dev/tun', '--ip', '10.1.0.1/16', '-l', '127.0.0.1:4000', '--connect', 'a',
      '--peer', 'b:1', '-c', '[::1]:2', '--claim', '10.2.0.0/24,10.3.0.0/24', '--no-auto-claim', '--peer-timeout', '1.5s',
      '--keepalive', '300ms', '--mtu', '1380', '--ifup', 'echo up', '--ifdown', 'echo down', '--log-file', '/tmp/h.log',
      '--private-key', encodeKey(me.seed), '--public-key', me.id, '--trusted-key', other.id, '--algorithm', 'chacha20-poly1305',
      '--algorithm', 'aes256-gcm', '--control-socket', '/tmp/h.sock', '--metrics-listen', '[::1]:9310', '--stats-file',
      '/tmp/stats.yaml', '--pid-file', '/tmp/h.pid', '--user', 'nobody', '--group', 'nogroup', '--no-routes', '-vv'] },
    { env: {}, args: ['--config', EXAMPLE, '-c', 'extra:1', '-q', '--claim=10.7.0.0/24'] },
    { env: {}, args: ['--config', keyFile, '--ip', '10.0.0.1', '--mtu', 'auto'] },
    { env: pw, args: ['--ip', '10.0.0.1/24', '--algorithm', 'plain'] },
  ];
  return { yaml, argv };
}

/** A Config, or a ConfigError with a one-line message; anything else fails the run. */
function expectConfigOrError(run: FuzzRun, i: number, input: unknown, fn: () => unknown): void {
  try {
    fn();
    run.count('config');
  } catch (err) {
    if (!(err instanceof ConfigError)) run.fail(i, input, `not a ConfigError: ${(err as Error)?.stack ?? String(err)}`);
    const msg = err.message;
    // one line, no terminal control, no stack trace
    if (msg === '' || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(msg) || /\bat .*:\d+:\d+\)?$/.test(msg)) {
      run.fail(i, input, `not a one-line message: ${JSON.stringify(msg)}`);
    }
    run.count('error');
  }
}

describe('config fuzz', () => {
  const rng = targetRng('config');
  const { yaml, argv } = corpus(rng);
  const bytes = new ByteMutator(rng, yaml.map((t) => new TextEncoder().encode(t)));
  const text = new TextMutator(bytes, yaml, [...new Set(argv.flatMap((a) => a.args))]);

  it(`loadConfigFile + resolve survive ${YAML_COUNT} mutated YAML files (seed ${FUZZ_SEED})`, () => {
    const path = join(dir, 'fuzz.yaml');
    for (const t of yaml) {
      writeFileSync(path, t);
      expect(() => resolveSettings(mergeSettings(loadConfigFile(path)), { configFile: path }), t).not.toThrow();
    }
    const run: FuzzRun = new FuzzRun('config YAML', FILE);
    for (let i = 0; i < YAML_COUNT; i++) {
      const input = text.yaml(bytes.pick(yaml));
      writeFileSync(path, input);
      run.inputs++;
      expectConfigOrError(run, i, new TextDecoder().decode(input), () =>
        resolveSettings(mergeSettings(loadConfigFile(path)), { configFile: path }));
    }
    run.report();
    expect(run.inputs).toBe(YAML_COUNT);
    if (YAML_COUNT >= 2_000) for (const o of ['config', 'error']) expect(run.outcomes.get(o) ?? 0, o).toBeGreaterThan(YAML_COUNT / 50);
  }, FUZZ_TIMEOUT_MS);

  it(`parseArgs survives ${ARGV_COUNT} mutated command lines (seed ${FUZZ_SEED})`, () => {
    for (const { args, env } of argv) expect(() => parseArgs(args, env), args.join(' ')).not.toThrow();
    const run: FuzzRun = new FuzzRun('parseArgs', FILE);
    for (let i = 0; i < ARGV_COUNT; i++) {
      const base = bytes.pick(argv);
      const input = text.argv(base.args);
      const env = rng.int(4) ? base.env : bytes.pick(argv).env;
      run.inputs++;
      expectConfigOrError(run, i, { argv: input, env }, () => parseArgs(input, env));
    }
    run.report();
    expect(run.inputs).toBe(ARGV_COUNT);
    if (ARGV_COUNT >= 1_000) for (const o of ['config', 'error']) expect(run.outcomes.get(o) ?? 0, o).toBeGreaterThan(ARGV_COUNT / 50);
  }, FUZZ_TIMEOUT_MS);
});
