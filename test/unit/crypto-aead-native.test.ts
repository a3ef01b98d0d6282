// The addon's OpenSSL AEAD (native/aead.c) against the fallback implementations: libsodium for
// ChaCha20-Poly1305 and node:crypto for AES-256-GCM. Both directions, many sizes and counters,
// so a node with the addon and one without always understand each other.
import { describe, expect, it } from 'vitest';
import { createAead } from '../../src/crypto/aead.js';
import { nativeAeadAvailable } from '../../src/crypto/native-aead.js';
import { MAX_COUNTER } from '../../src/wire/header.js';
import { SeededRng } from './crypto-harness.js';

const rng = new SeededRng(61);
const bytes = (n: number): Uint8Array => { const b = new Uint8Array(n); rng.fill(b); return b; };
/** Byte equality without vitest's slow deep diff of large arrays. */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 255, 1400, 1420, 9000, 65535];
const COUNTERS = [0, 1, 255, 256, 0xffff_ffff, 0x1_0000_0000, 0x1234_5678_9abc, MAX_COUNTER];

describe('native AEAD (OpenSSL in the addon)', () => {
  it('is built', () => {
    expect(nativeAeadAvailable()).toBe(true);
  });

  for (const alg of ['chacha20', 'aes256'] as const) {
    describe(alg, () => {
      it('native seal opens with the fallback and the fallback seal opens natively', () => {
        const key = bytes(32);
        const native = createAead(alg, key, 'native');
        const js = createAead(alg, key, 'js');
        for (const len of SIZES) {
          for (const counter of COUNTERS) {
            const aad = bytes(16);
            const pt = bytes(len);
            const a = new Uint8Array(len + 16);
            const b = new Uint8Array(len + 16);
            expect(native.seal(counter, aad, pt, a)).toBe(len + 16);
            expect(js.seal(counter, aad, pt, b)).toBe(len + 16);
            expect(same(a, b)).toBe(true); // same bytes, tag included
            const back = new Uint8Array(len);
            expect(js.open(counter, aad, a, back)).toBe(len);
            expect(same(back, pt)).toBe(true);
            back.fill(0);
            expect(native.open(counter, aad, b, back)).toBe(len);
            expect(same(back, pt)).toBe(true);
          }
        }
      });

      it('seals and opens in place, and rejects every flipped bit', () => {
        const key = bytes(32);
        const native = createAead(alg, key, 'native');
        const js = createAead(alg, key, 'js');
        const aad = bytes(16);
        const pt = bytes(1400);
        const buf = new Uint8Array(1416);
        buf.set(pt);
        native.seal(42, aad, buf.subarray(0, 1400), buf);
        const ref = new Uint8Array(1416);
        js.seal(42, aad, pt, ref);
        expect(buf).toEqual(ref);
        const out = new Uint8Array(1416);
        for (let i = 0; i < buf.length; i += 7) {
          const bad = buf.slice();
          bad[i]! ^= 1 << (i % 8);
          expect(native.open(42, aad, bad, out)).toBe(-1);
        }
        const badAad = aad.slice();
        badAad[0]! ^= 1;
        expect(native.open(42, badAad, buf, out)).toBe(-1);
        expect(native.open(43, aad, buf, out)).toBe(-1);
        expect(native.open(42, aad, buf, buf)).toBe(1400); // a failed open leaves the context usable
        expect(buf.subarray(0, 1400)).toEqual(pt);
      });

      it('openPacket opens header + ciphertext as one packet, like open with the header as aad', () => {
        const key = bytes(32);
        for (const impl of ['native', 'js'] as const) {
          const a = createAead(alg, key, impl);
          for (const len of [0, 1, 1400]) {
            const pt = bytes(len);
            const packet = new Uint8Array(16 + len + 16);
            packet.set(bytes(16));
            a.seal(7, packet.subarray(0, 16), pt, packet.subarray(16));
            const out = new Uint8Array(len);
            expect(a.openPacket(7, packet, 16, out)).toBe(len);
            expect(same(out, pt)).toBe(true);
            const bad = packet.slice();
            bad[3]! ^= 1; // the header is authenticated
            expect(a.openPacket(7, bad, 16, out)).toBe(-1);
          }
          expect(a.openPacket(7, bytes(31), 16, new Uint8Array(64))).toBe(-1); // no room for a tag
          expect(a.openPacket(7, bytes(10), 16, new Uint8Array(64))).toBe(-1); // shorter than the header
        }
      });

      it('refuses short or partly overlapping buffers and use after destroy with errors', () => {
        const a = createAead(alg, bytes(32), 'native');
        const aad = bytes(16);
        expect(() => a.seal(1, aad, bytes(10), new Uint8Array(25))).toThrow(RangeError);
        const buf = new Uint8Array(100);
        expect(() => a.seal(1, aad, buf.subarray(0, 50), buf.subarray(8))).toThrow(RangeError);
        expect(() => a.seal(-1, aad, bytes(1), new Uint8Array(17))).toThrow(RangeError);
        expect(() => a.seal(1.5, aad, bytes(1), new Uint8Array(17))).toThrow(RangeError);
        expect(a.open(1, aad, new Uint8Array(15), new Uint8Array(15))).toBe(-1);
        a.destroy();
        expect(() => a.seal(1, aad, bytes(1), new Uint8Array(17))).toThrow('destroyed');
        a.destroy(); // idempotent
      });
    });
  }
});
