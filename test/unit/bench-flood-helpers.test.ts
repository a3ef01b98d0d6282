// The small parsers the flood test relies on (bench/pcap.ts, bench/ping.ts): a wrong parse
// would make the flood test replay nothing or misjudge the established peer's pings.
import { describe, expect, it } from 'vitest';
import { udpPayloads } from '../../bench/pcap.js';
import { pingSeries } from '../../bench/ping.js';

function pcap(link: number, frames: Uint8Array[]): Uint8Array {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(link, 20);
  const records = frames.map((f) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}

function udp(srcPort: number, dstPort: number, payload: number[]): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, Buffer.from(payload)]);
}

function ethernet(type: number, ip: Buffer): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, ip]);
}

function ipv4(src: number[], dst: number[], body: Buffer, proto = 17): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[9] = proto;
  h.set(src, 12);
  h.set(dst, 16);
  return Buffer.concat([h, body]);
}

function ipv6(body: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h[6] = 17;
  h[8] = 0xfd;
  h[23] = 1;
  h[24] = 0xfd;
  h[39] = 2;
  return Buffer.concat([h, body]);
}

describe('udpPayloads', () => {
  it('reads IPv4 and IPv6 UDP payloads of an Ethernet capture, skipping other traffic', () => {
    const file = pcap(1, [
      ethernet(0x0800, ipv4([10, 0, 0, 1], [10, 0, 0, 2], udp(1000, 3210, [1, 2, 3]))),
      ethernet(0x0800, ipv4([10, 0, 0, 1], [10, 0, 0, 2], Buffer.alloc(20), 6)), // TCP
      ethernet(0x0806, Buffer.alloc(28)), // ARP
      ethernet(0x86dd, ipv6(udp(5, 6, [9]))),
    ]);
    const r = udpPayloads(file);
    expect(r).toHaveLength(2);
    expect(r[0]).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1000, dstPort: 3210 });
    expect([...r[0]!.payload]).toEqual([1, 2, 3]);
    expect(r[1]).toMatchObject({ src: 'fd00:0:0:0:0:0:0:1', dst: 'fd00:0:0:0:0:0:0:2', srcPort: 5, dstPort: 6 });
    expect([...r[1]!.payload]).toEqual([9]);
  });

  it('reads Linux cooked captures (tcpdump -i any) and stops at a truncated record', () => {
    const sll = Buffer.concat([Buffer.alloc(14), Buffer.from([0x08, 0x00])]);
    const frame = Buffer.concat([sll, ipv4([1, 2, 3, 4], [5, 6, 7, 8], udp(1, 2, [7, 7]))]);
    const file = pcap(113, [frame, frame]);
    expect(udpPayloads(file)).toHaveLength(2);
    expect(udpPayloads(file.subarray(0, file.length - 3))).toHaveLength(1);
    expect(udpPayloads(Buffer.from('not a pcap file at all, no'))).toEqual([]);
  });
});

describe('pingSeries', () => {
  const line = (seq: number, ms: number) => `64 bytes from 10.77.0.1: icmp_seq=${seq} ttl=64 time=${ms} ms`;
  it('counts answers, the largest RTT and the longest silence between answers', () => {
    const out = [line(1, 0.5), line(2, 3.2), line(6, 0.7), line(7, 0.4), '', '--- 10.77.0.1 ping statistics ---',
      '8 packets transmitted, 4 received, 50% packet loss, time 1400ms'].join('\n');
    expect(pingSeries(out, 200)).toEqual({ sent: 8, answered: 4, maxRttMs: 3.2, maxGapMs: 800 });
  });

  it('a run with no answer is one silence as long as the run', () => {
    expect(pingSeries('5 packets transmitted, 0 received, 100% packet loss', 200)).toMatchObject({ answered: 0, maxGapMs: 1200 });
  });
});
