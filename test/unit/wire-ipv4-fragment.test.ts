// IPv4 fragmentation for relayed paths (src/wire/ipv4-fragment.ts): fragments fit, carry the
// right offsets and flags and valid header checksums, and reassemble to the original.
import { describe, expect, it } from 'vitest';
import { checksum } from '../../src/wire/icmp-too-big.js';
import { fragmentIPv4 } from '../../src/wire/ipv4-fragment.js';

/** An IPv4 UDP-ish packet of `total` bytes with a patterned payload. */
function packet(total: number, flags = 0): Uint8Array {
  const p = new Uint8Array(total);
  p[0] = 0x45;
  p[2] = total >>> 8;
  p[3] = total & 0xff;
  p[4] = 0x12; p[5] = 0x34; // identification
  p[6] = flags >>> 8;
  p[7] = flags & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  const sum = checksum(p, 0, 20, 0);
  p[10] = sum >>> 8;
  p[11] = sum & 0xff;
  for (let i = 20; i < total; i++) p[i] = (i * 7) & 0xff;
  return p;
}

const offsetOf = (f: Uint8Array): number => (((f[6]! << 8) | f[7]!) & 0x1fff) * 8;
const moreOf = (f: Uint8Array): boolean => (f[6]! & 0x20) !== 0;

/** What a receiver's reassembly gives: the payload bytes laid out by offset. */
function reassemble(frags: Uint8Array[]): Uint8Array {
  const end = Math.max(...frags.map((f) => offsetOf(f) + f.length - 20));
  const out = new Uint8Array(end);
  for (const f of frags) out.set(f.subarray(20), offsetOf(f));
  return out;
}

describe('fragmentIPv4', () => {
  it('cuts a packet without DF into fragments that fit, with offsets, MF and checksums right', () => {
    const p = packet(1500);
    const frags = fragmentIPv4(p, 1356)!;
    expect(frags.map((f) => f.length)).toEqual([20 + 1336, 20 + 144]);
    expect(frags.map(offsetOf)).toEqual([0, 1336]);
    expect(frags.map(moreOf)).toEqual([true, false]);
    for (const f of frags) {
      expect(f.length).toBeLessThanOrEqual(1356);
      expect(checksum(f, 0, 20, 0)).toBe(0); // a valid header checksums to zero
      expect(((f[2]! << 8) | f[3]!)).toBe(f.length);
      expect([...f.subarray(4, 6), f[9], ...f.subarray(12, 20)]).toEqual([...p.subarray(4, 6), p[9], ...p.subarray(12, 20)]);
    }
    expect(reassemble(frags)).toEqual(p.subarray(20));
  });

  it('re-fragments a fragment: offsets continue from its own, MF stays set on the last piece if it was', () => {
    const p = packet(1000, 0x2000 | 100); // offset 800 bytes, more to come
    const frags = fragmentIPv4(p, 500)!;
    expect(frags.map(offsetOf)).toEqual([800, 800 + 480, 800 + 960]);
    expect(frags.map((f) => f.length)).toEqual([500, 500, 40]);
    expect(frags.map(moreOf)).toEqual([true, true, true]);
    const last = packet(1000, 100); // the original's last fragment
    expect(fragmentIPv4(last, 500)!.map(moreOf)).toEqual([true, true, false]);
  });

  it('leaves alone what fits, what has DF, what has options, and MTUs too small for 8 bytes of data', () => {
    expect(fragmentIPv4(packet(1356), 1356)).toBeNull();
    expect(fragmentIPv4(packet(1500, 0x4000), 1356)).toBeNull();
    const withOptions = packet(1500);
    withOptions[0] = 0x46;
    expect(fragmentIPv4(withOptions, 1356)).toBeNull();
    expect(fragmentIPv4(packet(1500), 27)).toBeNull();
    expect(fragmentIPv4(packet(1500), 28)!.every((f) => f.length <= 28)).toBe(true);
  });

  it('survives any bytes: never throws, fragments always fit (fuzz)', () => {
    for (let i = 0; i < 20_000; i++) {
      const len = 20 + Math.floor(Math.random() * 2000);
      const p = new Uint8Array(len).map(() => Math.floor(Math.random() * 256));
      p[0] = 0x45;
      p[6]! &= 0xbf; // no DF, so most are cut
      const mtu = 20 + Math.floor(Math.random() * 1500);
      const frags = fragmentIPv4(p, mtu);
      if (frags) {
        for (const f of frags) {
          expect(f.length).toBeLessThanOrEqual(mtu);
          expect(f[6]! & 0xc0).toBe(0); // never DF or the reserved bit: the offset never spills into them
        }
      }
    }
  });
});
