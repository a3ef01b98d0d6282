// Auto MTU: the TUN carries what fits into one underlay packet after hacloud's framing.
//   underlay MTU − IPv6 header (40, the worst case of the two families) − UDP (8)
//   − hacloud transport header (16) − AEAD tag (16)  =  underlay − 80   (1500 → 1420)
import { readdirSync, readFileSync } from 'node:fs';
import { MIN_MTU } from '../config/defaults.js';
import { TRANSPORT_OVERHEAD_BYTES } from '../wire/header.js';

export const UNDERLAY_HEADER_BYTES = 40 + 8;
export const TUNNEL_OVERHEAD_BYTES = UNDERLAY_HEADER_BYTES + TRANSPORT_OVERHEAD_BYTES;
const FALLBACK_UNDERLAY_MTU = 1500;

/**
 * The smallest MTU among the up, non-loopback, non-TUN interfaces of this namespace: the
 * tightest link a datagram to a peer may leave by. 1500 if none can be read.
 */
export function underlayMtu(sysClassNet = '/sys/class/net'): number {
  let best = Infinity;
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return FALLBACK_UNDERLAY_MTU;
  }
  for (const name of names) {
    try {
      const dir = `${sysClassNet}/${name}`;
      const flags = parseInt(readFileSync(`${dir}/flags`, 'utf8'), 16);
      const type = Number(readFileSync(`${dir}/type`, 'utf8'));
      const IFF_UP = 0x1;
      const ARPHRD_ETHER = 1;
      if (!(flags & IFF_UP) || type !== ARPHRD_ETHER) continue; // skips lo (772) and TUNs (65534)
      best = Math.min(best, Number(readFileSync(`${dir}/mtu`, 'utf8')));
    } catch {
      // an interface vanished while we looked: ignore it
    }
  }
  return Number.isFinite(best) ? best : FALLBACK_UNDERLAY_MTU;
}

export function autoMtu(underlay = underlayMtu()): number {
  return Math.max(MIN_MTU, underlay - TUNNEL_OVERHEAD_BYTES);
}
