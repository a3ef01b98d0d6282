// Password mode (issue 10, finding 7): the salt depends on the network name, weak passwords
// are flagged, each node keeps its own identity in a root-only file, and genkey no longer
// turns a password into a key pair.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCommand } from '../../src/cli/args.js';
import { runGenkey } from '../../src/cli/genkey.js';
import { keyPairFromPrivate, parsePeerId } from '../../src/crypto/keys.js';
import { deriveNetworkSecrets, networkSalt } from '../../src/crypto/password.js';
import { passwordBits, weakPasswordWarning } from '../../src/crypto/password-strength.js';
import { loadIdentityFile } from '../../src/daemon/identity-file.js';

const secret = deriveNetworkSecrets('correct horse battery staple');

describe('password mode', () => {
  it('derives the same psk from the same password and network, another from another', () => {
    expect(deriveNetworkSecrets('correct horse battery staple').psk).toEqual(secret.psk);
    expect(deriveNetworkSecrets('correct horse battery staple!').psk).not.toEqual(secret.psk);
    expect(secret.psk).toHaveLength(32);
    expect(secret.psk).not.toEqual(new Uint8Array(32));
  });

  it('salts with the network name, so one dictionary no longer fits every hacloud network', () => {
    expect(networkSalt('hacloud')).toHaveLength(16);
    expect(networkSalt('office')).not.toEqual(networkSalt('hacloud')); // was one fixed salt
    expect(deriveNetworkSecrets('correct horse battery staple', 'office').psk).not.toEqual(secret.psk);
    expect(deriveNetworkSecrets('correct horse battery staple', 'hacloud').psk).toEqual(secret.psk); // the default
  });

  it('normalises password and network name (NFC) so the same text typed differently agrees', () => {
    expect(deriveNetworkSecrets('caf\u00e9 au lait', 'b\u00fcro').psk).toEqual(deriveNetworkSecrets('cafe\u0301 au lait', 'bu\u0308ro').psk);
  });

  it('refuses an empty password', () => {
    expect(() => deriveNetworkSecrets('')).toThrow('password: must not be empty');
  });

  it('calls common and short passwords weak, long random ones not', () => {
    for (const weak of ['secret', 'password', 'Secret123!', 'change-me', 'hacloud', 'aaaaaaaaaaaaaaaaaaaa', 'abcdefgh', 'Kx9!mQ2']) {
      expect(weakPasswordWarning(weak), weak).toMatch(/^the password is weak \(about \d+ bits\)/);
    }
    for (const strong of ['correct horse battery staple', 'q7Gx-2mVt9Lw_4Ks8RzN', 'kX9fT2vLq8wM3nB7']) {
      expect(weakPasswordWarning(strong), strong).toBeNull();
    }
    expect(passwordBits('secret')).toBeLessThan(20);
    expect(weakPasswordWarning('secret')).not.toContain('\n');
  });

  it('warns at start about a weak password, and refuses only an empty one', () => {
    const cmd = parseCommand(['--ip', '10.0.0.1'], { PASSWORD: 'secret' });
    expect(cmd.kind === 'run' && cmd.config.warnings.some((w) => w.startsWith('the password is weak'))).toBe(true);
  });
});

describe('identity file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-id-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 in a 0700 directory and gives the same identity on every start', () => {
    const path = join(dir, 'state', 'node.key');
    const first = loadIdentityFile(path);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    const again = loadIdentityFile(path);
    expect(again.created).toBe(false);
    expect(again.identity.id).toBe(first.identity.id);
    expect(loadIdentityFile(join(dir, 'state', 'other.key')).identity.id).not.toBe(first.identity.id);
  });

  it('refuses a file others can read, a malformed one, and a directory, in one line', () => {
    const open = join(dir, 'open.key');
    writeFileSync(open, `${runGenkey().split('\n')[0]!.split(' ')[1]}\n`, { mode: 0o644 });
    chmodSync(open, 0o644);
    expect(() => loadIdentityFile(open)).toThrow(/^identity-file .*open\.key: readable or writable by group or others \(mode 644\); run chmod 600/);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not a key\n', { mode: 0o600 });
    expect(() => loadIdentityFile(bad)).toThrow(/^identity-file .*bad\.key: expected 43 base64url characters/);
    const two = join(dir, 'two.key');
    writeFileSync(two, 'a\nb\n', { mode: 0o600 });
    expect(() => loadIdentityFile(two)).toThrow(/expected one private key line, found 2/);
    expect(() => loadIdentityFile(dir)).toThrow(/not a regular file/);
    for (const f of [open, bad, two]) expect(readFileSync(f, 'utf8')).not.toBe(''); // never overwritten
  });

  it('defaults to /var/lib/hacloud/<instance>.key in password mode, none in key mode', () => {
    const pw = parseCommand(['--ip', '10.0.0.1', '-d', 'office'], { PASSWORD: 'correct horse battery staple' });
    expect(pw.kind === 'run' && pw.config.crypto.identityFile).toBe('/var/lib/hacloud/office.key');
    expect(pw.kind === 'run' && pw.config.crypto.network).toBe('hacloud');
    const own = parseCommand(['--identity-file', '/tmp/x.key', '--network', 'lab'], { PASSWORD: 'correct horse battery staple' });
    expect(own.kind === 'run' && own.config.crypto.identityFile).toBe('/tmp/x.key');
    expect(own.kind === 'run' && own.config.crypto.network).toBe('lab');
    const key = runGenkey().split('\n')[0]!.split(' ')[1]!;
    const km = parseCommand(['--private-key', key, '--trusted-key', parsePeerId(keyPairFromPrivate(key).id)]);
    expect(km.kind === 'run' && km.config.crypto.identityFile).toBeNull();
    expect(() => parseCommand(['--private-key', key, '--identity-file', '/tmp/x.key'])).toThrow(/identity file is for password mode/);
  });
});

describe('hacloud genkey', () => {
  it('prints a new key pair as YAML that parses back; the public key is the node id', () => {
    const out = runGenkey();
    expect(out).toMatch(/^private-key: [A-Za-z0-9_-]{43}\npublic-key: [A-Za-z0-9_-]{43}$/);
    const doc = parse(out) as Record<string, string>;
    const kp = keyPairFromPrivate(doc['private-key']!);
    expect(kp.id).toBe(doc['public-key']);
    expect(parsePeerId(doc['public-key']!)).toBe(kp.id);
    expect(runGenkey()).not.toBe(out);
  });

  it('refuses --password with a one-line reason (it was an offline oracle and one identity for all)', () => {
    expect(() => parseCommand(['genkey', '--password', 'x'])).toThrow(/^genkey --password is gone: .*--identity-file/);
    expect(parseCommand(['genkey'])).toEqual({ kind: 'genkey' });
  });
});
