// Loads the compiled N-API addon (native/*.c, built by node-gyp during `npm ci`) and types its
// API. The addon is loaded lazily, so code that never touches a real TUN device (unit tests
// with the in-memory fakes) works without a compiler.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const ADDON_FILE = 'build/Release/hacloud_native.node';

export interface NativePollerOptions {
  fd: number;
  /** Packet storage: maxBatch slots of slotBytes each. */
  buffer: Uint8Array;
  /** Receives [offset, length] of each packet read on a wake-up. */
  meta: Uint32Array;
  slotBytes: number;
  headroomBytes: number;
  tailroomBytes: number;
  maxBatch: number;
  /** 10 when the device was opened with IFF_VNET_HDR (the header is stripped), else 0. */
  vnetHeaderBytes?: number;
  /**
   * One call per wake-up; buffer/meta are valid only during the call. `segmented` of them were
   * cut from TSO reads; `dropped` reads were thrown away (bogus vnet header, a TSO segment too
   * large for the batch). Called with count 0 when there are only drops to report.
   */
  onPackets(count: number, segmented: number, dropped: number): void;
  /** `fatal`: the poller stopped (device gone); otherwise a soft per-datagram socket error. */
  onError(code: string, errno: number, message: string, fatal: boolean): void;
}

export interface NativePoller {
  start(): void;
  stop(): void;
  /** Stops polling and frees the libuv handle; does not close the fd. Idempotent. */
  close(): void;
}

/** native/aead.c: one session direction's key, set once; seal/open in place or into `out`. */
export interface NativeAeadHandle {
  /** Bytes written (input.length + 16). Throws RangeError if `out` is too small. */
  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number;
  /** Plaintext length, or -1 for a short or forged input. */
  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number;
  /** open() with packet[0, aadBytes) as the aad and the rest as the ciphertext. */
  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number;
  destroy(): void;
}

export interface NativeUdpOptions {
  /** 0 dual-stack, 4 IPv4 only, 6 IPv6 only. */
  family: 0 | 4 | 6;
  /** IP literal to bind, or '' for any. */
  host: string;
  port: number;
  /** SO_RCVBUF/SO_SNDBUF (FORCE variants as root); 0 leaves the defaults. */
  bufferBytes: number;
  /** Receive storage: maxBatch slots of slotBytes (>= 65536) each. */
  buffer: Uint8Array;
  /** Per received datagram: offset, length, endpoint id (metaStride entries). */
  meta: Uint32Array;
  /** endpointCapacity x addrBytes: IPv6/v4-mapped address + big-endian port. */
  addrs: Uint8Array;
  slotBytes: number;
  maxBatch: number;
  /** 1: UDP GSO/GRO where available (meta then needs metaStride * maxSegments entries per slot). */
  offload: 0 | 1;
  /** Tests only: refuse GSO messages of more segments (EINVAL), as kernels before 6.8 do above 64. */
  simulatedKernelSegments?: number;
  /** Tests only: a 16-byte SipHash key for the endpoint table instead of a random one. */
  hashKey?: Uint8Array;
  /** One call per wake-up; `reset`: the endpoint table was cleared, forget cached ids. */
  onDatagrams(count: number, reset: boolean): void;
  onError(code: string, errno: number, message: string, fatal: boolean): void;
}

export interface NativeUdpSocket {
  start(): void;
  /** Flushes queued sends, stops polling and closes the fd. Idempotent. */
  close(): void;
  localPort(): number;
  /**
   * [sent, sendDrops, received, recvDrops, softErrors, gso 0/1, gro 0/1, gsoSegments,
   * endpointResets, endpointProbeLimits]
   */
  stats(): number[];
  /** Endpoint id (+ resetFlag if the table was cleared first), or -1 if unreachable/malformed/closed. */
  endpoint(ip: string, port: number): number;
  /** 1 queued (sent at the next flush or when sendBatch are queued), 0 dropped. */
  send(id: number, bytes: Uint8Array): number;
  flush(): number;
}

/** native/udp.c's limits: the TypeScript side sizes its buffers from these, never copies them. */
export interface UdpConstants {
  /** Receive slots per wake-up at most. */
  readonly maxBatch: number;
  /** Datagrams per GRO/GSO message at most (the kernel's UDP_MAX_SEGMENTS, 128 since Linux 6.8). */
  readonly maxSegments: number;
  /** The limit before Linux 6.8, where GSO falls back to when the kernel refuses more. */
  readonly oldKernelSegments: number;
  readonly minSlotBytes: number;
  /** meta entries per received datagram: offset, length, endpoint id. */
  readonly metaStride: number;
  /** Queued sends that trigger a flush. */
  readonly sendBatch: number;
  readonly maxDatagramBytes: number;
  readonly endpointCapacity: number;
  /** Longest probe chain in the endpoint table before it counts as full. */
  readonly endpointMaxProbes: number;
  /** Bytes per endpoint in addrs: 16-byte IPv6/v4-mapped address + big-endian port. */
  readonly addrBytes: number;
  /** Added to endpoint()'s result when the table was cleared first. */
  readonly resetFlag: number;
}

/** native/poller.c's limits. */
export interface PollerConstants {
  readonly maxBatch: number;
  /** A slot must leave this much for the read (the largest IP packet). */
  readonly minReadBytes: number;
  /** meta entries per packet: offset, length. */
  readonly metaStride: number;
  /** sizeof(struct virtio_net_hdr): vnetHeaderBytes when the device has IFF_VNET_HDR. */
  readonly vnetHeaderBytes: number;
  /** Slots a read takes with vnet headers (a TSO read is cut into the two after it). */
  readonly tsoSlots: number;
  /** meta packets kept free per read with vnet headers. */
  readonly tsoMetaPackets: number;
}

/** native/tun.c's writeBatch modes and tun-gro.c's merge limit. */
export interface TunConstants {
  readonly writePlain: 0;
  readonly writeVnet: 1;
  readonly writeCoalesced: 2;
  readonly maxCoalescedSegments: number;
}

export interface NativeAddon {
  /**
   * Throws an Error with .code/.errno/.syscall on failure. `name` may be a template ("x%d").
   * vnetHdr: IFF_VNET_HDR (reads and writes carry a 10-byte virtio_net_hdr; see tun-gro.c);
   * tso: also offer TSO for IPv4 (the poller cuts large segments); `tso` in the result says
   * whether the kernel took it.
   */
  openTun(path: string, name: string, vnetHdr?: boolean, tso?: boolean): { fd: number; name: string; tso?: boolean };
  /** Bytes written, or -errno (EAGAIN, EIO...). Never throws for I/O errors. vnet: prepend a zero header. */
  write(fd: number, bytes: Uint8Array, offset: number, length: number, vnet?: boolean): number;
  /**
   * Packets written out of `count`; meta holds [offset, length] pairs. mode 0 plain, 1 with a
   * zero vnet header each, 2 vnet with TCP runs merged into GSO writes.
   */
  writeBatch(fd: number, bytes: Uint8Array, meta: Uint32Array, count: number, mode?: 0 | 1 | 2): number;
  /** 0 or -errno. */
  close(fd: number): number;
  /**
   * Fills `out` with [merged writes, segments they carried] since start (process-wide), so a
   * caller reading it per write batch allocates nothing; older builds lack it.
   */
  groStats?(out: Float64Array): void;
  Poller: new (options: NativePollerOptions) => NativePoller;
  pollerConstants: PollerConstants;
  tunConstants: TunConstants;
  udpConstants: UdpConstants;
  /** Missing from addons built before the data-plane work: check before use. */
  NativeAead?: new (algorithm: number, key: Uint8Array) => NativeAeadHandle;
  UdpSocket?: new (options: NativeUdpOptions) => NativeUdpSocket;
}

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  // This file runs from src/io (vitest) or dist/src/io (compiled): look in both package roots.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../..', ADDON_FILE), resolve(here, '../../..', ADDON_FILE)];
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw new Error(
      `hacloud native addon is not built (no ${ADDON_FILE} in the package): run \`npm ci\` ` +
        'or `npm run install` (needs python3, make and a C compiler)',
    );
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot load hacloud native addon ${file}: ${why} — rebuild it with \`npm run install\``);
  }
  // Buffers are sized from the addon's own limits: an addon without them predates this code.
  if (!addon.pollerConstants || !addon.tunConstants || !addon.udpConstants) {
    throw new Error(`hacloud native addon ${file} is older than this code — rebuild it with \`npm run install\``);
  }
  cached = addon;
  return cached;
}
