// The UDP underlay on the native addon (native/udp.c): recvmmsg batches on a uv_poll handle and
// sendmmsg batches, instead of node:dgram's 6-8 us per received datagram and a Buffer copy per
// send. Same Transport contract and canonical endpoints as udp.ts (which stays the fallback).
//
// Offloads: with UDP GSO a run of same-sized datagrams to one peer leaves as one message that
// the kernel segments late (after its UDP/IP/veth path), and with UDP GRO the kernel hands over
// up to udpConstants.maxSegments (128) datagrams from one sender at once; the addon splits them
// again, so this file and the channel still see one datagram at a time. `offload: false`
// switches both off. Buffer sizes come from the addon's udpConstants, never copied here.
//
// Sends are queued in the addon and leave in one sendmmsg when sendBatch are queued, when flush() is
// called (the data plane does after every TUN batch and timer), after every received batch,
// and at the latest in a microtask at the end of the current event-loop callback, so a send
// made anywhere else (start-up, shutdown) is never stuck. A corked transport (the data plane
// corks it around its batches, the receive path itself) skips that microtask, which would
// allocate, because a flush is promised before the callback returns.
//
// Endpoint names: the addon numbers peer addresses; this side keeps id -> name and
// name -> id, so the hot path neither parses nor formats an address.
import { isIP } from 'node:net';
import type { Endpoint } from '../core/types.js';
import { formatAddress, formatEndpoint, parseHostPort } from '../wire/addr.js';
import { FlushGate } from './flush-gate.js';
import { loadNative, type NativeUdpSocket, type UdpConstants } from '../native/addon.js';
import { ViewCache } from './views.js';
import {
  DEFAULT_SOCKET_BUFFER_BYTES, TransportError, bindListen, openUdpTransport,
  type SocketCounters, type SocketFamily, type Transport, type UdpOptions,
} from './udp.js';

/** Receive slots per wake-up (fairness towards the TUN side of the loop). */
const MAX_BATCH = 64;

export interface NativeUdpStats {
  sent: number;
  sendDrops: number;
  received: number;
  receiveDrops: number;
  softErrors: number;
  gso: boolean;
  gro: boolean;
  /** Datagrams per GSO message at most: maxSegments, or oldKernelSegments after a refusal. */
  gsoSegments: number;
  /** Times the endpoint table was cleared (full, or a probe chain grew too long). */
  endpointResets: number;
  /** Of those, the inserts refused for a too-long probe chain while the table had room. */
  endpointProbeLimits: number;
}

/** Whether the built addon has the UDP socket (older builds do not). */
export function nativeUdpAvailable(): boolean {
  try {
    return typeof loadNative().UdpSocket === 'function';
  } catch {
    return false;
  }
}

/** Bind the native socket; rejects with a one-line TransportError like openUdpTransport. */
export function openNativeUdpTransport(options: UdpOptions = {}): Promise<NativeUdpTransport> {
  return bindListen(options, (family, host, port) => new NativeUdpTransport(family, host, port, options));
}

/**
 * The native transport when the addon has it, else node:dgram after calling `onFallback`
 * with the reason (the daemon logs it as a warning).
 */
export async function openPreferredUdpTransport(
  options: UdpOptions,
  onFallback: (why: string) => void,
): Promise<Transport & { readonly localPort: number }> {
  if (nativeUdpAvailable()) return openNativeUdpTransport(options);
  onFallback('the native addon has no UDP socket (rebuild it with `npm run install`): using node:dgram, which is slower');
  return openUdpTransport(options);
}

export class NativeUdpTransport implements Transport {
  readonly localPort: number;
  /** Problems reported through onError (unsendable endpoints, socket errors, handler failures). */
  errors = 0;
  private readonly socket: NativeUdpSocket;
  private readonly limits: UdpConstants;
  private readonly buffer: Uint8Array;
  private readonly meta: Uint32Array;
  private readonly addrs: Uint8Array;
  /** id -> canonical name; filled lazily from `addrs`. */
  private names: (Endpoint | undefined)[] = [];
  /** name -> id, or -1 for a name this socket cannot send to. */
  private readonly ids = new Map<Endpoint, number>();
  private handler: ((from: Endpoint, data: Uint8Array) => void) | undefined;
  private batchEnd: (() => void) | undefined;
  private readonly gate = new FlushGate(() => this.flush());
  /** Sends queued in the addon since the last flush (an empty flush skips the native call). */
  private unsent = false;
  private closed = false;
  /** Datagram views, reused per buffer offset while the length repeats. */
  private readonly views = new ViewCache();

  constructor(
    private readonly family: SocketFamily,
    private readonly host: string,
    port: number,
    private readonly options: UdpOptions,
  ) {
    const { UdpSocket, udpConstants: limits } = loadNative();
    if (!UdpSocket) throw new TransportError('the native addon has no UDP socket: rebuild it with `npm run install`');
    this.limits = limits;
    const offload = options.offload ?? true;
    const slotBytes = limits.minSlotBytes; // the largest UDP payload: nothing is ever truncated
    this.buffer = new Uint8Array(new ArrayBuffer(MAX_BATCH * slotBytes)); // touched pages only
    this.meta = new Uint32Array(limits.metaStride * MAX_BATCH * (offload ? limits.maxSegments : 1));
    this.addrs = new Uint8Array(limits.endpointCapacity * limits.addrBytes);
    this.socket = new UdpSocket({
      offload: offload ? 1 : 0,
      family: family === 'dual' ? 0 : family === 'ipv4' ? 4 : 6,
      host,
      port,
      bufferBytes: options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES,
      buffer: this.buffer,
      meta: this.meta,
      addrs: this.addrs,
      slotBytes,
      maxBatch: MAX_BATCH,
      onDatagrams: (count, reset) => this.receive(count, reset),
      onError: (code, _errno, message, fatal) =>
        this.report(`UDP socket ${fatal ? 'stopped' : 'error'}: ${message} (${code})`),
    });
    this.localPort = this.socket.localPort();
    this.socket.start();
  }

  /** "[::]:3210", "0.0.0.0:3210" or the specific address bound. */
  get localAddress(): Endpoint {
    return formatEndpoint(this.host || (this.family === 'ipv4' ? '0.0.0.0' : '::'), this.localPort);
  }

  /**
   * Datagrams sent, dropped on send, received, dropped on receive, socket errors (ICMP), and
   * whether UDP GSO / GRO are in use.
   */
  stats(): NativeUdpStats {
    const [
      sent = 0, sendDrops = 0, received = 0, receiveDrops = 0, softErrors = 0, gso = 0, gro = 0,
      gsoSegments = 0, endpointResets = 0, endpointProbeLimits = 0,
    ] = this.socket.stats();
    return {
      sent, sendDrops, received, receiveDrops, softErrors, gso: gso === 1, gro: gro === 1,
      gsoSegments, endpointResets, endpointProbeLimits,
    };
  }

  counters(): SocketCounters {
    const s = this.stats();
    return { sent: s.sent, sendDrops: s.sendDrops, received: s.received, receiveDrops: s.receiveDrops, errors: s.softErrors };
  }

  send(endpoint: Endpoint, data: Uint8Array): void {
    if (this.closed) return;
    let id = this.ids.get(endpoint);
    if (id === undefined) id = this.register(endpoint);
    if (id < 0) {
      this.report(`cannot send to '${endpoint}': not an endpoint this socket can reach`);
      return;
    }
    this.socket.send(id, data);
    this.unsent = true;
    this.gate.queued();
  }

  cork(): void {
    this.gate.cork();
  }

  flush(): void {
    this.gate.flushed();
    if (this.unsent && !this.closed) {
      this.unsent = false;
      this.socket.flush();
    }
  }

  onDatagram(handler: (from: Endpoint, data: Uint8Array) => void, batchEnd?: () => void): void {
    this.handler = handler;
    this.batchEnd = batchEnd;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.socket.close(); // sends what is still queued
    }
    return Promise.resolve();
  }

  private receive(count: number, reset: boolean): void {
    if (reset) this.forgetEndpoints();
    this.cork(); // the flush at the end of this wake-up takes the sends made while handling it
    const handler = this.handler;
    if (handler) {
      const { buffer, meta, views } = this;
      const stride = this.limits.metaStride;
      for (let i = 0; i < count; i++) {
        const offset = meta[stride * i]!;
        const id = meta[stride * i + 2]!;
        const from = this.names[id] ?? this.nameOf(id);
        try {
          handler(from, views.view(buffer, offset, meta[stride * i + 1]!));
        } catch (err) {
          // Datagrams come from anyone: a bug they trigger must not take the node down.
          const host = from.slice(0, from.lastIndexOf(':')).replace(/^\[|\]$/g, ''); // as udp.ts reports it
          this.report(`datagram handler failed for ${host}: ${(err as Error).message}`, err);
        }
      }
      this.batchEnd?.();
    }
    this.flush(); // answers (acks, handshake replies) leave with this wake-up
  }

  private nameOf(id: number): Endpoint {
    const bytes = this.limits.addrBytes;
    const a = this.addrs.subarray(id * bytes, id * bytes + bytes);
    const port = (a[16]! << 8) | a[17]!;
    let mapped = a[10] === 0xff && a[11] === 0xff;
    for (let i = 0; i < 10 && mapped; i++) mapped = a[i] === 0;
    const name = formatEndpoint(formatAddress(mapped ? a.subarray(12, 16) : a.subarray(0, 16)), port);
    this.names[id] = name;
    this.ids.set(name, id);
    return name;
  }

  /** Ask the addon for an id; -1 (cached too) when the name is no endpoint we can reach. */
  private register(endpoint: Endpoint): number {
    let id = -1;
    try {
      const { host, port } = parseHostPort(endpoint, 0);
      if (port > 0 && isIP(host) !== 0) id = this.socket.endpoint(host, port);
    } catch {
      // malformed: stays -1
    }
    if (id >= this.limits.resetFlag) {
      this.forgetEndpoints();
      id -= this.limits.resetFlag;
    }
    if (this.ids.size >= 2 * this.limits.endpointCapacity) this.forgetEndpoints(); // bound the -1 entries
    this.ids.set(endpoint, id);
    return id;
  }

  private forgetEndpoints(): void {
    this.names = [];
    this.ids.clear();
  }

  private report(message: string, cause?: unknown): void {
    this.errors++;
    this.options.onError?.(new TransportError(message, { cause }));
  }
}
