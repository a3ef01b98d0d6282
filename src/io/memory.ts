// In-memory TunDevice and Transport for unit tests: same interfaces, same batch layout as the
// real ones, no kernel. Datagrams are copied on send, like real UDP, so a sender reusing its
// buffer cannot change what the receiver gets.
import type { Endpoint } from '../core/types.js';
import { parseHostPort } from '../wire/addr.js';
import { perPacket, type PacketBatch, type TunDevice, type TunStats } from './tun.js';
import type { Transport } from './udp.js';

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
  headroomBytes?: number;
  tailroomBytes?: number;
}

/** A TUN device whose "kernel side" is the test: inject() packets in, takeWritten() them out. */
export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly headroomBytes: number;
  readonly tailroomBytes: number;
  readonly stats: TunStats = { readBatches: 0, readPackets: 0, writePackets: 0, writeDrops: 0, mergedPackets: 0, segmentedPackets: 0 };
  /** While true, writes fail as if the kernel queue were full (EAGAIN). */
  failWrites = false;
  closed = false;
  private written: Uint8Array[] = [];
  private pending: Uint8Array[][] = [];
  private handler: ((batch: PacketBatch) => void) | undefined;
  private errorHandler: ((err: Error) => void) | undefined;

  constructor(options: MemoryTunOptions = {}) {
    this.name = options.name ?? 'mem0';
    this.mtu = options.mtu ?? 1400;
    this.headroomBytes = options.headroomBytes ?? 64;
    this.tailroomBytes = options.tailroomBytes ?? 64;
  }

  /**
   * Deliver packets as ONE batch, laid out like the native device (room before and after each).
   * Held back until a handler is set, as the kernel queues packets nobody reads yet.
   */
  inject(...packets: Uint8Array[]): void {
    if (this.closed) throw new Error(`MemoryTun ${this.name} is closed`);
    for (const p of packets) {
      if (p.length > this.mtu) throw new RangeError(`packet of ${p.length} bytes exceeds MTU ${this.mtu}`);
    }
    this.pending.push(packets);
    this.drain();
  }

  /** Packets written to the device so far (copies), oldest first; clears the list. */
  takeWritten(): Uint8Array[] {
    const out = this.written;
    this.written = [];
    return out;
  }

  /** Simulate a device failure such as the interface being deleted. */
  raiseError(err: Error): void {
    this.errorHandler?.(err);
  }

  onPackets(handler: (batch: PacketBatch) => void): void {
    this.handler = handler;
    this.drain();
  }

  onPacket(handler: (packet: Uint8Array) => void): void {
    this.onPackets(perPacket(handler));
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }

  write(packet: Uint8Array): boolean {
    if (this.closed || this.failWrites) {
      this.stats.writeDrops++;
      return false;
    }
    this.written.push(packet.slice());
    this.stats.writePackets++;
    return true;
  }

  /** Writes are recorded at once: nothing to flush. */
  flush(): void {}

  writeBatch(batch: PacketBatch): number {
    let ok = 0;
    for (let i = 0; i < batch.count; i++) {
      const offset = batch.meta[2 * i]!;
      if (this.write(batch.buffer.subarray(offset, offset + batch.meta[2 * i + 1]!))) ok++;
    }
    return ok;
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
  }

  private drain(): void {
    while (this.handler && this.pending.length > 0) {
      const batch = this.layout(this.pending.shift()!);
      this.stats.readBatches++;
      this.stats.readPackets += batch.count;
      this.handler(batch);
    }
  }

  private layout(packets: Uint8Array[]): PacketBatch {
    const slotBytes = this.headroomBytes + this.mtu + this.tailroomBytes;
    const buffer = new Uint8Array(slotBytes * packets.length);
    const meta = new Uint32Array(2 * packets.length);
    packets.forEach((p, i) => {
      const offset = i * slotBytes + this.headroomBytes;
      buffer.set(p, offset);
      meta[2 * i] = offset;
      meta[2 * i + 1] = p.length;
    });
    return { buffer, meta, count: packets.length };
  }
}

export interface MemoryNetworkOptions {
  /** Deliver queued datagrams on a microtask (default). If false, only flush() delivers. */
  autoDeliver?: boolean;
}

interface Datagram {
  from: Endpoint;
  to: Endpoint;
  data: Uint8Array;
}

/** Connects MemoryTransports by endpoint; delivery is in send order, never synchronous. */
export class MemoryNetwork {
  /** Datagrams to endpoints nobody listens on (real UDP would get ICMP port unreachable). */
  undeliverable = 0;
  /** Return false to drop a datagram (loss injection). */
  filter: ((d: Readonly<Datagram>) => boolean) | undefined;
  private readonly transports = new Map<Endpoint, MemoryTransport>();
  private queue: Datagram[] = [];
  private scheduled = false;
  private readonly autoDeliver: boolean;

  constructor(options: MemoryNetworkOptions = {}) {
    this.autoDeliver = options.autoDeliver ?? true;
  }

  /** A transport bound to `endpoint` ("192.0.2.1:3210"). */
  createTransport(endpoint: Endpoint): MemoryTransport {
    if (this.transports.has(endpoint)) throw new Error(`${endpoint} is already in use`);
    const t = new MemoryTransport(this, endpoint);
    this.transports.set(endpoint, t);
    return t;
  }

  /** Deliver every queued datagram, including ones sent while delivering; returns how many. */
  flush(): number {
    let delivered = 0;
    while (this.queue.length > 0) {
      const d = this.queue.shift()!;
      const target = this.transports.get(d.to);
      if (!target) this.undeliverable++;
      else if (target.deliver(d.from, d.data)) delivered++;
    }
    return delivered;
  }

  /** @internal used by MemoryTransport */
  enqueue(d: Datagram): void {
    if (this.filter && !this.filter(d)) return;
    this.queue.push(d);
    if (this.autoDeliver && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** @internal used by MemoryTransport */
  unregister(endpoint: Endpoint): void {
    this.transports.delete(endpoint);
  }
}

export class MemoryTransport implements Transport {
  readonly localPort: number;
  private handler: ((from: Endpoint, data: Uint8Array) => void) | undefined;
  private batchEnd: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly endpoint: Endpoint,
  ) {
    this.localPort = parseHostPort(endpoint, 0).port;
  }

  send(to: Endpoint, data: Uint8Array): void {
    if (!this.closed) this.network.enqueue({ from: this.endpoint, to, data: data.slice() });
  }

  /** Datagrams are queued on the network at send(): nothing to flush. */
  flush(): void {}

  onDatagram(handler: (from: Endpoint, data: Uint8Array) => void, batchEnd?: () => void): void {
    this.handler = handler;
    this.batchEnd = batchEnd;
  }

  close(): Promise<void> {
    this.closed = true;
    this.network.unregister(this.endpoint);
    return Promise.resolve();
  }

  /** @internal false if nobody took it */
  deliver(from: Endpoint, data: Uint8Array): boolean {
    if (this.closed || !this.handler) return false;
    this.handler(from, data);
    this.batchEnd?.(); // one datagram per delivery
    return true;
  }
}

/** Two transports on one network, for the common two-node test. */
export function createTransportPair(options?: MemoryNetworkOptions): {
  network: MemoryNetwork;
  a: MemoryTransport;
  b: MemoryTransport;
} {
  const network = new MemoryNetwork(options);
  return { network, a: network.createTransport('192.0.2.1:3210'), b: network.createTransport('192.0.2.2:3210') };
}
