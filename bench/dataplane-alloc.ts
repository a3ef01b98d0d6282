// Allocation per packet on the data path: two real engines with real SecureChannels, each
// behind the real DataPlane, joined by an in-process wire. Packets go A -> B and B -> A
// (TUN read, route, seal, "UDP", open, deliver), and the bench reports the JS heap bytes
// allocated per packet and the number of GCs (a perfect hot path shows ~0 B and 0 GCs).
//   npx tsc -p . && node dist/bench/dataplane-alloc.js [packets] [--algorithm chacha20|aes256|plain]
//
// The fakes here reuse every buffer and view (unlike src/io/memory.ts, whose transport copies
// each datagram and whose TUN lays out a fresh batch per inject, by design for tests), so
// whatever is counted is allocated by the engine, the channel or the data plane themselves.
// Heap bytes are the growth of V8's used heap over chunks of packets in which no GC ran.
// Reading the heap statistics costs ~1 KB per chunk, so ~2 B/packet is this bench's own floor.
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { createEngine, type Engine } from '../src/core/engine.js';
import type { Endpoint } from '../src/core/types.js';
import type { AlgorithmName } from '../src/crypto/aead.js';
import { SecureChannel } from '../src/crypto/channel.js';
import { generateKeyPair } from '../src/crypto/keys.js';
import { systemRng } from '../src/crypto/rng.js';
import { DataPlane } from '../src/daemon/dataplane.js';
import type { PacketBatch, TunDevice, TunStats } from '../src/io/tun.js';
import type { Transport } from '../src/io/udp.js';
import { parsePrefix } from '../src/wire/addr.js';

const argv = process.argv.slice(2);
const PACKETS = Number(argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const algIdx = argv.indexOf('--algorithm');
const ALGORITHM = (algIdx >= 0 ? argv[algIdx + 1] : 'chacha20') as AlgorithmName;
const PACKET_BYTES = 1200;
const BATCH = 16; // TUN packets per read batch
const CHUNK = 512; // packets per heap sample
const ROOM = 64;

/** A TUN whose "kernel" is this bench: one fixed batch buffer, refilled in place. */
class BenchTun implements TunDevice {
  readonly mtu = 1400;
  readonly headroomBytes = ROOM;
  readonly tailroomBytes = ROOM;
  readonly stats: TunStats = { readBatches: 0, readPackets: 0, writePackets: 0, writeDrops: 0, mergedPackets: 0, segmentedPackets: 0 };
  readonly batch: { buffer: Uint8Array; meta: Uint32Array; count: number };
  private handler: ((b: PacketBatch) => void) | undefined;

  constructor(readonly name: string, src: number, dst: number) {
    const slot = ROOM + this.mtu + ROOM;
    this.batch = { buffer: new Uint8Array(slot * BATCH), meta: new Uint32Array(2 * BATCH), count: BATCH };
    for (let i = 0; i < BATCH; i++) {
      const off = i * slot + ROOM;
      const p = this.batch.buffer.subarray(off, off + PACKET_BYTES);
      p[0] = 0x45; p[2] = PACKET_BYTES >> 8; p[3] = PACKET_BYTES & 0xff; p[8] = 64; p[9] = 1; // ICMP
      p.set([10, 0, 0, src], 12);
      p.set([10, 0, 0, dst], 16);
      this.batch.meta[2 * i] = off;
      this.batch.meta[2 * i + 1] = PACKET_BYTES;
    }
  }

  /** One read wake-up with BATCH packets. */
  read(): void { this.handler?.(this.batch); }
  onPackets(h: (b: PacketBatch) => void): void { this.handler = h; }
  onPacket(): void { throw new Error('not used'); }
  onError(): void {}
  write(_packet: Uint8Array): boolean { this.stats.writePackets++; return true; }
  flush(): void {}
  writeBatch(b: PacketBatch): number { this.stats.writePackets += b.count; return b.count; }
  close(): void {}
}

/** Datagrams queue in preallocated slots and are delivered by pump(), in order. */
class BenchWire {
  static readonly SLOTS = 256;
  static readonly SLOT_BYTES = 65536;
  readonly buf = new Uint8Array(BenchWire.SLOTS * BenchWire.SLOT_BYTES);
  readonly len = new Uint32Array(BenchWire.SLOTS);
  readonly from: BenchTransport[] = [];
  readonly to: (BenchTransport | undefined)[] = [];
  /** One cached view per slot, replaced only when the length changes. */
  readonly views: Uint8Array[] = [];
  readonly byEndpoint = new Map<Endpoint, BenchTransport>();
  head = 0;
  tail = 0;

  constructor() {
    for (let i = 0; i < BenchWire.SLOTS; i++) this.views.push(this.buf.subarray(i * BenchWire.SLOT_BYTES, i * BenchWire.SLOT_BYTES));
  }

  enqueue(from: BenchTransport, to: Endpoint, data: Uint8Array): void {
    if (this.tail - this.head >= BenchWire.SLOTS) throw new Error('wire full');
    const slot = this.tail++ % BenchWire.SLOTS;
    this.buf.set(data, slot * BenchWire.SLOT_BYTES);
    this.len[slot] = data.length;
    this.from[slot] = from;
    this.to[slot] = this.byEndpoint.get(to);
  }

  pump(): void {
    while (this.head < this.tail) {
      const slot = this.head++ % BenchWire.SLOTS;
      const n = this.len[slot]!;
      let v = this.views[slot]!;
      if (v.length !== n) v = this.views[slot] = this.buf.subarray(slot * BenchWire.SLOT_BYTES, slot * BenchWire.SLOT_BYTES + n);
      this.to[slot]?.handler?.(this.from[slot]!.endpoint, v);
    }
  }
}

class BenchTransport implements Transport {
  readonly localPort = 3210;
  handler: ((from: Endpoint, data: Uint8Array) => void) | undefined;
  constructor(private readonly wire: BenchWire, readonly endpoint: Endpoint) { wire.byEndpoint.set(endpoint, this); }
  send(to: Endpoint, data: Uint8Array): void { this.wire.enqueue(this, to, data); }
  flush(): void {}
  onDatagram(h: (from: Endpoint, data: Uint8Array) => void): void { this.handler = h; }
  close(): Promise<void> { return Promise.resolve(); }
}

interface Node { engine: Engine; tun: BenchTun; plane: DataPlane }

const rng = systemRng();
const psk = new Uint8Array(32).fill(3);

function node(wire: BenchWire, n: number, peer: number): Node {
  const transport = new BenchTransport(wire, `192.0.2.${n}:3210`);
  const tun = new BenchTun(`bench${n}`, n, peer);
  const identity = generateKeyPair();
  const engine = createEngine({
    config: {
      claims: [parsePrefix(`10.0.0.${n}/32`)], bootTimeMs: Date.now(), seeds: [`192.0.2.${peer}:3210`],
      keepaliveMs: 10_000, peerTimeoutMs: 60_000,
    },
    makeChannel: (sink) => new SecureChannel({ identity, psk, algorithms: [ALGORITHM], rng, sink }),
    send: (to, d) => transport.send(to, d),
    deliver: (p) => void tun.write(p),
    rng,
  });
  const plane = new DataPlane(engine, tun, transport);
  plane.start();
  return { engine, tun, plane };
}

async function main(): Promise<void> {
  const wire = new BenchWire();
  const a = node(wire, 1, 2);
  const b = node(wire, 2, 1);
  // handshake and first gossip; the planes' timers run on the real clock
  for (let i = 0; i < 50 && !(a.engine.routeFor(new Uint8Array([10, 0, 0, 2])) && b.engine.routeFor(new Uint8Array([10, 0, 0, 1]))); i++) {
    wire.pump();
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < 5; i++) { wire.pump(); await new Promise((r) => setTimeout(r, 10)); }

  let gcs = 0;
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs++;
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++; // NODE_PERFORMANCE_GC_MINOR
    }
  });

  const round = (): void => { a.tun.read(); wire.pump(); b.tun.read(); wire.pump(); };
  for (let i = 0; i < 20_000 / (2 * BATCH); i++) round(); // JIT warm-up
  await new Promise((r) => setImmediate(r));
  const delivered0 = a.tun.stats.writePackets + b.tun.stats.writePackets;

  obs.observe({ entryTypes: ['gc'] });
  let sampledBytes = 0;
  let sampledPackets = 0;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < PACKETS) {
    const before = getHeapStatistics().used_heap_size;
    let n = 0;
    while (n < CHUNK) { round(); n += 2 * BATCH; }
    const after = getHeapStatistics().used_heap_size;
    if (after >= before) { sampledBytes += after - before; sampledPackets += n; } // else a GC ran
    sent += n;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const delivered = a.tun.stats.writePackets + b.tun.stats.writePackets - delivered0;
  a.plane.stop();
  b.plane.stop();
  console.log(`dataplane-alloc: ${sent} packets of ${PACKET_BYTES} B (${ALGORITHM}, both directions, batches of ${BATCH})`);
  console.log(`  delivered          ${delivered}${delivered < sent ? '  (LOSS: check the setup)' : ''}`);
  console.log(`  heap bytes/packet  ${(sampledBytes / Math.max(1, sampledPackets)).toFixed(1)}  (over ${sampledPackets} packets in GC-free chunks)`);
  console.log(`  GCs                ${gcs} (minor ${minor}) = ${((gcs * 100_000) / sent).toFixed(1)} per 100 000 packets`);
  console.log(`  time               ${(ns / sent / 1000).toFixed(2)} us/packet (seal+open+routing, one core)`);
  if (delivered < sent) process.exitCode = 1;
}

await main();
