// The in-memory TUN and transport fakes behave like the real adapters: batches with headroom,
// copies on write and send, ordered asynchronous delivery, drops counted.
import { describe, expect, it } from 'vitest';
import { MemoryNetwork, MemoryTun, createTransportPair } from '../../src/io/memory.js';
import type { PacketBatch } from '../../src/io/tun.js';

const bytes = (...v: number[]) => new Uint8Array(v);

describe('MemoryTun', () => {
  it('delivers injected packets as one batch with head- and tailroom around each', () => {
    const tun = new MemoryTun({ headroomBytes: 16, tailroomBytes: 16 });
    const batches: PacketBatch[] = [];
    tun.onPackets((b) => batches.push(b));
    tun.inject(bytes(0x45, 1), bytes(0x45, 2, 3));
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    expect(b.count).toBe(2);
    for (let i = 0; i < b.count; i++) {
      const offset = b.meta[2 * i]!;
      const length = b.meta[2 * i + 1]!;
      expect(offset).toBeGreaterThanOrEqual(16);
      expect(offset + length + 16).toBeLessThanOrEqual(b.buffer.length);
    }
    expect([...b.buffer.subarray(b.meta[2]!, b.meta[2]! + b.meta[3]!)]).toEqual([0x45, 2, 3]);
    expect(tun.stats).toMatchObject({ readBatches: 1, readPackets: 2 });
  });

  it('holds packets until a handler is set, and feeds per-packet handlers one at a time', () => {
    const tun = new MemoryTun();
    tun.inject(bytes(1), bytes(2));
    const seen: number[][] = [];
    tun.onPacket((p) => seen.push([...p]));
    expect(seen).toEqual([[1], [2]]);
  });

  it('refuses packets larger than the MTU (the kernel never hands those over)', () => {
    const tun = new MemoryTun({ mtu: 4 });
    expect(() => tun.inject(new Uint8Array(5))).toThrow('packet of 5 bytes exceeds MTU 4');
  });

  it('keeps copies of written packets and counts failed writes as drops', () => {
    const tun = new MemoryTun();
    const p = bytes(0x45, 9);
    expect(tun.write(p)).toBe(true);
    p[1] = 0; // the caller reusing its buffer must not change what was written
    tun.failWrites = true;
    expect(tun.write(p)).toBe(false);
    tun.failWrites = false;
    const batch = { buffer: bytes(0, 7, 8, 0), meta: new Uint32Array([1, 2]), count: 1 };
    expect(tun.writeBatch(batch)).toBe(1);
    expect(tun.takeWritten().map((w) => [...w])).toEqual([[0x45, 9], [7, 8]]);
    expect(tun.takeWritten()).toEqual([]);
    expect(tun.stats).toMatchObject({ writePackets: 2, writeDrops: 1 });
    tun.close();
    expect(tun.write(p)).toBe(false);
  });

  it('passes raised errors to the error handler', () => {
    const tun = new MemoryTun();
    const errors: string[] = [];
    tun.onError((e) => errors.push(e.message));
    tun.raiseError(new Error('device gone'));
    expect(errors).toEqual(['device gone']);
  });
});

describe('MemoryNetwork transports', () => {
  it('deliver asynchronously, in order, copied, with the sender endpoint', async () => {
    const { a, b } = createTransportPair();
    const got: [string, number[]][] = [];
    b.onDatagram((from, data) => got.push([from, [...data]]));
    const buf = bytes(1);
    a.send(b.endpoint, buf);
    buf[0] = 2;
    a.send(b.endpoint, buf);
    expect(got).toEqual([]); // never synchronous: no re-entrancy surprises
    await Promise.resolve();
    expect(got).toEqual([
      ['192.0.2.1:3210', [1]],
      ['192.0.2.1:3210', [2]],
    ]);
    expect(a.localPort).toBe(3210);
  });

  it('ends every delivery with batchEnd, after the handler', async () => {
    const { a, b } = createTransportPair();
    const events: string[] = [];
    b.onDatagram((_from, data) => events.push(`datagram ${data[0]}`), () => events.push('end'));
    a.send(b.endpoint, bytes(7));
    a.send(b.endpoint, bytes(8));
    await Promise.resolve();
    expect(events).toEqual(['datagram 7', 'end', 'datagram 8', 'end']);
  });

  it('delivers only on flush() without autoDeliver, including replies sent while delivering', () => {
    const { network, a, b } = createTransportPair({ autoDeliver: false });
    const atA: number[] = [];
    b.onDatagram((from, data) => b.send(from, bytes(data[0]! + 1)));
    a.onDatagram((_from, data) => atA.push(data[0]!));
    a.send(b.endpoint, bytes(1));
    expect(atA).toEqual([]);
    expect(network.flush()).toBe(2);
    expect(atA).toEqual([2]);
  });

  it('counts undeliverable datagrams and applies the loss filter', () => {
    const network = new MemoryNetwork({ autoDeliver: false });
    const a = network.createTransport('192.0.2.1:1');
    const b = network.createTransport('192.0.2.2:1');
    const got: number[] = [];
    b.onDatagram((_f, d) => got.push(d[0]!));
    network.filter = (d) => d.data[0] !== 0;
    a.send('192.0.2.9:1', bytes(1));
    a.send(b.endpoint, bytes(0));
    a.send(b.endpoint, bytes(5));
    network.flush();
    expect(got).toEqual([5]);
    expect(network.undeliverable).toBe(1);
    expect(() => network.createTransport('192.0.2.1:1')).toThrow('already in use');
  });

  it('stops delivering to a closed transport and frees its endpoint', async () => {
    const { network, a, b } = createTransportPair({ autoDeliver: false });
    const got: number[] = [];
    b.onDatagram((_f, d) => got.push(d[0]!));
    await b.close();
    a.send(b.endpoint, bytes(1));
    network.flush();
    expect(got).toEqual([]);
    expect(network.undeliverable).toBe(1);
    expect(network.createTransport(b.endpoint).endpoint).toBe('192.0.2.2:3210');
  });
});
