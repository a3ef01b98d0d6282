import { describe, expect, it } from 'vitest';
import {
  KeyFormatError, decodeKey, encodeKey, generateKeyPair, keyPairFromPrivate, keyPairFromSeed, parsePeerId,
  peerIdToPublicKey,
} from '../../src/crypto/keys.js';
import { systemRng } from '../../src/crypto/rng.js';
import { x25519 } from '../../src/crypto/sodium.js';
import { SeededRng } from './crypto-harness.js';

describe('identity keys', () => {
  it('encodes 32 bytes as 43 base64url characters and decodes them back', () => {
    const rng = new SeededRng(1);
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(32);
      rng.fill(bytes);
      const t = encodeKey(bytes);
      expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(decodeKey(t, 'k')).toEqual(bytes);
    }
    expect(encodeKey(new Uint8Array(32))).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(encodeKey(new Uint8Array(32).fill(0xff))).toBe('__________________________________________8');
  });

  it('rejects bad key text with a one-line message naming the key', () => {
    const good = encodeKey(new Uint8Array(32).fill(9));
    const cases: [string, RegExp][] = [
      ['', /private-key: expected 43 base64url characters \(32 bytes\), got 0/],
      [good.slice(0, 42), /got 42/],
      [good + 'A', /got 44/],
      [good.slice(0, 42) + '=', /invalid character "=" at position 43/],
      ['+' + good.slice(1), /invalid character "\+" at position 1/],
      [good.slice(0, 42) + 'B', /not a canonical base64url encoding/], // low bits of the last char set
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try { keyPairFromPrivate(text); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(KeyFormatError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
    expect(() => parsePeerId('x', 'trusted-keys[3]')).toThrow(/^trusted-keys\[3\]: /);
  });

  it('accepts surrounding whitespace (pasted keys)', () => {
    const kp = generateKeyPair(new SeededRng(2));
    expect(keyPairFromPrivate(`  ${encodeKey(kp.seed)}\n`).id).toBe(kp.id);
  });

  it('rejects low-order points and non-canonical spellings, so one key has one id', () => {
    const bad = (b: Uint8Array) => () => parsePeerId(encodeKey(b), 'public-key');
    expect(bad(new Uint8Array(32))).toThrow(/public-key: not a valid public key/); // all zero
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(bad(one)).toThrow(/not a valid public key/); // u = 1, low order
    const kp = generateKeyPair(new SeededRng(9));
    const top = kp.publicKey.slice();
    top[31]! |= 0x80; // bit 255: the same X25519 key to every DH, so it must not be a second id
    expect(bad(top)).toThrow(/not a valid public key/);
    const p = new Uint8Array(32).fill(0xff);
    p[0] = 0xed;
    p[31] = 0x7f; // u = 2^255 - 19 = 0 mod p
    expect(bad(p)).toThrow(/not a valid public key/);
    p[0] = 0xee; // u = p + 1, an alias of 1
    expect(bad(p)).toThrow(/not a valid public key/);
  });

  it('derives the same pair from the printable private key, and the id is the public key', () => {
    const kp = generateKeyPair(new SeededRng(3));
    const again = keyPairFromPrivate(encodeKey(kp.seed));
    expect(again.id).toBe(kp.id);
    expect(again.publicKey).toEqual(kp.publicKey);
    expect(peerIdToPublicKey(kp.id)).toEqual(kp.publicKey);
    expect(parsePeerId(kp.id)).toBe(kp.id);
    expect(generateKeyPair(new SeededRng(3)).id).toBe(kp.id); // seeded: reproducible
    expect(generateKeyPair().id).not.toBe(generateKeyPair().id); // OS randomness
  });

  it('converts to X25519 so that both sides of a DH agree', () => {
    const a = keyPairFromSeed(new Uint8Array(32).fill(1));
    const b = keyPairFromSeed(new Uint8Array(32).fill(2));
    const ab = new Uint8Array(32);
    const ba = new Uint8Array(32);
    expect(x25519(ab, a.secretKey, b.publicKey)).toBe(true);
    expect(x25519(ba, b.secretKey, a.publicKey)).toBe(true);
    expect(ab).toEqual(ba);
    expect(ab).not.toEqual(new Uint8Array(32));
    // a low-order peer key would give an all-zero secret: refused, never used as key material
    expect(x25519(ab, a.secretKey, new Uint8Array(32))).toBe(false);
  });

  it('has an OS-backed Rng for production', () => {
    const rng = systemRng();
    const xs = Array.from({ length: 100 }, () => rng.next());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(100);
    const buf = new Uint8Array(64);
    rng.fill(buf);
    expect(buf.some((b) => b !== 0)).toBe(true);
  });
});
