// The native UDP socket never writes past the arrays JS gives it, whatever the kernel hands
// over: GRO messages of up to 128 datagrams (Linux >= 6.8), empty datagrams, a kernel that
// refuses long GSO runs, an endpoint table filled by many senders, buffers JS detached.
// The addon is driven directly (not through NativeUdpTransport) so the test owns the arrays
// and can put canary words right after meta. Traffic on 127.0.0.1 only.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative, type NativeUdpSocket } from '../../src/native/addon.js';

/** libsodium's crypto_shorthash is SipHash-2-4, the endpoint table's hash. */
const { crypto_shorthash: siphash24 } = createRequire(import.meta.url)('sodium-native') as {
  crypto_shorthash(out: Uint8Array, input: Uint8Array, key: Uint8Array): void;
};
const native = loadNative();
const U = native.udpConstants;
const UdpSocket = native.UdpSocket!;
const CANARY = 0xdeadbeef;
const CANARY_WORDS = 64;

interface Opened {
  socket: NativeUdpSocket;
  buffer: Uint8Array;
  meta: Uint32Array;
  canary: Uint32Array;
  addrs: Uint8Array;
  /** Datagram count of each onDatagrams call. */
  batches: number[];
  /** Payloads received, in order. */
  payloads: Uint8Array[];
  errors: string[];
}

const sockets: NativeUdpSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A socket whose meta is exactly as long as the addon asks for, with canaries right after it. */
function open(
  options: { offload?: 0 | 1; simulatedKernelSegments?: number; family?: 0 | 4 | 6; host?: string; hashKey?: Uint8Array } = {},
): Opened {
  const maxBatch = 64; // as NativeUdpTransport
  const offload = options.offload ?? 1;
  const metaWords = U.metaStride * maxBatch * (offload ? U.maxSegments : 1);
  const shared = new ArrayBuffer((metaWords + CANARY_WORDS) * 4);
  const meta = new Uint32Array(shared, 0, metaWords);
  const canary = new Uint32Array(shared, metaWords * 4, CANARY_WORDS).fill(CANARY);
  const buffer = new Uint8Array(maxBatch * U.minSlotBytes);
  const addrs = new Uint8Array(U.endpointCapacity * U.addrBytes);
  const o: Opened = { socket: undefined!, buffer, meta, canary, addrs, batches: [], payloads: [], errors: [] };
  o.socket = new UdpSocket({
    family: options.family ?? 4,
    host: options.host ?? '127.0.0.1',
    port: 0,
    bufferBytes: 4 << 20,
    buffer,
    meta,
    addrs,
    slotBytes: U.minSlotBytes,
    maxBatch,
    offload,
    simulatedKernelSegments: options.simulatedKernelSegments,
    hashKey: options.hashKey,
    onDatagrams: (count) => {
      o.batches.push(count);
      for (let i = 0; i < count; i++) {
        const at = o.meta[U.metaStride * i]!;
        o.payloads.push(o.buffer.slice(at, at + o.meta[U.metaStride * i + 1]!));
      }
    },
    onError: (code, _errno, _message, fatal) => o.errors.push(`${code}${fatal ? ' fatal' : ''}`),
  });
  sockets.push(o.socket);
  return o;
}

const stats = (o: Opened) => {
  const [sent, sendDrops, received, recvDrops, , gso, gro, gsoSegments, endpointResets, probeLimits] = o.socket.stats();
  return { sent, sendDrops, received, recvDrops, gso, gro, gsoSegments, endpointResets, probeLimits };
};

function datagram(seq: number): Uint8Array {
  const d = new Uint8Array(8);
  new DataView(d.buffer).setUint32(0, seq);
  d[7] = seq & 0xff;
  return d;
}

/**
 * 32 runs of 128 eight-byte datagrams (each leaves as one GSO message, and over loopback
 * arrives as one GRO message of 128), then one empty datagram, all queued at the receiver
 * before it first wakes up.
 */
async function sendRunsAndEmpty(from: Opened, to: Opened): Promise<number> {
  const id = from.socket.endpoint('127.0.0.1', to.socket.localPort());
  let n = 0;
  for (; n < 32 * 128; n++) from.socket.send(id, datagram(n)); // flushed every sendBatch (128)
  from.socket.send(id, new Uint8Array(0));
  from.socket.flush();
  await new Promise((r) => setTimeout(r, 50)); // loopback delivers at once; this is slack
  to.socket.start();
  return n + 1;
}

function expectAllArrived(rx: Opened, total: number): void {
  const seen = new Uint8Array(total - 1);
  let empty = 0;
  for (const p of rx.payloads) {
    if (p.length === 0) empty++;
    else seen[new DataView(p.buffer).getUint32(0)]++;
  }
  expect(empty).toBe(1);
  expect(seen.every((x) => x === 1)).toBe(true);
}

describe('native UDP socket bounds', () => {
  it('keeps GRO messages of 128 datagrams and an empty datagram inside meta', async () => {
    const tx = open();
    const rx = open();
    const total = await sendRunsAndEmpty(tx, rx);
    await expect.poll(() => stats(rx).received + stats(rx).recvDrops, { timeout: 5000 }).toBe(total);
    expect(rx.canary.findIndex((w) => w !== CANARY)).toBe(-1); // nothing written past meta
    expect(stats(tx)).toMatchObject({ sent: total, sendDrops: 0, gso: 1, gsoSegments: U.maxSegments });
    expect(stats(rx)).toMatchObject({ received: total, recvDrops: 0, gro: 1 });
    // the premise: 33 messages in one wake-up carried 4097 datagrams, so the kernel did put more
    // than 64 (the limit before Linux 6.8) into one GRO message
    expect(rx.batches).toEqual([total]);
    expectAllArrived(rx, total);
    expect(rx.errors).toEqual([]);
  });

  it('falls back to runs of 64 when the kernel refuses 128 segments', async () => {
    const tx = open({ simulatedKernelSegments: U.oldKernelSegments });
    const rx = open();
    const total = await sendRunsAndEmpty(tx, rx);
    await expect.poll(() => stats(rx).received, { timeout: 5000 }).toBe(total);
    expect(stats(tx)).toMatchObject({ sent: total, sendDrops: 0, gso: 1, gsoSegments: U.oldKernelSegments });
    expect(rx.canary.findIndex((w) => w !== CANARY)).toBe(-1);
    expectAllArrived(rx, total);
  });

  it('never folds an empty datagram into a GSO run', async () => {
    const tx = open();
    const rx = open();
    rx.socket.start();
    const id = tx.socket.endpoint('127.0.0.1', rx.socket.localPort());
    const sizes = [8, 8, 8, 0, 8, 8, 0, 0, 8, 8, 8, 0];
    sizes.forEach((size, i) => tx.socket.send(id, size ? datagram(i) : new Uint8Array(0)));
    tx.socket.flush();
    await expect.poll(() => rx.payloads.length, { timeout: 5000 }).toBe(sizes.length);
    expect(rx.payloads.map((p) => p.length)).toEqual(sizes);
  });

  it('keeps endpoint ids right across table resets, with v4 and v6 peers', () => {
    const o = open({ family: 0, host: '' }); // dual-stack needs the any address (no traffic is sent)
    const live = new Map<string, number>(); // name -> id since the last reset
    const problems: string[] = []; // collected, not expect()ed per call: 300 000 lookups
    let resets = 0;
    /** The address table entry JS would read for `id`: v6 or v4-mapped address, port. */
    const keyOk = (ip: string, port: number, id: number): boolean => {
      const want = new Uint8Array(U.addrBytes);
      if (ip.includes(':')) {
        const [hi, lo] = ip.split(':').slice(-2).map((h) => parseInt(h, 16));
        want.set([0xfd, 0, ...new Array<number>(10).fill(0), hi! >> 8, hi! & 0xff, lo! >> 8, lo! & 0xff]);
      } else {
        want.set([0xff, 0xff, ...ip.split('.').map(Number)], 10);
      }
      want.set([port >> 8, port & 0xff], 16);
      const key = o.addrs.subarray(id * U.addrBytes, (id + 1) * U.addrBytes);
      return key.every((b, i) => b === want[i]);
    };
    const total = 3 * U.endpointCapacity;
    for (let i = 0; i < total; i++) {
      const port = 1024 + (i % 50_000);
      const ip = i % 2 ? `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}` : `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      let id = o.socket.endpoint(ip, port);
      if (id >= U.resetFlag) {
        resets++;
        live.clear();
        id -= U.resetFlag;
      }
      if (id !== live.size) problems.push(`${ip} ${port}: id ${id}, want ${live.size}`); // numbered afresh
      if (!keyOk(ip, port, id)) problems.push(`${ip} ${port}: wrong address table entry`);
      live.set(`${ip}|${port}`, id);
      if (i % 307 === 0) {
        for (const [name, known] of live) {
          const [ip2, port2] = name.split('|');
          const again = o.socket.endpoint(ip2!, Number(port2)); // found again, no reset
          if (again !== known) problems.push(`${name}: id ${again} on lookup, was ${known}`);
        }
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(resets).toBe(Math.floor((total - 1) / U.endpointCapacity));
    expect(stats(o)).toMatchObject({ endpointResets: resets, probeLimits: 0 });
  });

  it('cuts probe chains at endpointMaxProbes, and its own random key defeats chosen addresses', () => {
    // With a known key (a test-only option) find endpointMaxProbes + 1 IPv4 endpoints whose
    // SipHash-2-4 (libsodium's crypto_shorthash is the same function) lands in one bucket.
    const key = new Uint8Array(16).fill(0x5a);
    const buckets = 4 * U.endpointCapacity; // endpoints.h: four buckets per entry
    const k = Buffer.alloc(U.addrBytes);
    k[10] = k[11] = 0xff; // v4-mapped
    const port = 4000;
    k.writeUInt16BE(port, 16);
    const out = Buffer.alloc(8);
    const colliding: string[] = [];
    let home = -1;
    for (let i = 1; colliding.length <= U.endpointMaxProbes; i++) {
      k.writeUInt32BE(0x7f000000 + i, 12);
      siphash24(out, k, key);
      const bucket = out.readUInt16LE(0) & (buckets - 1);
      if (home < 0) home = bucket;
      if (bucket === home) colliding.push(`127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    const known = open({ hashKey: key });
    const ids = colliding.map((ip) => known.socket.endpoint(ip, port));
    // the chain fills endpointMaxProbes buckets; the next one is refused and the table cleared
    expect(ids).toEqual([...Array.from({ length: U.endpointMaxProbes }, (_, i) => i), U.resetFlag + 0]);
    expect(stats(known)).toMatchObject({ endpointResets: 1, probeLimits: 1 });
    expect(known.socket.endpoint(colliding[U.endpointMaxProbes]!, port)).toBe(0); // found again
    const random = open();
    const randomIds = colliding.map((ip) => random.socket.endpoint(ip, port));
    expect(randomIds).toEqual(colliding.map((_, i) => i));
    expect(stats(random)).toMatchObject({ endpointResets: 0, probeLimits: 0 });
  });

  it('stops instead of writing into a buffer JS has detached', async () => {
    const tx = open();
    const rx = open();
    rx.socket.start();
    structuredClone(rx.meta.buffer, { transfer: [rx.meta.buffer] }); // detaches meta (and the canaries)
    expect(rx.meta.length).toBe(0);
    tx.socket.send(tx.socket.endpoint('127.0.0.1', rx.socket.localPort()), datagram(1));
    tx.socket.flush();
    await expect.poll(() => rx.errors, { timeout: 5000 }).toEqual(['EFAULT fatal']);
    expect(rx.batches).toEqual([]);
    expect(() => rx.socket.endpoint('127.0.0.1', 9)).toThrow(/detached or shrunk/);
  });

  it('refuses endpoint() after close (its address table may be gone)', () => {
    const o = open();
    o.socket.close();
    expect(o.socket.endpoint('127.0.0.1', 9)).toBe(-1);
  });
});
