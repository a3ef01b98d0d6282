// Our own candidate endpoints, found on this host: host candidates (the addresses of our
// network interfaces with the port we listen on, so two nodes behind one NAT find each other
// on their LAN) and --advertise-address ones (names resolved like -c peers). The engine
// announces them to peers (core/own-candidates.ts); it stays free of I/O, so the daemon
// gathers them here and refreshes them when interfaces or DNS change.
import type { NetworkInterfaceInfo } from 'node:os';
import { isDialable } from '../core/endpoint-policy.js';
import type { Endpoint } from '../core/types.js';
import { formatEndpoint, parseAddress, prefixContains, type HostPort, type Prefix } from '../wire/addr.js';

export interface HostCandidateOptions {
  /** The listen host: '' (all, dual-stack), '0.0.0.0', '::' or one address. */
  listenHost: string;
  /** The port we actually listen on. */
  port: number;
  /** Our TUN device: its addresses are inside the VPN and must never carry the VPN itself. */
  tunDevice: string;
  /** The overlay networks (--ip's network, our claims): addresses there are not underlay. */
  overlay: readonly Prefix[];
}

/**
 * Host candidates from os.networkInterfaces(): every address a peer could send to, in the
 * interfaces' order, without loopback, link-local, the TUN device or the overlay networks.
 */
export function hostCandidates(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  opts: HostCandidateOptions,
): Endpoint[] {
  const out: Endpoint[] = [];
  const specific = opts.listenHost !== '' && opts.listenHost !== '0.0.0.0' && opts.listenHost !== '::';
  for (const [name, addrs] of Object.entries(interfaces)) {
    if (name === opts.tunDevice || !addrs) continue;
    for (const a of addrs) {
      if (a.internal) continue;
      if (opts.listenHost === '0.0.0.0' && a.family !== 'IPv4') continue;
      if (specific && a.address !== opts.listenHost) continue;
      const bytes = parseAddress(a.address);
      if (!bytes || opts.overlay.some((p) => prefixContains(p, bytes))) continue;
      const ep = formatEndpoint(a.address, opts.port);
      if (isDialable(ep) && !out.includes(ep)) out.push(ep);
    }
  }
  return out;
}

/** --advertise-address entries with the listen port filled in where none was given (port 0). */
export function withListenPort(advertise: readonly HostPort[], port: number): HostPort[] {
  return advertise.map((a) => (a.port === 0 ? { host: a.host, port } : a));
}
