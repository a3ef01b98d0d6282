// The TUN device as the rest of hacloud sees it: a small interface (so tests can substitute
// the in-memory device from memory.ts) and the real implementation on the native addon.
//
// Receiving is batch-oriented: every poll wake-up hands over all queued packets at once, in one
// shared buffer, with free room before and after each packet so the encryption layer can add
// its header and tag in place without copying. Simple callers use onPacket instead.
//
// Writing: by default the device is opened with IFF_VNET_HDR and write() queues packets; the
// queue is written at flush() (at the latest in a microtask at the end of the current
// event-loop callback) by native/tun-gro.c, which merges runs of TCP segments of one flow into
// one large segment, so the kernel's TCP receive path runs once per run instead of per packet.
// Reading, the device offers TSO to the kernel: the addon's poller cuts each large TCP segment
// back into MTU-sized packets (headers and checksums of their own), so handlers never notice,
// but a batch may then hold more packets than maxBatch.
import { FlushGate } from './flush-gate.js';
import { loadNative, type NativeAddon, type NativePoller } from '../native/addon.js';
import { configureInterface, type InterfaceAddress } from './ifconfig.js';
import { errorText } from '../log/text.js';

export type { InterfaceAddress } from './ifconfig.js';

/**
 * Packets in a shared buffer: packet i is buffer[meta[2*i]] .. buffer[meta[2*i] + meta[2*i+1]].
 * A received batch is reused on the next wake-up: its contents are valid only during the call.
 */
export interface PacketBatch {
  readonly buffer: Uint8Array;
  readonly meta: Uint32Array;
  readonly count: number;
}

export interface TunStats {
  readBatches: number;
  readPackets: number;
  writePackets: number;
  /** Packets write() or writeBatch() could not hand to the kernel (EAGAIN, link down, not IP). */
  writeDrops: number;
  /** Written packets that went out merged with others into one large TCP segment. */
  mergedPackets: number;
  /** Read packets that the kernel handed over as part of one large TCP segment (TSO). */
  segmentedPackets: number;
  /** Reads the addon dropped: a bogus vnet header, a TSO segment too large for the batch. */
  readDrops: number;
}

export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Free bytes guaranteed in front of / after every packet of a received batch. */
  readonly headroomBytes: number;
  readonly tailroomBytes: number;
  readonly stats: Readonly<TunStats>;
  /** Receive all packets of a wake-up in one call (the hot path). Replaces any earlier handler. */
  onPackets(handler: (batch: PacketBatch) => void): void;
  /** Receive one packet per call; the view is valid only during the call (copy it to keep it). */
  onPacket(handler: (packet: Uint8Array) => void): void;
  /** Device failures (e.g. the interface was deleted). Unhandled ones become process warnings. */
  onError(handler: (err: Error) => void): void;
  /**
   * Write one IP packet; false means it was dropped and should be counted by the caller. The
   * device may queue it (a copy) until flush(); drops found then are counted in stats.writeDrops.
   */
  write(packet: Uint8Array): boolean;
  /** Write queued packets now (and end a cork()). */
  flush(): void;
  /**
   * Until the next flush(), writes schedule no flush of their own: the caller promises to call
   * flush() before it returns to the event loop (see io/flush-gate.ts).
   */
  cork?(): void;
  /** Write every packet of a batch; returns how many were written (the rest were dropped). */
  writeBatch(batch: PacketBatch): number;
  /** Stop reading and close the device. Idempotent. */
  close(): void;
}

/** Adapts a per-packet handler to batches (one subarray view per packet). */
export function perPacket(handler: (packet: Uint8Array) => void): (batch: PacketBatch) => void {
  return (batch) => {
    const { buffer, meta } = batch;
    for (let i = 0; i < batch.count; i++) {
      const offset = meta[2 * i]!;
      handler(buffer.subarray(offset, offset + meta[2 * i + 1]!));
    }
  };
}

export class TunError extends Error {
  override name = 'TunError';
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export interface TunOptions {
  /** Interface name, or a template such as "hacloud%d" (the kernel picks the number). */
  name: string;
  /** Default /dev/net/tun. */
  path?: string;
  mtu: number;
  address?: InterfaceAddress;
  /** More addresses (e.g. an IPv6 one next to the IPv4 one). */
  addresses?: readonly InterfaceAddress[];
  /** Packets read per wake-up at most (fairness towards the rest of the event loop). */
  maxBatch?: number;
  headroomBytes?: number;
  tailroomBytes?: number;
  /** Queue writes and merge TCP segments (IFF_VNET_HDR); default true. */
  coalesceWrites?: boolean;
  /**
   * With coalesceWrites: let the kernel hand over IPv4 TCP runs as one large segment (TSO),
   * cut up by the addon, so a read costs the kernel one packet per run; default true.
   */
  segmentOffload?: boolean;
}

export const DEFAULT_TUN_PATH = '/dev/net/tun';
const DEFAULT_MAX_BATCH = 128;
/**
 * Slots per wake-up with vnet headers: a TSO read fills 3 slots (~200 KB touched), so fewer
 * slots keep the resident buffer small (~4 MB) while a wake-up still yields ~900 packets.
 */
const DEFAULT_MAX_BATCH_VNET = 64;
const DEFAULT_ROOM_BYTES = 64;
/**
 * Packets a received batch may hold per slot when TSO reads are cut up: a read takes 3 slots
 * and gives up to 46 packets at MSS 1400, 123 at MSS 536; when meta runs short the poller
 * ends the wake-up early (it keeps tsoMetaPackets free) rather than drop.
 */
const PACKETS_PER_SLOT_TSO = 32;
/** Write queue: room for several runs of tunConstants.maxCoalescedSegments (64) full-sized segments. */
const WRITE_QUEUE_BYTES = 512 * 1024;
const WRITE_QUEUE_PACKETS = 512;

/** Open a TUN device and configure it (addresses, MTU, up) with iproute2. */
export async function openTun(options: TunOptions): Promise<TunDevice> {
  const path = options.path ?? DEFAULT_TUN_PATH;
  const native = loadNative();
  let opened: { fd: number; name: string };
  let vnet = options.coalesceWrites ?? true;
  try {
    try {
      opened = native.openTun(path, options.name, vnet, options.segmentOffload ?? true);
    } catch (err) {
      if (!vnet || (err as { code?: string }).code !== 'EINVAL') throw err;
      vnet = false; // a kernel without IFF_VNET_HDR on TUN: plain writes
      opened = native.openTun(path, options.name, false);
    }
  } catch (err) {
    throw openError(err, options.name, path);
  }
  const addresses = [...(options.address ? [options.address] : []), ...(options.addresses ?? [])];
  try {
    await configureInterface(opened.name, options.mtu, addresses);
  } catch (err) {
    native.close(opened.fd); // the device is not persistent: closing it removes it
    const why = errorText(err);
    throw new TunError(`cannot configure TUN device ${opened.name}: ${why}`);
  }
  return new NativeTun(native, opened.fd, opened.name, options, vnet);
}

function openError(err: unknown, name: string, path: string): TunError {
  const e = err as { code?: string; reason?: string; message?: string };
  const prefix = `cannot create TUN device ${name || '(auto)'}`;
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
      return new TunError(`${prefix}: operation not permitted — run as root or grant CAP_NET_ADMIN`, e.code);
    case 'ENOENT':
    case 'ENODEV':
      return new TunError(`${prefix}: ${path} does not exist — load the tun module (modprobe tun) or set the device path`, e.code);
    case 'EBUSY':
      return new TunError(`${prefix}: device or resource busy — is it already open in another process?`, e.code);
    case 'ERR_OUT_OF_RANGE':
      return new TunError(`${prefix}: ${e.message}`, e.code);
    default:
      return new TunError(`${prefix}: ${e.reason ?? e.message ?? String(err)}`, e.code);
  }
}

class NativeTun implements TunDevice {
  readonly mtu: number;
  readonly headroomBytes: number;
  readonly tailroomBytes: number;
  readonly stats: TunStats;
  private readonly batch: { buffer: Uint8Array; meta: Uint32Array; count: number };
  private readonly poller: NativePoller;
  private handler: ((batch: PacketBatch) => void) | undefined;
  private errorHandler: ((err: Error) => void) | undefined;
  private polling = false;
  private closed = false;
  /** Write queue (vnet mode only): packets copied back to back, [offset, length] in meta. */
  private readonly queue: { buffer: Uint8Array; meta: Uint32Array; count: number; bytes: number } | null;
  private readonly gate = new FlushGate(() => this.flush());
  /** The addon's [merged writes, segments], filled in place when stats are read. */
  private readonly groStats = new Float64Array(2);
  /** writeBatch mode for received-batch writes: merged TCP runs with vnet headers, else plain. */
  private readonly writeMode: 0 | 2;

  constructor(
    private readonly native: NativeAddon,
    private readonly fd: number,
    readonly name: string,
    options: TunOptions,
    private readonly vnet = false,
  ) {
    this.mtu = options.mtu;
    const mergedAtOpen = this.mergedSoFar();
    const merged = (): number => this.mergedSoFar() - mergedAtOpen;
    this.stats = {
      readBatches: 0, readPackets: 0, writePackets: 0, writeDrops: 0, segmentedPackets: 0, readDrops: 0,
      get mergedPackets() {
        return merged(); // read from the addon when asked: the write path stays free of it
      },
    };
    this.headroomBytes = options.headroomBytes ?? DEFAULT_ROOM_BYTES;
    this.tailroomBytes = options.tailroomBytes ?? DEFAULT_ROOM_BYTES;
    const maxBatch = options.maxBatch ?? (vnet ? DEFAULT_MAX_BATCH_VNET : DEFAULT_MAX_BATCH);
    const limits = native.pollerConstants;
    // PacketBatch's layout is the poller's meta: [offset, length] per packet.
    if (limits.metaStride !== 2) throw new TunError('hacloud native addon: unexpected Poller meta layout, rebuild it');
    this.writeMode = vnet ? native.tunConstants.writeCoalesced : native.tunConstants.writePlain;
    // A read gets the largest IP packet (a smaller buffer would let the kernel truncate
    // silently); slots rounded to 64 bytes keep every slot cache-line aligned.
    const slotBytes = Math.ceil((this.headroomBytes + limits.minReadBytes + this.tailroomBytes) / 64) * 64;
    // Untouched pages of this buffer are never made resident, so the large virtual size is cheap.
    const packets = Math.max(maxBatch * (vnet ? PACKETS_PER_SLOT_TSO : 1), vnet ? limits.tsoMetaPackets : 0);
    this.batch = {
      buffer: new Uint8Array(new ArrayBuffer(slotBytes * maxBatch)),
      meta: new Uint32Array(limits.metaStride * packets),
      count: 0,
    };
    this.poller = new native.Poller({
      fd,
      buffer: this.batch.buffer,
      meta: this.batch.meta,
      slotBytes,
      headroomBytes: this.headroomBytes,
      tailroomBytes: this.tailroomBytes,
      maxBatch,
      vnetHeaderBytes: vnet ? limits.vnetHeaderBytes : 0,
      onPackets: (count, segmented, dropped) => this.deliver(count, segmented, dropped),
      onError: (code, _errno, message, fatal) => this.fail(code, message, fatal),
    });
    this.queue = vnet
      ? { buffer: new Uint8Array(WRITE_QUEUE_BYTES), meta: new Uint32Array(2 * WRITE_QUEUE_PACKETS), count: 0, bytes: 0 }
      : null;
  }

  onPackets(handler: (batch: PacketBatch) => void): void {
    this.handler = handler;
    // Start reading only once someone listens, so no packet is read and silently discarded.
    if (!this.polling && !this.closed) {
      this.poller.start();
      this.polling = true;
    }
  }

  onPacket(handler: (packet: Uint8Array) => void): void {
    this.onPackets(perPacket(handler));
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }

  write(packet: Uint8Array): boolean {
    const q = this.queue;
    if (q && !this.closed && packet.length <= WRITE_QUEUE_BYTES) {
      if (q.count === WRITE_QUEUE_PACKETS || q.bytes + packet.length > WRITE_QUEUE_BYTES) this.writeQueue();
      q.buffer.set(packet, q.bytes);
      q.meta[2 * q.count] = q.bytes;
      q.meta[2 * q.count + 1] = packet.length;
      q.count++;
      q.bytes += packet.length;
      this.gate.queued();
      return true;
    }
    if (!this.closed && this.native.write(this.fd, packet, 0, packet.length, this.vnet) >= 0) {
      this.stats.writePackets++;
      return true;
    }
    this.stats.writeDrops++;
    return false;
  }

  cork(): void {
    this.gate.cork();
  }

  flush(): void {
    this.gate.flushed();
    this.writeQueue();
  }

  private writeQueue(): void {
    const q = this.queue;
    if (!q || q.count === 0) return;
    const count = q.count;
    q.count = 0;
    q.bytes = 0;
    const written = this.closed ? 0 : this.native.writeBatch(this.fd, q.buffer, q.meta, count, this.native.tunConstants.writeCoalesced);
    this.stats.writePackets += written;
    this.stats.writeDrops += count - written;
  }

  writeBatch(batch: PacketBatch): number {
    this.flush(); // keep the order of earlier write()s
    const written = this.closed ? 0
      : this.native.writeBatch(this.fd, batch.buffer, batch.meta, batch.count, this.writeMode);
    this.stats.writePackets += written;
    this.stats.writeDrops += batch.count - written;
    return written;
  }

  /**
   * The addon counts merged segments per process; hacloud opens one device per process (the
   * addon's coalescing state assumes it too), so the growth since open is this device's.
   */
  private mergedSoFar(): number {
    const gro = this.groStats;
    this.native.groStats?.(gro);
    return gro[1]!;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.poller.close();
    this.native.close(this.fd);
  }

  private deliver(count: number, segmented: number, dropped: number): void {
    this.stats.readDrops += dropped;
    if (count === 0) return; // only drops to report
    this.batch.count = count;
    this.stats.segmentedPackets += segmented;
    this.stats.readBatches++;
    this.stats.readPackets += count;
    this.handler?.(this.batch);
  }

  private fail(code: string, message: string, fatal: boolean): void {
    const what = fatal ? 'stopped reading' : 'read error';
    const err = new TunError(`TUN device ${this.name} ${what}: ${message} (${code})`, code);
    if (this.errorHandler) this.errorHandler(err);
    else process.emitWarning(err.message, 'TunWarning');
  }
}
