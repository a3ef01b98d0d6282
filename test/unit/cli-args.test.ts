// The command line: VpnCloud-compatible flags, strict parsing, and the YAML file underneath.
import { generateKeyPairSync } from 'node:crypto';
import { publicKeyOf } from '../../src/config/keys.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, parseCommand } from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/errors.js';
import { formatPrefix } from '../../src/wire/addr.js';

const PW = { PASSWORD: 'secret' };

function argsError(argv: string[], env: Record<string, string> = PW): string {
  try {
    parseCommand(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

describe('run options', () => {
  it('parses the HA guide command line', () => {
    const c = parseArgs(['--password', 'mysecret', '--ip', '10.0.0.100', '-c', 'server-a:3210', '-c', 'server-b',
      '--peer-timeout', '5', '--keepalive', '2'], {});
    expect(c.crypto.password).toBe('mysecret');
    expect(c.ip?.text).toBe('10.0.0.100/24');
    expect(c.peers).toEqual([{ host: 'server-a', port: 3210 }, { host: 'server-b', port: 3210 }]);
    expect([c.peerTimeoutMs, c.keepaliveMs]).toEqual([5000, 2000]);
  });

  it('accepts every alias and flag', () => {
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    jwk.x = publicKeyOf(jwk.d!); // the node id is the key's X25519 form
    const trusted = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!;
    const c = parseArgs([
      '-t', 'tun', '-d', 'vpn%d', '--device-path', '/dev/tun', '--ip', '10.1.0.1/16', '-l', '127.0.0.1:4000',
      '--connect', 'a', '--peer', 'b:1', '-c', '[::1]:2', '--claim', '10.2.0.0/24,10.3.0.0/24', '--claim', '10.4.0.0/24',
      '--no-auto-claim', '--peer-timeout', '1.5s', '--keepalive', '300ms', '--mtu', '1380', '--ifup', 'echo up',
      '--ifdown', 'echo down', '--log-file', '/tmp/h.log', '--private-key', jwk.d!, '--public-key', jwk.x!,
      '--trusted-key', trusted, '--algorithm', 'chacha20-poly1305', '--algorithm', 'aes256-gcm',
      '--control-socket', '/tmp/h.sock', '--metrics-listen', '[::1]:9310', '--stats-file', '/tmp/stats.yaml',
      '--pid-file', '/tmp/h.pid', '--user', 'nobody', '--group', 'nogroup', '--no-routes', '-vv',
    ], {});
    expect(c.device).toEqual({ type: 'tun', name: 'vpn%d', path: '/dev/tun' });
    expect(c.ip?.text).toBe('10.1.0.1/16');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(c.peers).toEqual([{ host: 'a', port: 3210 }, { host: 'b', port: 1 }, { host: '::1', port: 2 }]);
    expect(c.claims.map((x) => formatPrefix(x.prefix))).toEqual(['10.2.0.0/24', '10.3.0.0/24', '10.4.0.0/24']);
    expect(c.autoClaim).toBe(false);
    expect([c.peerTimeoutMs, c.keepaliveMs, c.mtu]).toEqual([1500, 300, 1380]);
    expect([c.ifup, c.ifdown, c.logFile]).toEqual(['echo up', 'echo down', '/tmp/h.log']);
    expect(c.crypto).toEqual({
      password: null, network: 'hacloud', identityFile: null, privateKey: jwk.d, publicKey: jwk.x, trustedKeys: [trusted],
      algorithms: ['chacha20-poly1305', 'aes256-gcm'],
    });
    expect(c.controlSocket).toBe('/tmp/h.sock');
    expect(c.metricsListen).toEqual({ host: '::1', port: 9310 });
    expect([c.statsFile, c.pidFile, c.user, c.group, c.routes]).toEqual(['/tmp/stats.yaml', '/tmp/h.pid', 'nobody', 'nogroup', false]);
    expect(c.logLevel).toBe('trace');
  });

  it('maps -v and -q to log levels', () => {
    expect(parseArgs([], PW).logLevel).toBe('info');
    expect(parseArgs(['-v'], PW).logLevel).toBe('debug');
    expect(parseArgs(['-v', '-v', '-v'], PW).logLevel).toBe('trace');
    expect(parseArgs(['-q'], PW).logLevel).toBe('warn');
    expect(parseArgs(['-qq'], PW).logLevel).toBe('error');
  });

  it('takes the password from PASSWORD, but -p wins', () => {
    expect(parseArgs([], { PASSWORD: 'from-env' }).crypto.password).toBe('from-env');
    expect(parseArgs(['-p', 'from-flag'], { PASSWORD: 'from-env' }).crypto.password).toBe('from-flag');
    expect(parseArgs(['-p', 'x'], {}).warnings.some((w) => w.includes('process list'))).toBe(true);
    expect(parseArgs([], { PASSWORD: 'x' }).warnings.some((w) => w.includes('process list'))).toBe(false);
  });

  it('refuses missing credentials', () => {
    expect(argsError(['--ip', '10.0.0.1'], {})).toMatch(/^no credentials: give a password/);
    expect(argsError(['--ip', '10.0.0.1'], { PASSWORD: '' })).toMatch(/^no credentials/);
  });
});

describe('strict parsing', () => {
  it('refuses an unknown flag with a hint, no help dump', () => {
    expect(argsError(['--bogus'])).toBe('unknown option --bogus; see hacloud --help');
    expect(argsError(['--keepalve', '1'])).toBe('unknown option --keepalve (did you mean --keepalive?); see hacloud --help');
    expect(argsError(['--no-autoclaim'])).toBe('unknown option --no-autoclaim (did you mean --no-auto-claim?); see hacloud --help');
    expect(argsError(['-x'])).toBe('unknown option -x; see hacloud --help');
    expect(argsError(['genkey', '--ip', '10.0.0.1'])).toBe("unknown option --ip for 'genkey'; see hacloud genkey --help");
    expect(argsError(['status', '--jsn'])).toBe("unknown option --jsn for 'status' (did you mean --json?); see hacloud status --help");
  });

  it('escapes control characters of the command line in its one-line messages', () => {
    expect(argsError(['--keepalive', '1\r\u001b[2J'])).toMatch(/^--keepalive: '1\\x0d\\x1b\[2J' is not a duration \(/);
  });

  it('refuses stray arguments and suggests a command', () => {
    expect(argsError(['10.0.0.1'])).toBe("unexpected argument '10.0.0.1'; see hacloud --help");
    expect(argsError(['stauts'])).toBe("unexpected argument 'stauts' (did you mean the command 'status'?); see hacloud --help");
  });

  it('refuses a flag without its value', () => {
    expect(argsError(['--ip'])).toBe('--ip needs a value');
    expect(argsError(['-c'])).toBe('-c needs a value');
    expect(argsError(['--ip', '--listen', '1'])).toBe("--ip needs a value (for a value starting with '-' write --ip=VALUE)");
    expect(argsError(['--no-ip'])).toBe('--no-ip is not an option');
  });

  it('takes a value that starts with a dash but is no flag (keys, passwords)', () => {
    let key: string;
    do key = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }).d!; while (!key.startsWith('-'));
    expect(parseArgs(['--private-key', key], {}).crypto.privateKey).toBe(key);
    expect(parseArgs(['--private-key', key, '--trusted-key', key.replace('-', 'A')], {}).crypto.trustedKeys).toHaveLength(1);
    expect(parseArgs(['-p', '-secret'], {}).crypto.password).toBe('-secret');
    expect(() => parseCommand(['genkey', '-p', '-x1'], {})).toThrow(/^genkey --password is gone/);
    expect(argsError(['-p', '-v'])).toBe("-p needs a value (for a value starting with '-' write -p=VALUE)");
    // One key in 4096 starts with two dashes (CI once drew one).
    const dashed = `--${key.slice(2)}`;
    expect(parseArgs(['--private-key', dashed], {}).crypto.privateKey).toBe(dashed);
    expect(parseArgs(['--password', '--not-a-flag'], {}).crypto.password).toBe('--not-a-flag');
    expect(argsError(['--password', '--no-routes'])).toBe("--password needs a value (for a value starting with '-' write --password=VALUE)");
    expect(argsError(['--private-key', '--password', 'x'])).toBe("--private-key needs a value (for a value starting with '-' write --private-key=VALUE)");
  });

  it('refuses a single-valued flag given twice', () => {
    expect(argsError(['--ip', '10.0.0.1', '--ip', '10.0.0.2'])).toBe('--ip is given 2 times; give it once');
  });

  it('names the flag in value errors', () => {
    expect(argsError(['--ip', '10.0.0.1/40'])).toBe("--ip: '10.0.0.1/40': prefix length 40 is longer than 32");
    expect(argsError(['--claim', '10.0.0.0/24,nope'])).toBe("--claim: 'nope' is not an IP address or prefix");
    expect(argsError(['-l', '65536'])).toBe("--listen: '65536' has an invalid port");
    expect(argsError(['-c', 'host:0'])).toBe("--connect: 'host:0' has port 0");
    expect(argsError(['--keepalive', 'fast'])).toMatch(/^--keepalive: 'fast' is not a duration/);
    expect(argsError(['--mtu', '100'])).toBe('--mtu: 100 is outside 576..65535');
    expect(argsError(['--algorithm', 'aes128'])).toBe(
      "--algorithm: unknown algorithm 'aes128' (choose from aes256-gcm, chacha20-poly1305, plain)");
    expect(argsError(['-d', 'a/b'])).toMatch(/^--device: 'a\/b' is not a valid interface name/);
    expect(argsError(['--trusted-key', 'short'])).toMatch(/^--trusted-key: is not a key/);
  });

  it('refuses keepalive >= peer-timeout naming the flags', () => {
    expect(argsError(['--keepalive', '5', '--peer-timeout', '5'])).toBe(
      '--keepalive: keepalive 5s must be shorter than peer-timeout 5s (--peer-timeout)');
  });

  it('refuses tap and --daemon clearly', () => {
    expect(argsError(['-t', 'tap'])).toBe(
      "--type: device type 'tap' is not supported: hacloud routes IP packets by claim and needs 'tun'");
    expect(argsError(['--daemon'])).toBe('--daemon is not supported; run under systemd (see examples/systemd)');
  });
});

describe('with a config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hacloud-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, ...lines: string[]): string => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };

  it('lets flags override the file and merges the lists', () => {
    const path = write('office.yaml',
      'ip: 10.0.0.1', 'listen: 4000', 'peers: [a, b]', 'claims: [10.1.0.0/24]', 'keepalive: 1', 'peer-timeout: 4',
      'crypto: {password: from-file}');
    const c = parseArgs(['--config', path, '--ip', '10.0.0.2/16', '-c', 'c', '-c', 'a', '--claim', '10.2.0.0/24',
      '--keepalive', '0.5'], {});
    expect(c.configFile).toBe(path);
    expect(c.ip?.text).toBe('10.0.0.2/16');
    expect(c.listen.port).toBe(4000);
    expect(c.peers.map((p) => p.host)).toEqual(['a', 'b', 'c']);
    expect(c.claims.map((x) => formatPrefix(x.prefix))).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect([c.keepaliveMs, c.peerTimeoutMs]).toEqual([500, 4000]);
    expect(c.crypto.password).toBe('from-file');
    expect(c.controlSocket).toBe('/run/hacloud/office.sock');
  });

  it('ranks the password: flag over PASSWORD over the file', () => {
    const path = write('pw.yaml', 'crypto: {password: from-file}');
    expect(parseArgs(['--config', path], { PASSWORD: 'from-env' }).crypto.password).toBe('from-env');
    expect(parseArgs(['--config', path, '-p', 'flag'], { PASSWORD: 'from-env' }).crypto.password).toBe('flag');
  });

  it('reports file errors with file:line even when flags are fine', () => {
    const path = write('bad.yaml', 'ip: 10.0.0.1', 'peer-timeout: 1', 'keepalive: 2');
    expect(argsError(['--config', path])).toBe(
      `${path}:3: keepalive: keepalive 2s must be shorter than peer-timeout 1s (${path}:2: peer-timeout)`);
    expect(argsError(['--config', join(dir, 'none.yaml')])).toBe(`cannot read config file ${join(dir, 'none.yaml')}: no such file`);
  });

  it('lets a flag fix a value the file got wrong for this run', () => {
    const path = write('slow.yaml', 'keepalive: 2');
    expect(parseArgs(['--config', path, '--peer-timeout', '10'], PW).peerTimeoutMs).toBe(10_000);
  });
});

describe('commands', () => {
  it('prints help and version instead of running', () => {
    const help = parseCommand(['--help'], {});
    expect(help.kind).toBe('print');
    expect(help.kind === 'print' && help.text).toMatch(/--peer-timeout/);
    expect(help.kind === 'print' && help.text).toMatch(/hacloud genkey/);
    const version = parseCommand(['--version'], {});
    expect(version).toEqual({ kind: 'print', text: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('parses genkey, status and demo', () => {
    expect(parseCommand(['genkey'], PW)).toEqual({ kind: 'genkey' });
    expect(() => parseCommand(['genkey', '--password', 'x'], {})).toThrow(/^genkey --password is gone/);
    expect(parseCommand(['status', '--json'], {})).toEqual(
      { kind: 'status', json: true, controlSocket: '/run/hacloud/hacloud.sock' });
    expect(parseCommand(['status', '--control-socket', '/tmp/x.sock'], {})).toEqual(
      { kind: 'status', json: false, controlSocket: '/tmp/x.sock' });
    expect(parseCommand(['status', '-d', 'vpn0'], {})).toMatchObject({ controlSocket: '/run/hacloud/vpn0.sock' });
    expect(parseCommand(['demo'], {})).toEqual({ kind: 'demo', logLevel: 'info' });
  });

  it('finds the status socket through the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hacloud-status-'));
    try {
      const a = join(dir, 'site.yaml');
      writeFileSync(a, 'crypto: {password: x}\n');
      expect(parseCommand(['status', '--config', a], {})).toMatchObject({ controlSocket: '/run/hacloud/site.sock' });
      const b = join(dir, 'b.yaml');
      writeFileSync(b, 'control-socket: /tmp/b.sock\n');
      expect(parseCommand(['status', '--config', b], {})).toMatchObject({ controlSocket: '/tmp/b.sock' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses run options on other commands', () => {
    expect(argsError(['status', '--ip', '10.0.0.1'])).toBe("unknown option --ip for 'status'; see hacloud status --help");
    expect(argsError(['status', 'extra'])).toBe("unexpected argument 'extra'; see hacloud status --help");
  });
});
