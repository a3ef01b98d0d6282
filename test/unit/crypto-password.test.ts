import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runGenkey } from '../../src/cli/genkey.js';
import { keyPairFromPrivate, parsePeerId } from '../../src/crypto/keys.js';
import { deriveNetworkSecrets, networkSalt } from '../../src/crypto/password.js';

const secret = deriveNetworkSecrets('mysecret');

describe('password mode', () => {
  it('derives the same secrets from the same password, different ones from another', () => {
    const again = deriveNetworkSecrets('mysecret');
    expect(again.psk).toEqual(secret.psk);
    expect(again.networkKeyPair.id).toBe(secret.networkKeyPair.id);
    const other = deriveNetworkSecrets('mysecret2');
    expect(other.psk).not.toEqual(secret.psk);
    expect(other.networkKeyPair.id).not.toBe(secret.networkKeyPair.id);
  });

  it('keeps the psk and the network key domain-separated', () => {
    expect(secret.psk).toHaveLength(32);
    expect(secret.psk).not.toEqual(secret.networkKeyPair.seed);
    expect(secret.psk).not.toEqual(new Uint8Array(32));
  });

  it('normalises the password (NFC) so the same text typed differently agrees', () => {
    const composed = deriveNetworkSecrets('caf\u00e9');
    const decomposed = deriveNetworkSecrets('cafe\u0301');
    expect(decomposed.psk).toEqual(composed.psk);
  });

  it('uses the documented fixed salt', () => {
    expect(networkSalt()).toHaveLength(16);
    expect(networkSalt()).toEqual(networkSalt());
  });

  it('refuses an empty password', () => {
    expect(() => deriveNetworkSecrets('')).toThrow('password: must not be empty');
  });
});

describe('hacloud genkey', () => {
  it('prints a new key pair as YAML that parses back', () => {
    const out = runGenkey({});
    expect(out).toMatch(/^private-key: [A-Za-z0-9_-]{43}\npublic-key: [A-Za-z0-9_-]{43}$/);
    const doc = parse(out) as Record<string, string>;
    const kp = keyPairFromPrivate(doc['private-key']!);
    expect(kp.id).toBe(doc['public-key']);
    expect(parsePeerId(doc['public-key']!)).toBe(kp.id);
    expect(runGenkey({})).not.toBe(out);
  });

  it('prints the key pair a password maps to, deterministically', () => {
    const out = runGenkey({ password: 'mysecret' });
    expect(runGenkey({ password: 'mysecret' })).toBe(out);
    const doc = parse(out) as Record<string, string>;
    expect(doc['public-key']).toBe(secret.networkKeyPair.id);
    expect(keyPairFromPrivate(doc['private-key']!).id).toBe(doc['public-key']);
  });
});
