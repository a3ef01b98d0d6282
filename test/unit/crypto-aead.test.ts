import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, createAead, parseAlgorithm, type AlgorithmName } from '../../src/crypto/aead.js';
import { MAX_COUNTER, TRANSPORT_OVERHEAD_BYTES } from '../../src/wire/header.js';
import { SeededRng } from './crypto-harness.js';

const rng = new SeededRng(11);
const bytes = (n: number): Uint8Array => { const b = new Uint8Array(n); rng.fill(b); return b; };
const key = bytes(32);
const aad = bytes(16);

/** The nonce layout the module documents: 4 zero bytes + 64-bit little-endian counter. */
function expectedNonce(counter: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

const openssl: Record<Exclude<AlgorithmName, 'plain'>, string> = { chacha20: 'chacha20-poly1305', aes256: 'aes-256-gcm' };

describe('AEAD', () => {
  for (const alg of ['chacha20', 'aes256'] as const) {
    describe(alg, () => {
      it('round-trips payloads of many sizes', () => {
        const tx = createAead(alg, key);
        const rx = createAead(alg, key);
        for (const len of [0, 1, 15, 16, 17, 64, 1400, 9000, 65535]) {
          const pt = bytes(len);
          const out = new Uint8Array(len + 16);
          expect(tx.seal(len, aad, pt, out)).toBe(len + 16);
          const back = new Uint8Array(len);
          expect(rx.open(len, aad, out, back)).toBe(len);
          expect(back).toEqual(pt);
        }
      });

      it('works in place', () => {
        const a = createAead(alg, key);
        const buf = new Uint8Array(1400 + 16);
        const pt = bytes(1400);
        buf.set(pt);
        expect(a.seal(7, aad, buf.subarray(0, 1400), buf)).toBe(1416);
        expect(buf.subarray(0, 1400)).not.toEqual(pt);
        expect(a.open(7, aad, buf, buf)).toBe(1400);
        expect(buf.subarray(0, 1400)).toEqual(pt);
      });

      it('uses the documented nonce (checked against OpenSSL)', () => {
        const a = createAead(alg, key);
        for (const counter of [0, 1, 0xffff_ffff, 0x1_0000_0000, MAX_COUNTER]) {
          const pt = bytes(100);
          const out = new Uint8Array(116);
          a.seal(counter, aad, pt, out);
          const c = createCipheriv(openssl[alg] as 'aes-256-gcm', key, expectedNonce(counter), { authTagLength: 16 });
          c.setAAD(aad);
          const ref = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
          expect(Buffer.from(out)).toEqual(ref);
        }
      });

      it('rejects a flipped bit anywhere, a wrong counter, wrong aad, wrong key, short input', () => {
        const a = createAead(alg, key);
        const pt = bytes(64);
        const sealed = new Uint8Array(80);
        a.seal(5, aad, pt, sealed);
        const out = new Uint8Array(80);
        for (let i = 0; i < sealed.length; i++) {
          const bad = sealed.slice();
          bad[i]! ^= 1 << (i % 8);
          expect(a.open(5, aad, bad, out)).toBe(-1);
        }
        expect(a.open(6, aad, sealed, out)).toBe(-1);
        const aad2 = aad.slice();
        aad2[2]! ^= 4;
        expect(a.open(5, aad2, sealed, out)).toBe(-1);
        expect(createAead(alg, bytes(32)).open(5, aad, sealed, out)).toBe(-1);
        for (let len = 0; len < 16; len++) expect(a.open(5, aad, sealed.subarray(0, len), out)).toBe(-1);
        expect(a.open(5, aad, sealed, out)).toBe(64);
      });

      it('refuses an output buffer without room for the tag', () => {
        const a = createAead(alg, key);
        if (alg === 'chacha20') expect(() => a.seal(1, aad, bytes(10), new Uint8Array(20))).toThrow(RangeError);
        expect(a.open(1, aad, new Uint8Array(40), new Uint8Array(10))).toBe(-1);
      });
    });
  }

  for (const impl of ['native', 'js'] as const) {
    it(`plain (${impl}) sends the payload in clear with a tag over header and payload; any change is refused`, () => {
      const tx = createAead('plain', key, impl);
      const rx = createAead('plain', key, impl === 'native' ? 'js' : 'native'); // both give the same bytes
      expect(tx.tagBytes).toBe(16);
      // the channel's layout: header right before the body, one buffer
      const buf = new Uint8Array(16 + 50 + 16);
      buf.set(aad.subarray(0, 16));
      const pt = bytes(50);
      expect(tx.seal(1, buf.subarray(0, 16), pt, buf.subarray(16))).toBe(66);
      expect(buf.subarray(16, 66)).toEqual(pt); // in clear
      const out = new Uint8Array(100);
      expect(rx.openPacket(1, buf, 16, out)).toBe(50);
      expect(out.subarray(0, 50)).toEqual(pt);
      // header, payload and tag are all covered; so is the counter
      for (const i of [0, 5, 15, 16, 40, 65, 66, 81]) {
        const bad = buf.slice();
        bad[i]! ^= 1;
        expect(rx.openPacket(1, bad, 16, out), `byte ${i}`).toBe(-1);
      }
      expect(rx.openPacket(2, buf, 16, out)).toBe(-1);
      // separate header and payload buffers give the same tag
      const apart = new Uint8Array(66);
      expect(tx.seal(1, aad.subarray(0, 16), pt, apart)).toBe(66);
      expect(apart).toEqual(buf.subarray(16));
      const back = new Uint8Array(50);
      expect(rx.open(1, aad.subarray(0, 16), apart, back)).toBe(50);
      expect(back).toEqual(pt);
    });
  }

  it('plain openPacket hands over the body after the header, also when the packet exceeds out', () => {
    const k = bytes(32);
    const packet = new Uint8Array(16 + 24 + 16).map((_, i) => i);
    createAead('plain', k).seal(1, packet.subarray(0, 16), packet.subarray(16, 40), packet.subarray(16));
    const plain = createAead('plain', k);
    const out = new Uint8Array(64).fill(0xee);
    expect(plain.openPacket(1, packet, 16, out)).toBe(24);
    expect([...out.subarray(0, 24)]).toEqual([...packet.subarray(16, 40)]);
    const tight = new Uint8Array(24); // the body fits, the whole packet does not
    expect(plain.openPacket(1, packet, 16, tight)).toBe(24);
    expect([...tight]).toEqual([...packet.subarray(16, 40)]);
    expect(plain.openPacket(1, packet, 16, new Uint8Array(23))).toBe(-1);
    expect(plain.openPacket(1, packet.subarray(0, 10), 16, out)).toBe(-1);
  });

  it('parses algorithm names with a clear error', () => {
    expect(parseAlgorithm('ChaCha20')).toBe('chacha20');
    expect(parseAlgorithm('aes-256-gcm')).toBe('aes256');
    expect(parseAlgorithm('plain')).toBe('plain');
    expect(() => parseAlgorithm('rot13', '--algorithm')).toThrow('--algorithm: unknown algorithm "rot13" (expected chacha20, aes256 or plain)');
    expect(ALGORITHM_NAMES).toEqual(['chacha20', 'aes256', 'plain']);
  });

  it('documents the per-packet overhead', () => {
    expect(TRANSPORT_OVERHEAD_BYTES).toBe(32);
  });
});
