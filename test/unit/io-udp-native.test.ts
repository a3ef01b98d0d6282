// The native UDP transport's batching on loopback (127.0.0.x only): thousands of datagrams of
// mixed sizes through sendmmsg/GSO and recvmmsg/GRO arrive complete and intact, runs to several
// destinations are never mixed up, and the bounded endpoint table survives overflowing.
import { afterEach, describe, expect, it } from 'vitest';
import {
  NativeUdpTransport, openNativeUdpTransport, openPreferredUdpTransport,
} from '../../src/io/udp-native.js';

const opened: NativeUdpTransport[] = [];
async function open(offload = true): Promise<NativeUdpTransport> {
  const t = await openNativeUdpTransport({ listen: '127.0.0.1:0', offload });
  opened.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/** Datagram `seq`: 4-byte sequence number, then bytes derived from it; sizes come in runs. */
function datagram(seq: number): Uint8Array {
  const run = Math.floor(seq / 37);
  const size = seq % 37 === 36 ? 4 + (run % 200) : [1432, 1200, 64, 9000, 4][run % 5]!; // a shorter tail per run
  const d = new Uint8Array(size);
  new DataView(d.buffer).setUint32(0, seq);
  for (let i = 4; i < size; i++) d[i] = (seq * 31 + i * 7) & 0xff;
  return d;
}

function intact(d: Uint8Array): number {
  if (d.length < 4) return -1;
  const seq = new DataView(d.buffer, d.byteOffset, d.length).getUint32(0);
  const want = datagram(seq);
  if (want.length !== d.length) return -1;
  for (let i = 4; i < d.length; i++) if (d[i] !== want[i]) return -1;
  return seq;
}

describe('native UDP transport batching', () => {
  for (const offload of [true, false]) {
    it(`carries 10 000 datagrams of mixed sizes intact (offload ${offload})`, async () => {
      const a = await open(offload);
      const b = await open(offload);
      const seen = new Uint8Array(10_000);
      let received = 0;
      let corrupted = 0;
      b.onDatagram((from, data) => {
        expect(from).toBe(`127.0.0.1:${a.localPort}`);
        const seq = intact(data);
        if (seq < 0 || seq >= seen.length || seen[seq]) corrupted++;
        else seen[seq] = 1;
        received++;
      });
      const to = `127.0.0.1:${b.localPort}`;
      // paced in rounds that fit the socket buffers, so loopback never has a reason to drop
      for (let seq = 0; seq < 10_000; ) {
        const end = Math.min(seq + 250, 10_000);
        for (; seq < end; seq++) a.send(to, datagram(seq));
        a.flush();
        await expect.poll(() => received, { timeout: 5000, interval: 2 }).toBe(end);
      }
      expect(corrupted).toBe(0);
      expect(seen.every((x) => x === 1)).toBe(true);
      const sa = a.stats();
      const sb = b.stats();
      expect(sa.sent).toBe(10_000);
      expect(sa.sendDrops).toBe(0);
      expect(sb.received).toBe(10_000);
      expect(sb.receiveDrops).toBe(0);
      expect([sa.gso, sb.gro]).toEqual([offload, offload]); // this kernel (>= 5.0) has both
    });
  }

  it('never mixes up destinations within one batch', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const got = { b: [] as number[], c: [] as number[] };
    b.onDatagram((_f, d) => got.b.push(intact(d)));
    c.onDatagram((_f, d) => got.c.push(intact(d)));
    const toB = `127.0.0.1:${b.localPort}`;
    const toC = `127.0.0.1:${c.localPort}`;
    for (let seq = 0; seq < 200; seq++) a.send(seq % 3 === 0 ? toC : toB, datagram(seq % 36)); // same size runs
    a.flush();
    await expect.poll(() => got.b.length + got.c.length).toBe(200);
    expect(got.c).toEqual(Array.from({ length: 67 }, (_, i) => (i * 3) % 36));
    expect(got.b.length).toBe(133);
  });

  it('sends at the end of the callback unless corked, and a corked send at flush()', async () => {
    const a = await open();
    const b = await open();
    const got: number[] = [];
    b.onDatagram((_f, d) => got.push(d[0]!));
    const to = `127.0.0.1:${b.localPort}`;
    a.send(to, new Uint8Array([1])); // no flush: the microtask sends it
    await expect.poll(() => got).toEqual([1]);
    a.cork();
    a.send(to, new Uint8Array([2]));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([1]); // corked: waits for the promised flush
    a.flush();
    await expect.poll(() => got).toEqual([1, 2]);
  });

  it('keeps naming peers correctly after the endpoint table overflows', async () => {
    const a = await open();
    const b = await open();
    // 5000 distinct loopback endpoints (port 9, nothing listens): more than the table holds
    for (let i = 0; i < 5000; i++) a.send(`127.77.${i >> 8}.${i & 255}:9`, new Uint8Array([1]));
    a.flush();
    const atA = new Promise<string>((resolve) => a.onDatagram((from) => resolve(from)));
    b.send(`127.0.0.1:${a.localPort}`, new Uint8Array([2]));
    expect(await atA).toBe(`127.0.0.1:${b.localPort}`);
    const atB = new Promise<Uint8Array>((resolve) => b.onDatagram((_f, d) => resolve(d)));
    a.send(`127.0.0.1:${b.localPort}`, new Uint8Array([3]));
    expect([...(await atB)]).toEqual([3]);
  });

  it('is what the daemon opens when the addon has it', async () => {
    const warnings: string[] = [];
    const t = await openPreferredUdpTransport({ listen: '127.0.0.1:0' }, (w) => warnings.push(w));
    opened.push(t as NativeUdpTransport);
    expect(t).toBeInstanceOf(NativeUdpTransport);
    expect(warnings).toEqual([]);
  });
});
