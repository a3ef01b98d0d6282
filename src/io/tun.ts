// The TUN device as the rest of hacloud sees it: a small interface (so tests can substitute
// the in-memory device from memory.ts) and the real implementation on the native addon.
//
// Receiving is batch-oriented: every poll wake-up hands over all queued packets at once, in one
// shared buffer, with free room before and after each packet so the encryption layer can add
// its header and tag in place without copying. Simple callers use onPacket instead.
import { loadNative, type NativeAddon, type NativePoller } from './native.js';
import { configureInterface, type InterfaceAddress } from './ifconfig.js';

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
  /** Write one IP packet; false means it was dropped and should be counted by the caller. */
  write(packet: Uint8Array): boolean;
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
}

export const DEFAULT_TUN_PATH = '/dev/net/tun';
const DEFAULT_MAX_BATCH = 128;
const DEFAULT_ROOM_BYTES = 64;
/** Largest IP packet: a smaller read buffer would let the kernel truncate silently. */
const MAX_PACKET_BYTES = 65535;

/** Open a TUN device and configure it (addresses, MTU, up) with iproute2. */
export async function openTun(options: TunOptions): Promise<TunDevice> {
  const path = options.path ?? DEFAULT_TUN_PATH;
  const native = loadNative();
  let opened: { fd: number; name: string };
  try {
    opened = native.openTun(path, options.name);
  } catch (err) {
    throw openError(err, options.name, path);
  }
  const addresses = [...(options.address ? [options.address] : []), ...(options.addresses ?? [])];
  try {
    await configureInterface(opened.name, options.mtu, addresses);
  } catch (err) {
    native.close(opened.fd); // the device is not persistent: closing it removes it
    const why = err instanceof Error ? err.message : String(err);
    throw new TunError(`cannot configure TUN device ${opened.name}: ${why}`);
  }
  return new NativeTun(native, opened.fd, opened.name, options);
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
  readonly stats: TunStats = { readBatches: 0, readPackets: 0, writePackets: 0, writeDrops: 0 };
  private readonly batch: { buffer: Uint8Array; meta: Uint32Array; count: number };
  private readonly poller: NativePoller;
  private handler: ((batch: PacketBatch) => void) | undefined;
  private errorHandler: ((err: Error) => void) | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly native: NativeAddon,
    private readonly fd: number,
    readonly name: string,
    options: TunOptions,
  ) {
    this.mtu = options.mtu;
    this.headroomBytes = options.headroomBytes ?? DEFAULT_ROOM_BYTES;
    this.tailroomBytes = options.tailroomBytes ?? DEFAULT_ROOM_BYTES;
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    // Slots rounded to 64 bytes keep every slot cache-line aligned.
    const slotBytes = Math.ceil((this.headroomBytes + MAX_PACKET_BYTES + this.tailroomBytes) / 64) * 64;
    // Untouched pages of this buffer are never made resident, so the large virtual size is cheap.
    this.batch = {
      buffer: new Uint8Array(new ArrayBuffer(slotBytes * maxBatch)),
      meta: new Uint32Array(2 * maxBatch),
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
      onPackets: (count) => this.deliver(count),
      onError: (code, _errno, message, fatal) => this.fail(code, message, fatal),
    });
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
    if (!this.closed && this.native.write(this.fd, packet, 0, packet.length) >= 0) {
      this.stats.writePackets++;
      return true;
    }
    this.stats.writeDrops++;
    return false;
  }

  writeBatch(batch: PacketBatch): number {
    const written = this.closed ? 0 : this.native.writeBatch(this.fd, batch.buffer, batch.meta, batch.count);
    this.stats.writePackets += written;
    this.stats.writeDrops += batch.count - written;
    return written;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close();
    this.native.close(this.fd);
  }

  private deliver(count: number): void {
    this.batch.count = count;
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
