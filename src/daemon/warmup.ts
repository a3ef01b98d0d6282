// JIT warm-up of the data path at start-up. V8 runs a function in its interpreter and
// baseline tiers until it has run enough, and only then optimises it; at idle rates (a ping a
// second) that takes minutes, and until then every packet pays ~0.1 ms more per pass through
// a node (measured: idle RTT added 0.8-1.0 ms cold, 0.4-0.5 ms once optimised). So before the
// real device is served, a throwaway pair of real engines with real SecureChannels, each
// behind the real DataPlane, exchanges a few thousand packets over an in-process wire (no
// socket, no device, a random key): the same code then starts out optimised.
import { createEngine, type Engine } from '../core/engine.js';
import type { Endpoint, Rng } from '../core/types.js';
import type { AlgorithmName } from '../crypto/aead.js';
import { SecureChannel } from '../crypto/channel.js';
import { identityRecordAuth } from '../crypto/record-auth.js';
import { generateKeyPair } from '../crypto/keys.js';
import type { PacketBatch, TunDevice, TunStats } from '../io/tun.js';
import type { Transport } from '../io/udp.js';
import { parsePrefix } from '../wire/addr.js';
import { DataPlane, monotonicMs } from './dataplane.js';
import { errorText } from '../log/text.js';

const ROOM_BYTES = 64;
const LOOP_MTU = 1400;

/** A TUN whose "kernel" is the caller: one fixed batch of packets, handed over by read(). */
export class LoopTun implements TunDevice {
  readonly mtu = LOOP_MTU;
  readonly headroomBytes = ROOM_BYTES;
  readonly tailroomBytes = ROOM_BYTES;
  readonly stats: TunStats = {
    readBatches: 0, readPackets: 0, writePackets: 0, writeDrops: 0, mergedPackets: 0, segmentedPackets: 0, readDrops: 0,
  };
  readonly batch: { buffer: Uint8Array; meta: Uint32Array; count: number };
  private handler: ((b: PacketBatch) => void) | undefined;

  /** A batch of `count` ICMP packets of `packetBytes` from 10.0.0.src to 10.0.0.dst. */
  constructor(readonly name: string, src: number, dst: number, count: number, packetBytes: number) {
    const slot = ROOM_BYTES + LOOP_MTU + ROOM_BYTES;
    this.batch = { buffer: new Uint8Array(slot * count), meta: new Uint32Array(2 * count), count };
    for (let i = 0; i < count; i++) {
      const off = i * slot + ROOM_BYTES;
      const p = this.batch.buffer.subarray(off, off + packetBytes);
      p[0] = 0x45;
      p[2] = packetBytes >> 8;
      p[3] = packetBytes & 0xff;
      p[8] = 64; // TTL
      p[9] = 1; // ICMP
      p.set([10, 0, 0, src], 12);
      p.set([10, 0, 0, dst], 16);
      this.batch.meta[2 * i] = off;
      this.batch.meta[2 * i + 1] = packetBytes;
    }
  }

  /** One read wake-up with the whole batch. */
  read(): void {
    this.stats.readBatches++;
    this.stats.readPackets += this.batch.count;
    this.handler?.(this.batch);
  }

  onPackets(h: (b: PacketBatch) => void): void {
    this.handler = h;
  }

  onPacket(): void {
    throw new Error('LoopTun delivers batches only');
  }

  onError(): void {}

  write(_packet: Uint8Array): boolean {
    this.stats.writePackets++;
    return true;
  }

  flush(): void {}

  writeBatch(b: PacketBatch): number {
    this.stats.writePackets += b.count;
    return b.count;
  }

  close(): void {}
}

/** Datagrams queue in preallocated slots and are delivered, in order, by pump(). */
export class LoopWire {
  private static readonly SLOTS = 256;
  private static readonly SLOT_BYTES = 65536;
  private readonly buf = new Uint8Array(LoopWire.SLOTS * LoopWire.SLOT_BYTES);
  private readonly len = new Uint32Array(LoopWire.SLOTS);
  private readonly from: LoopTransport[] = [];
  private readonly to: (LoopTransport | undefined)[] = [];
  /** One cached view per slot, replaced only when the length changes. */
  private readonly views: Uint8Array[] = [];
  readonly byEndpoint = new Map<Endpoint, LoopTransport>();
  private head = 0;
  private tail = 0;

  constructor() {
    for (let i = 0; i < LoopWire.SLOTS; i++) this.views.push(this.buf.subarray(i * LoopWire.SLOT_BYTES, i * LoopWire.SLOT_BYTES));
  }

  enqueue(from: LoopTransport, to: Endpoint, data: Uint8Array): void {
    if (this.tail - this.head >= LoopWire.SLOTS) this.pump(); // a full wire delivers first
    const slot = this.tail++ % LoopWire.SLOTS;
    this.buf.set(data, slot * LoopWire.SLOT_BYTES);
    this.len[slot] = data.length;
    this.from[slot] = from;
    this.to[slot] = this.byEndpoint.get(to);
  }

  /**
   * Deliver everything queued, replies sent meanwhile included. Consecutive datagrams for one
   * transport form one receive batch (its batchEnd runs once after them), as with recvmmsg.
   */
  pump(): void {
    let batchOf: LoopTransport | undefined;
    while (this.head < this.tail) {
      const slot = this.head++ % LoopWire.SLOTS;
      const n = this.len[slot]!;
      let v = this.views[slot]!;
      if (v.length !== n) v = this.views[slot] = this.buf.subarray(slot * LoopWire.SLOT_BYTES, slot * LoopWire.SLOT_BYTES + n);
      const to = this.to[slot];
      if (to !== batchOf) batchOf?.batchEnd?.();
      batchOf = to;
      to?.handler?.(this.from[slot]!.endpoint, v);
    }
    batchOf?.batchEnd?.();
  }
}

export class LoopTransport implements Transport {
  readonly localPort = 3210;
  handler: ((from: Endpoint, data: Uint8Array) => void) | undefined;
  batchEnd: (() => void) | undefined;

  constructor(private readonly wire: LoopWire, readonly endpoint: Endpoint) {
    wire.byEndpoint.set(endpoint, this);
  }

  send(to: Endpoint, data: Uint8Array): void {
    this.wire.enqueue(this, to, data);
  }

  flush(): void {}

  onDatagram(h: (from: Endpoint, data: Uint8Array) => void, batchEnd?: () => void): void {
    this.handler = h;
    this.batchEnd = batchEnd;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface LoopNode {
  engine: Engine;
  tun: LoopTun;
  plane: DataPlane;
}

export interface LoopPairOptions {
  algorithm: AlgorithmName;
  rng: Rng;
  /** Packets per TUN read batch. */
  batch: number;
  packetBytes: number;
  keepaliveMs?: number;
  peerTimeoutMs?: number;
}

/**
 * Two nodes, 10.0.0.1 and 10.0.0.2, joined by a LoopWire, their handshake done and routes
 * known; undefined if that did not happen within `rounds` pumps. Stop both planes when done.
 */
export function connectedLoopPair(o: LoopPairOptions, rounds = 50): { a: LoopNode; b: LoopNode; wire: LoopWire } | undefined {
  const wire = new LoopWire();
  const psk = new Uint8Array(32);
  o.rng.fill(psk);
  const node = (n: number, peer: number): LoopNode => {
    const transport = new LoopTransport(wire, `192.0.2.${n}:3210`);
    const tun = new LoopTun(`loop${n}`, n, peer, o.batch, o.packetBytes);
    const identity = generateKeyPair();
    const engine = createEngine({
      config: {
        claims: [parsePrefix(`10.0.0.${n}/32`)],
        bootTimeMs: 0,
        seeds: [`192.0.2.${peer}:3210`],
        keepaliveMs: o.keepaliveMs ?? 10_000,
        peerTimeoutMs: o.peerTimeoutMs ?? 60_000,
      },
      makeChannel: (sink) => new SecureChannel({ identity, psk, algorithms: [o.algorithm], rng: o.rng, sink }),
      recordAuth: identityRecordAuth(identity),
      send: (to, d) => transport.send(to, d),
      deliver: (p) => void tun.write(p),
      onEvent: () => {}, // present as in the daemon, so V8 sees the same options shape
      rng: o.rng,
    });
    const plane = new DataPlane(engine, tun, transport);
    plane.start();
    return { engine, tun, plane };
  };
  const a = node(1, 2);
  const b = node(2, 1);
  const toA = new Uint8Array([10, 0, 0, 1]);
  const toB = new Uint8Array([10, 0, 0, 2]);
  for (let i = 0; i < rounds; i++) {
    wire.pump();
    if (a.engine.routeFor(toB) && b.engine.routeFor(toA)) return { a, b, wire };
    // What the planes' timers would do later (retransmits, gossip), done now.
    const now = monotonicMs() + i * 100;
    a.engine.handleTimeout(now);
    b.engine.handleTimeout(now);
  }
  a.plane.stop();
  b.plane.stop();
  return undefined;
}

export interface WarmUpResult {
  /** Packets that made the whole trip (read, sealed, opened, delivered). */
  packets: number;
  ms: number;
}

/**
 * Push `packets` packets (half each way) through a throwaway loop pair using `algorithm`.
 * Never throws: a warm-up that cannot run only costs the speed it would have bought.
 */
export function warmUpDataPath(algorithm: AlgorithmName, rng: Rng, packets = 16_000): WarmUpResult | { error: string } {
  const started = monotonicMs();
  try {
    const batch = 16;
    const pair = connectedLoopPair({ algorithm, rng, batch, packetBytes: 1200 });
    if (!pair) return { error: 'the loop pair did not connect' };
    const { a, b, wire } = pair;
    for (let sent = 0; sent < packets; sent += 2 * batch) {
      a.tun.read();
      wire.pump();
      b.tun.read();
      wire.pump();
    }
    a.plane.stop();
    b.plane.stop();
    return { packets: a.tun.stats.writePackets + b.tun.stats.writePackets, ms: monotonicMs() - started };
  } catch (err) {
    return { error: errorText(err) };
  }
}
