// Defaults, merging of layers and the checks across values (src/config/{merge,resolve}.ts).
import { generateKeyPairSync } from 'node:crypto';
import { keyPairFromPrivate } from '../../src/crypto/keys.js';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { Settings } from '../../src/config/fields.js';
import { parseConfigText } from '../../src/config/load.js';
import { mergeSettings } from '../../src/config/merge.js';
import { claimedPrefixes, defaultControlSocket, resolveSettings } from '../../src/config/resolve.js';
import { publicKeyOf } from '../../src/config/keys.js';
import { formatPrefix } from '../../src/wire/addr.js';

const file = (...lines: string[]): Settings => parseConfigText(`${lines.join('\n')}\n`, 'f.yaml');
const pw: Settings = { password: [{ value: 'secret', where: '--password' }] };

function keyPair(): { priv: string; pub: string } {
  const priv = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }).d!;
  return { priv, pub: keyPairFromPrivate(priv).id }; // the node id: the key's X25519 form
}

function resolveError(settings: Settings): string {
  try {
    resolveSettings(settings);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('fills in every default', () => {
    const c = resolveSettings(file('crypto: {password: x}'));
    expect(c).toMatchObject({
      configFile: null,
      device: { type: 'tun', name: 'hacloud%d', path: '/dev/net/tun' },
      ip: null,
      listen: { host: '', port: 3210 },
      peers: [],
      claims: [],
      autoClaim: true,
      peerTimeoutMs: 3000,
      keepaliveMs: 500,
      mtu: 'auto',
      ifup: null,
      ifdown: null,
      logLevel: 'info',
      logFile: null,
      crypto: {
        password: 'x', network: 'hacloud', identityFile: '/var/lib/hacloud/hacloud.key', privateKey: null, publicKey: null,
        trustedKeys: [], algorithms: ['aes256-gcm', 'chacha20-poly1305'],
      },
      controlSocket: '/run/hacloud/hacloud.sock',
      metricsListen: null,
      statsFile: null,
      pidFile: null,
      user: null,
      group: null,
      routes: true,
      advertise: [],
      relay: 'on',
      relayLimit: { packetsPerSec: 10_000, bytesPerSec: 12_500_000 },
    });
  });

  it('reads the relay mode, its per-pair limit and advertised addresses', () => {
    const c = resolveSettings(mergeSettings(pw, file(
      'relay: true', 'relay-limit: 500/s, 1.5MB/s', 'advertise-addresses: [198.51.100.7, "gw.example.net:4000", 198.51.100.7]')));
    expect(c.relay).toBe('preferred');
    expect(c.relayLimit).toEqual({ packetsPerSec: 500, bytesPerSec: 1_500_000 });
    expect(c.advertise).toEqual([{ host: '198.51.100.7', port: 0 }, { host: 'gw.example.net', port: 4000 }]);
    expect(resolveSettings(mergeSettings(pw, file('relay: false'))).relay).toBe('off');
    const fileError = (line: string): string => {
      try {
        file(line);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(fileError('relay-limit: 2000')).toMatch(/^f\.yaml:1: relay-limit: expected PACKETS,BYTES a second/);
    expect(fileError('relay-limit: 10,100')).toMatch(/at least 1 packet and 1500 bytes/);
    expect(fileError('advertise-addresses: [":4000"]')).toMatch(/^f\.yaml:1: advertise-addresses: .*invalid host name/);
  });

  it('gives --ip a /24 (IPv4) or /64 (IPv6) network and keeps the address', () => {
    const v4 = resolveSettings(mergeSettings(pw, file('ip: 10.0.0.7'))).ip!;
    expect(v4.text).toBe('10.0.0.7/24');
    expect(formatPrefix(v4.prefix)).toBe('10.0.0.0/24');
    expect(Array.from(v4.address)).toEqual([10, 0, 0, 7]);
    const v6 = resolveSettings(mergeSettings(pw, file('ip: "fd00::7"'))).ip!;
    expect(v6.text).toBe('fd00::7/64');
    expect(v6.family).toBe(6);
  });

  it('claims the --ip address as a host prefix with auto-claim, not without', () => {
    const on = resolveSettings(mergeSettings(pw, file('ip: 10.0.0.1/24', 'claims: [10.9.0.0/16]')));
    expect(claimedPrefixes(on).map(formatPrefix)).toEqual(['10.9.0.0/16', '10.0.0.1/32']);
    const off = resolveSettings(mergeSettings(pw, file('ip: 10.0.0.1/24', 'auto-claim: false')));
    expect(claimedPrefixes(off)).toEqual([]);
    expect(off.warnings).toContain('this node claims no address, so no traffic will be routed to it');
  });

  it('names the control socket after a fixed device name or the config file', () => {
    expect(defaultControlSocket('hacloud%d', null)).toBe('/run/hacloud/hacloud.sock');
    expect(defaultControlSocket('vpn0', '/etc/hacloud/office.yaml')).toBe('/run/hacloud/vpn0.sock');
    expect(defaultControlSocket('hacloud%d', '/etc/hacloud/office.yaml')).toBe('/run/hacloud/office.sock');
    expect(resolveSettings(pw, { configFile: 'site.yml' }).controlSocket).toBe('/run/hacloud/site.sock');
  });
});

describe('merging', () => {
  it('lets a later layer override single values', () => {
    const merged = mergeSettings(file('keepalive: 1', 'peer-timeout: 10', 'listen: 4000'), file('keepalive: 2'));
    const c = resolveSettings(mergeSettings(pw, merged));
    expect(c.keepaliveMs).toBe(2000);
    expect(c.peerTimeoutMs).toBe(10_000);
    expect(c.listen.port).toBe(4000);
  });

  it('joins peers, claims and trusted keys and drops duplicates', () => {
    const { priv } = keyPair();
    const [a, b] = [keyPair().pub, keyPair().pub];
    const c = resolveSettings(mergeSettings(
      file('peers: [x, "y:1"]', 'claims: [10.1.0.0/16]', `crypto: {private-key: ${priv}, trusted-keys: [${a}]}`),
      file('peers: ["X:3210", z]', 'claims: [10.2.0.0/16, 10.1.0.0/16]', `crypto: {trusted-keys: [${b}, ${a}]}`),
    ));
    expect(c.peers).toEqual([{ host: 'x', port: 3210 }, { host: 'y', port: 1 }, { host: 'z', port: 3210 }]);
    expect(c.claims.map((x) => formatPrefix(x.prefix))).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(c.crypto.trustedKeys).toEqual([a, b]);
  });

  it('replaces the algorithm preference instead of joining it', () => {
    const c = resolveSettings(mergeSettings(pw, file('crypto: {algorithms: [aes256-gcm]}'),
      file('crypto: {algorithms: "chacha20, aes256-gcm, chacha20-poly1305"}')));
    expect(c.crypto.algorithms).toEqual(['chacha20-poly1305', 'aes256-gcm']);
  });
});

describe('checks across values', () => {
  it('refuses keepalive >= peer-timeout, naming both sources', () => {
    expect(resolveError(mergeSettings(pw, file('peer-timeout: 2', 'keepalive: 2s')))).toBe(
      'f.yaml:2: keepalive: keepalive 2s must be shorter than peer-timeout 2s (f.yaml:1: peer-timeout)');
    expect(resolveError(mergeSettings(pw, file('keepalive: 4')))).toBe(
      'f.yaml:1: keepalive: keepalive 4s must be shorter than peer-timeout 3s (default)');
    expect(resolveError(mergeSettings(pw, file('peer-timeout: 400ms')))).toBe(
      'f.yaml:1: peer-timeout: peer-timeout 400ms must be longer than keepalive 500ms (default)');
  });

  it('allows sub-second settings and the guide settings without warnings (probes cover lost keepalives)', () => {
    const fast = resolveSettings(mergeSettings(pw, file('peer-timeout: 0.6', 'keepalive: 100ms')));
    expect([fast.peerTimeoutMs, fast.keepaliveMs]).toEqual([600, 100]);
    expect(fast.warnings.filter((w) => w.includes('keepalive'))).toEqual([]);
    const guide = resolveSettings(mergeSettings(pw, file('peer-timeout: 5', 'keepalive: 2')));
    expect([guide.peerTimeoutMs, guide.keepaliveMs]).toEqual([5000, 2000]);
    expect(guide.warnings.filter((w) => w.includes('keepalive'))).toEqual([]);
  });

  it('refuses a keepalive so short it would flood the network', () => {
    expect(resolveError(mergeSettings(pw, file('keepalive: 5ms')))).toBe('f.yaml:1: keepalive: keepalive must be at least 10ms');
  });

  it('refuses missing credentials with a hint', () => {
    expect(resolveError(file('ip: 10.0.0.1'))).toMatch(
      /^no credentials: give a password \(-p\/--password, the PASSWORD environment variable or crypto\.password\) or a private key/);
  });

  it('refuses a password together with a private key', () => {
    const { priv } = keyPair();
    expect(resolveError(mergeSettings(file(`crypto: {private-key: ${priv}}`), pw))).toBe(
      'both a password (--password) and a private key (f.yaml:1: crypto.private-key) are given; use one');
  });

  it('checks that the public key belongs to the private key', () => {
    const { priv, pub } = keyPair();
    expect(publicKeyOf(priv)).toBe(pub);
    const ok = resolveSettings(file('crypto:', `  private-key: ${priv}`, `  public-key: ${pub}`));
    expect(ok.crypto).toMatchObject({ privateKey: priv, publicKey: pub, password: null });
    expect(resolveError(file('crypto:', `  private-key: ${priv}`, `  public-key: ${keyPair().pub}`))).toBe(
      'f.yaml:3: crypto.public-key: does not belong to the private key (f.yaml:2: crypto.private-key)');
    expect(resolveError(mergeSettings(pw, file(`crypto: {public-key: ${pub}}`)))).toMatch(
      /^f\.yaml:1: crypto\.public-key: a public key is only used with its private key/);
  });

  it('refuses daemon mode and accepts daemon: false', () => {
    expect(resolveError(mergeSettings(pw, file('daemon: true')))).toBe(
      'f.yaml:1: daemon: daemon mode is not supported; run under systemd (see examples/systemd)');
    expect(resolveSettings(mergeSettings(pw, file('daemon: false'))).device.type).toBe('tun');
  });

  it('refuses an MTU below 1280 on an IPv6 interface', () => {
    expect(resolveSettings(mergeSettings(pw, file('ip: 10.0.0.1', 'mtu: 600'))).mtu).toBe(600);
    expect(resolveError(mergeSettings(pw, file('ip: "fd00::1"', 'mtu: 600')))).toBe(
      'f.yaml:2: mtu: 600 is below 1280, the minimum MTU for IPv6');
  });

  it('warns loudly when plain is allowed and about a password on the command line', () => {
    const c = resolveSettings(mergeSettings(pw, file('crypto: {algorithms: [aes256-gcm, plain]}')));
    expect(c.warnings.some((w) => /'plain' is enabled: .*NOT encrypted/.test(w))).toBe(true);
    expect(c.warnings.some((w) => /visible in the process list/.test(w))).toBe(true);
  });
});
