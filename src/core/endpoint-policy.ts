// Which gossiped endpoints a node may dial. Gossip comes from authenticated members, but a
// member must not be able to point the mesh at addresses no peer can listen on for us:
// unspecified, loopback (our own host's services), multicast and broadcast (many hosts at
// once), link-local (only meaningful with an interface scope, which endpoints do not carry),
// IPv4-mapped or -compatible IPv6 (a dual-stack socket would reach the IPv4 address behind
// them, loopback included). Configured seeds are not screened: they are the operator's choice.
import { parsePrefix, prefixContains, type Prefix } from '../wire/addr.js';
import { endpointToBytes } from '../wire/control.js';
import type { Endpoint } from './types.js';

const UNDIALABLE: readonly Prefix[] = [
  '0.0.0.0/8', // "this network", unspecified
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
  '::/96', // unspecified, loopback and IPv4-compatible
  '::ffff:0:0/96', // IPv4-mapped
  'fe80::/10', // link-local
  'ff00::/8', // multicast
].map((p) => parsePrefix(p));

/** Can gossip make us dial `ep`? Only literal IP:port endpoints outside the ranges above. */
export function isDialable(ep: Endpoint): boolean {
  const b = endpointToBytes(ep);
  return b !== null && !UNDIALABLE.some((p) => prefixContains(p, b.addr));
}

/** The address part of "1.2.3.4:3210" or "[2001:db8::1]:3210" (limits count per host, not per port). */
export function hostOf(ep: Endpoint): string {
  if (ep.startsWith('[')) {
    const end = ep.indexOf(']');
    return end > 0 ? ep.slice(1, end) : ep;
  }
  const colon = ep.lastIndexOf(':');
  return colon > 0 ? ep.slice(0, colon) : ep;
}
