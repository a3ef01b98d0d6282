// ICMP "too big" answers (src/wire/icmp-too-big.ts): the fields and checksums a kernel checks
// before it lowers a path MTU, and the packets that must never get one.
import { describe, expect, it } from 'vitest';
import { checksum, packetTooBig } from '../../src/wire/icmp-too-big.js';

function ipv4(size: number, opts: { df?: boolean; proto?: number; icmpType?: number } = {}): Uint8Array {
  const p = new Uint8Array(size);
  p.set([0x45, 0, size >> 8, size & 0xff, 0x12, 0x34, opts.df === false ? 0 : 0x40, 0, 64, opts.proto ?? 6], 0);
  p.set([192, 168, 7, 1, 10, 0, 0, 3], 12);
  if (opts.icmpType !== undefined) p[20] = opts.icmpType;
  p.fill(0xab, 28);
  return p;
}

function ipv6(size: number, opts: { next?: number; icmpType?: number } = {}): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x60;
  p[4] = (size - 40) >> 8;
  p[5] = (size - 40) & 0xff;
  p[6] = opts.next ?? 6;
  p[7] = 64;
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 24);
  if (opts.icmpType !== undefined) p[40] = opts.icmpType;
  return p;
}

describe('packetTooBig', () => {
  it('answers an IPv4 packet with DF: fragmentation needed, the MTU, addresses swapped, valid checksums', () => {
    const orig = ipv4(1400);
    const a = packetTooBig(orig, 1356)!;
    expect(a.length).toBe(20 + 8 + 548); // quote bounded to a 576-byte answer
    expect([a[0], a[9], a[20], a[21]]).toEqual([0x45, 1, 3, 4]);
    expect((a[2]! << 8) | a[3]!).toBe(a.length);
    expect((a[26]! << 8) | a[27]!).toBe(1356);
    expect([...a.subarray(12, 16)]).toEqual([10, 0, 0, 3]);
    expect([...a.subarray(16, 20)]).toEqual([192, 168, 7, 1]);
    expect([...a.subarray(28, 48)]).toEqual([...orig.subarray(0, 20)]);
    expect(checksum(a, 0, 20, 0)).toBe(0); // a correct header sums to 0xffff
    expect(checksum(a, 20, a.length, 0)).toBe(0);
  });

  it('answers IPv6 with packet too big and a checksum over the pseudo-header', () => {
    const a = packetTooBig(ipv6(1400), 1356)!;
    expect(a.length).toBe(1280);
    expect([a[0]! >> 4, a[6], a[40], a[41]]).toEqual([6, 58, 2, 0]);
    expect((a[44]! << 24) | (a[45]! << 16) | (a[46]! << 8) | a[47]!).toBe(1356);
    expect(a[23]).toBe(3); // from the destination
    expect(a[39]).toBe(1); // to the sender
    const payload = a.length - 40;
    expect(checksum(a, 40, a.length, sumOf(a, 8, 40) + payload + 58)).toBe(0);
  });

  it('does not answer IPv4 without DF, ICMP errors, or below the minimum MTUs', () => {
    expect(packetTooBig(ipv4(1400, { df: false }), 1356)).toBeNull();
    expect(packetTooBig(ipv4(1400, { proto: 1, icmpType: 3 }), 1356)).toBeNull();
    expect(packetTooBig(ipv4(1400, { proto: 1, icmpType: 8 }), 1356)).not.toBeNull(); // an echo request is fine
    expect(packetTooBig(ipv4(1400), 60)).toBeNull();
    expect(packetTooBig(ipv6(1400, { next: 58, icmpType: 1 }), 1356)).toBeNull();
    expect(packetTooBig(ipv6(1400, { next: 58, icmpType: 128 }), 1356)).not.toBeNull();
    expect(packetTooBig(ipv6(1400), 1200)).toBeNull();
  });
});

function sumOf(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  return s;
}
