// YAML config files: every error is one line "FILE:LINE: KEY: what is wrong".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { formatPrefix } from '../../src/wire/addr.js';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function errorOf(text: string): string {
  try {
    parseConfigText(text, 'node.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfigText', () => {
  it('reads every kind of value', () => {
    const s = parseConfigText(yaml(
      'ip: 10.0.0.1/16',
      'listen: 4000',
      'peers: [a, "b:5", "[::1]:7"]',
      'claims: 10.1.0.0/24, 10.2.0.0/24',
      'auto-claim: false',
      'peer-timeout: 5',
      'keepalive: 300ms',
      'mtu: 1400',
      'device: {type: tun, name: vpn0, path: /dev/net/tun}',
      'crypto:',
      '  password: 0123',
      '  algorithms: chacha20-poly1305',
      'user: 1000',
      'routes: false',
      'metrics-listen: 9310',
    ), 'x.yaml');
    expect(s.ip?.[0]?.value.text).toBe('10.0.0.1/16');
    expect(s.listen?.[0]?.value).toEqual({ host: '', port: 4000 });
    expect(s.peers?.map((p) => p.value)).toEqual([
      { host: 'a', port: 3210 }, { host: 'b', port: 5 }, { host: '::1', port: 7 },
    ]);
    expect(s.claims?.map((c) => c.value.kind === 'claim' && formatPrefix(c.value.claim.prefix))).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(s.autoClaim?.[0]?.value).toBe(false);
    expect(s.peerTimeoutMs?.[0]?.value).toBe(5000);
    expect(s.keepaliveMs?.[0]?.value).toBe(300);
    expect(s.mtu?.[0]?.value).toBe(1400);
    expect(s.deviceName?.[0]?.value).toBe('vpn0');
    expect(s.password?.[0]?.value).toBe('0123'); // as written, not the number 123
    expect(s.algorithms?.map((a) => a.value)).toEqual(['chacha20-poly1305']);
    expect(s.user?.[0]?.value).toBe('1000');
    expect(s.routes?.[0]?.value).toBe(false);
    expect(s.metricsListen?.[0]?.value).toEqual({ host: '127.0.0.1', port: 9310 });
  });

  it('records file:line and key for each value', () => {
    const s = parseConfigText(yaml('# comment', 'peers:', '  - a', '  - b'), 'n.yaml');
    expect(s.peers?.map((p) => p.where)).toEqual(['n.yaml:3: peers', 'n.yaml:4: peers']);
  });

  it('treats an empty file, empty values and ~ as unset', () => {
    expect(parseConfigText('', 'e.yaml')).toEqual({});
    expect(parseConfigText('# nothing\n', 'e.yaml')).toEqual({});
    expect(parseConfigText(yaml('ifup:', 'ifdown: ~', 'crypto:'), 'e.yaml')).toEqual({});
  });

  it('resolves YAML aliases', () => {
    const s = parseConfigText(yaml('ip: &a 10.0.0.5', 'claims: [*a]'), 'a.yaml');
    const item = s.claims![0]!.value;
    expect(item.kind === 'claim' && formatPrefix(item.claim.prefix)).toBe('10.0.0.5/32');
  });

  it('refuses an unknown key with file:line and a suggestion', () => {
    expect(errorOf(yaml('ip: 10.0.0.1', 'peer: a'))).toBe("node.yaml:2: unknown key 'peer' (did you mean 'peers'?)");
    expect(errorOf(yaml('bogus: 1'))).toBe("node.yaml:1: unknown key 'bogus'");
  });

  it('refuses unknown keys inside sections, naming the full key', () => {
    expect(errorOf(yaml('crypto:', '  password: x', '  pasword: y'))).toBe(
      "node.yaml:3: unknown key 'crypto.pasword' (did you mean 'crypto.password'?)");
    expect(errorOf(yaml('device:', '  mtu: 1400'))).toMatch(/^node\.yaml:2: unknown key 'device\.mtu'/);
  });

  it('points a flag name used as a key to the file key', () => {
    expect(errorOf(yaml('password: x'))).toBe(
      "node.yaml:1: unknown key 'password' (in a config file it is 'crypto.password')");
  });

  it('explains VpnCloud keys hacloud does not have', () => {
    expect(errorOf(yaml('mode: router'))).toMatch(/^node\.yaml:1: mode: not supported: hacloud always routes by claims/);
    expect(errorOf(yaml('beacon:', '  store: x'))).toMatch(/^node\.yaml:1: beacon: not supported/);
  });

  it('refuses wrong types', () => {
    expect(errorOf(yaml('auto-claim: "yes"'))).toBe("node.yaml:1: auto-claim: expected true or false, got 'yes'");
    expect(errorOf(yaml('peers: {a: 1}'))).toBe('node.yaml:1: peers: list items must be single values');
    expect(errorOf(yaml('ip: [10.0.0.1]'))).toBe('node.yaml:1: ip: expected a single value, not a list');
    expect(errorOf(yaml('keepalive:', '  a: 1'))).toBe('node.yaml:2: keepalive: expected a single value, not a section');
    expect(errorOf(yaml('keepalive: true'))).toBe('node.yaml:1: keepalive: expected a duration, got true');
    expect(errorOf(yaml('mtu: big'))).toBe("node.yaml:1: mtu: expected 'auto' or a number of bytes, got 'big'");
    expect(errorOf(yaml('crypto: secret'))).toBe('node.yaml:1: crypto: expected a section of "key: value" lines');
    expect(errorOf(yaml('crypto:', '  password: true'))).toMatch(
      /^node\.yaml:2: crypto\.password: expected text, got the boolean true \(quote it/);
    expect(errorOf(yaml('- a', '- b'))).toBe('node.yaml:1: expected settings as "key: value" lines at the top level');
  });

  it('refuses a bad list item on its own line', () => {
    expect(errorOf(yaml('peers:', '  - a:1', '  - b:99999'))).toBe("node.yaml:3: peers: 'b:99999' has an invalid port");
    expect(errorOf(yaml('peers:', '  - a', '  -'))).toBe('node.yaml:3: peers: empty value in the list');
  });

  it('refuses bad addresses, prefixes and ports', () => {
    expect(errorOf(yaml('ip: 10.0.0.300'))).toMatch(/^node\.yaml:1: ip: '10\.0\.0\.300' is not an IP address/);
    expect(errorOf(yaml('ip: 10.0.0.1/33'))).toBe("node.yaml:1: ip: '10.0.0.1/33': prefix length 33 is longer than 32");
    expect(errorOf(yaml('claims: [10.0.0.0/24, 10.0.0.0/x]'))).toBe("node.yaml:1: claims: '10.0.0.0/x' has an invalid prefix length");
    expect(errorOf(yaml('listen: 70000'))).toBe("node.yaml:1: listen: '70000' has an invalid port");
    expect(errorOf(yaml('listen: myhost:3210'))).toMatch(/^node\.yaml:1: listen: .*must be an IP address/);
    expect(errorOf(yaml('metrics-listen: 0'))).toMatch(/^node\.yaml:1: metrics-listen: .*port other than 0/);
    expect(errorOf(yaml('peers: [":3210"]'))).toMatch(/^node\.yaml:1: peers: /);
  });

  it('refuses bad durations', () => {
    expect(errorOf(yaml('peer-timeout: 5x'))).toMatch(/^node\.yaml:1: peer-timeout: '5x' is not a duration \(use seconds/);
    expect(errorOf(yaml('keepalive: -1'))).toMatch(/^node\.yaml:1: keepalive: -1 is not a duration/);
  });

  it('refuses the tap device type clearly', () => {
    expect(errorOf(yaml('device:', '  type: tap'))).toBe(
      "node.yaml:2: device.type: device type 'tap' is not supported: hacloud routes IP packets by claim and needs 'tun'");
  });

  it('refuses malformed keys without echoing them', () => {
    const message = errorOf(yaml('crypto:', '  private-key: not-a-key'));
    expect(message).toMatch(/^node\.yaml:2: crypto\.private-key: is not a key: expected 43 base64url characters, got 9/);
    expect(message).not.toContain('not-a-key');
  });

  it('escapes control characters it quotes, so the message stays one line (found by fuzz-config)', () => {
    expect(errorOf(yaml('control\rsocket: /tmp/x.sock'))).toBe(
      "node.yaml:1: unknown key 'control\\x0dsocket' (did you mean 'control-socket'?)");
    expect(errorOf(yaml('"ip\\e[2J\\u2028": 1'))).toBe("node.yaml:1: unknown key 'ip\\x1b[2J\\u2028'");
  });

  it('refuses invalid YAML with its line', () => {
    expect(errorOf(yaml('ip: 10.0.0.1', 'peers: [a, b'))).toMatch(/^node\.yaml:\d+: invalid YAML: /);
    expect(errorOf(yaml('ip: 10.0.0.1', 'ip: 10.0.0.2'))).toBe('node.yaml:2: invalid YAML: Map keys must be unique');
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hacloud-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in messages', () => {
    const file = join(dir, 'a.yaml');
    writeFileSync(file, yaml('ip: 10.0.0.1', 'keepalive: soon'));
    expect(() => loadConfigFile(file)).toThrow(`${file}:2: keepalive: 'soon' is not a duration`);
  });

  it('reports a missing file in one line', () => {
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(
      new ConfigError(`cannot read config file ${join(dir, 'missing.yaml')}: no such file`));
  });

  it('reports a directory in one line', () => {
    expect(() => loadConfigFile(dir)).toThrow(/cannot read config file .*: it is a directory/);
  });
});
