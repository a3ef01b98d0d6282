// The UDP underlay behind a small Transport interface (memory.ts has an in-memory one for
// tests). One dual-stack socket serves IPv4 and IPv6 peers; endpoints are canonical strings
// ("1.2.3.4:3210", "[2001:db8::1]:3210") with IPv4-mapped senders shown as plain IPv4, so one
// peer never appears under two names.
//
// This file holds the node:dgram transport, the fallback when the native addon lacks its UDP
// socket; udp-native.ts (recvmmsg/sendmmsg, the daemon's default) shares its option handling.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Endpoint } from '../core/types.js';
import { AddressError, formatEndpoint, parseHostPort } from '../wire/addr.js';

export interface Transport {
  readonly localPort: number;
  /**
   * Fire and forget. `data` may be reused by the caller as soon as this returns. A transport
   * may queue the datagram until flush() (at the latest at the end of the current event-loop
   * callback).
   */
  send(endpoint: Endpoint, data: Uint8Array): void;
  /** Hand queued datagrams to the kernel now (the data plane calls it after every batch); ends a cork(). */
  flush(): void;
  /**
   * Until the next flush(), sends schedule no flush of their own: the caller promises to call
   * flush() before it returns to the event loop (see io/flush-gate.ts).
   */
  cork?(): void;
  /**
   * Replaces any earlier handler. `data` belongs to the handler (it may decrypt in place).
   * `batchEnd` runs after the datagrams of one receive wake-up have all been handed over, so a
   * caller can do per-batch work (read the clock, re-arm a timer) once instead of per datagram.
   */
  onDatagram(handler: (from: Endpoint, data: Uint8Array) => void, batchEnd?: () => void): void;
  close(): Promise<void>;
  /** Datagrams counted by the socket itself (the native one; Node's dgram counts nothing). */
  counters?(): SocketCounters;
}

export interface SocketCounters {
  sent: number;
  /** Not sent: unknown destination, too large, or the kernel's send buffer full. */
  sendDrops: number;
  received: number;
  /** Read but not handed on: more in one wake-up than the receive slots hold. */
  receiveDrops: number;
  /** Errors the kernel reported on the socket (ICMP unreachable, too big). */
  errors: number;
}

export const DEFAULT_PORT = 3210;
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Parsed send destinations kept; endpoints come from a bounded peer table, so this rarely fills. */
const ENDPOINT_CACHE_MAX = 4096;

export interface UdpOptions {
  /** "[IP:]PORT" or a port; default 3210 on all addresses, IPv4 and IPv6. */
  listen?: string | number;
  /**
   * SO_RCVBUF and SO_SNDBUF (the kernel caps them at net.core.rmem_max/wmem_max; the native
   * transport uses the FORCE variants first, which root may set beyond those).
   */
  socketBufferBytes?: number;
  /** Native transport only: UDP GSO/GRO where the kernel has them (default true). */
  offload?: boolean;
  /** Socket errors (ICMP unreachable, unsendable endpoints, a throwing handler): never fatal. */
  onError?: (err: Error) => void;
}

export class TransportError extends Error {
  override name = 'TransportError';
}

interface Destination {
  address: string;
  port: number;
}

/** Bind the socket; rejects with a one-line TransportError (port in use, bad address...). */
export function openUdpTransport(options: UdpOptions = {}): Promise<UdpTransport> {
  return bindListen(options, (family, host, port) => bindTransport(family, host, port, options));
}

export type SocketFamily = 'dual' | 'ipv4' | 'ipv6';

/**
 * Bind options.listen with `bind` (both transports): dual-stack for a bare port, falling back
 * to IPv4 where IPv6 is missing; failures become one-line TransportErrors.
 */
export async function bindListen<T>(
  options: UdpOptions,
  bind: (family: SocketFamily, host: string, port: number) => T | Promise<T>,
): Promise<T> {
  const listen = parseListen(options.listen ?? DEFAULT_PORT);
  const family: SocketFamily = listen.host === '' ? 'dual' : isIP(listen.host) === 4 ? 'ipv4' : 'ipv6';
  try {
    return await bind(family, listen.host, listen.port);
  } catch (err) {
    // IPv6 may be missing entirely (ipv6.disable=1): serve IPv4 rather than nothing.
    const code = (err as NodeJS.ErrnoException).code;
    if (family !== 'dual' || !['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT'].includes(code ?? '')) {
      throw listenError(err, listen.host, listen.port);
    }
    try {
      return await bind('ipv4', '', listen.port);
    } catch (err4) {
      throw listenError(err4, '0.0.0.0', listen.port);
    }
  }
}

function parseListen(listen: string | number): { host: string; port: number } {
  try {
    const hp = parseHostPort(String(listen), DEFAULT_PORT);
    if (hp.host !== '' && !isIP(hp.host)) throw new AddressError(`'${listen}': the host must be an IP address`);
    return hp;
  } catch (err) {
    throw new TransportError(`invalid listen address: ${(err as Error).message}`);
  }
}

function listenError(err: unknown, host: string, port: number): TransportError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL'
    ? 'address not available on this host' : e.message;
  return new TransportError(`cannot listen on UDP ${formatEndpoint(host || '::', port)}: ${why}`);
}

function bindTransport(
  family: SocketFamily,
  host: string,
  port: number,
  options: UdpOptions,
): Promise<UdpTransport> {
  const socket = dgram.createSocket({
    type: family === 'ipv4' ? 'udp4' : 'udp6',
    ipv6Only: family === 'ipv6',
    // Destinations are always IP literals: answering synchronously skips dns.lookup and its
    // process.nextTick, so the datagram is handed to the kernel before send() returns.
    lookup: (address, _opts, callback) => callback(null, address, isIP(address) || 4),
  });
  return new Promise((resolve, reject) => {
    const onBindError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onBindError);
    socket.bind({ port, address: host || (family === 'ipv4' ? '0.0.0.0' : '::') }, () => {
      socket.off('error', onBindError);
      resolve(new UdpTransport(socket, family, options));
    });
  });
}

export class UdpTransport implements Transport {
  readonly localPort: number;
  /** Datagrams dropped on send or failed receives; details went to onError. */
  errors = 0;
  private handler: ((from: Endpoint, data: Uint8Array) => void) | undefined;
  private batchEnd: (() => void) | undefined;
  private readonly destinations = new Map<Endpoint, Destination | null>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly socket: dgram.Socket,
    private readonly family: 'dual' | 'ipv4' | 'ipv6',
    private readonly options: UdpOptions,
  ) {
    this.localPort = socket.address().port;
    const bytes = options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES;
    try {
      socket.setRecvBufferSize(bytes);
      socket.setSendBufferSize(bytes);
    } catch (err) {
      this.report(`cannot set UDP socket buffers to ${bytes} bytes: ${(err as Error).message}`);
    }
    // Without this listener an ICMP-induced error would be an uncaught exception.
    socket.on('error', (err) => this.report(`UDP socket error: ${err.message}`));
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
  }

  /** "[::]:3210", "0.0.0.0:3210" or the specific address bound. */
  get localAddress(): Endpoint {
    const a = this.socket.address();
    return formatEndpoint(a.address, a.port);
  }

  send(endpoint: Endpoint, data: Uint8Array): void {
    if (this.closing) return;
    const dest = this.destination(endpoint);
    if (!dest) {
      this.report(`cannot send to '${endpoint}': not an endpoint this socket can reach`);
      return;
    }
    // Copy: when the socket buffer is full Node queues the datagram and reads it later, and the
    // caller's buffer (a shared TUN batch) would have been overwritten by then.
    const copy = Buffer.allocUnsafe(data.length);
    copy.set(data);
    this.socket.send(copy, dest.port, dest.address);
  }

  /** dgram sends at once: nothing is queued. */
  flush(): void {}

  onDatagram(handler: (from: Endpoint, data: Uint8Array) => void, batchEnd?: () => void): void {
    this.handler = handler;
    this.batchEnd = batchEnd;
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!this.handler) return;
    try {
      this.handler(formatEndpoint(rinfo.address, rinfo.port), msg);
    } catch (err) {
      // Datagrams come from anyone: a bug they trigger must not take the node down.
      this.report(`datagram handler failed for ${rinfo.address}: ${(err as Error).message}`, err);
    }
    this.batchEnd?.(); // dgram hands over one datagram per callback
  }

  /** Parse and cache a destination; null if it is malformed or of a family we cannot reach. */
  private destination(endpoint: Endpoint): Destination | null {
    let dest = this.destinations.get(endpoint);
    if (dest !== undefined) return dest;
    dest = null;
    try {
      const { host, port } = parseHostPort(endpoint, 0);
      const v = isIP(host);
      if (port > 0 && v !== 0) {
        if (this.family === 'dual') dest = { address: v === 4 ? `::ffff:${host}` : host, port };
        else if ((v === 4) === (this.family === 'ipv4')) dest = { address: host, port };
      }
    } catch {
      // malformed: stays null
    }
    if (this.destinations.size >= ENDPOINT_CACHE_MAX) this.destinations.clear();
    this.destinations.set(endpoint, dest);
    return dest;
  }

  private report(message: string, cause?: unknown): void {
    this.errors++;
    this.options.onError?.(new TransportError(message, { cause }));
  }
}
