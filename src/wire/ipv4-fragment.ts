// IPv4 fragmentation of a tunnelled packet, as a router does it (RFC 791 3.2, RFC 815): an IPv4
// packet without don't-fragment that does not fit a relayed path is cut into fragments that
// do, so each rides its own relayed datagram and the underlay never fragments those (fragments
// of relayed datagrams die in bursts at NATs). The receiver's kernel reassembles them. Pure.
import { checksum } from './icmp-too-big.js';

const MF = 0x2000;
const DF = 0x4000;
const OFFSET_MASK = 0x1fff;

/**
 * The fragments of `packet` (a validated IPv4 packet) of at most `mtu` bytes each, or null when
 * it is not to be cut here: it fits, it has don't-fragment set (answered with "too big"
 * instead), it carries IP options (not every option may be copied into every fragment; the
 * underlay fragments it as before), or `mtu` leaves no room for 8 bytes of data.
 */
export function fragmentIPv4(packet: Uint8Array, mtu: number): Uint8Array[] | null {
  if (packet.length < 20 || packet[0] !== 0x45) return null;
  const total = Math.min(packet.length, (packet[2]! << 8) | packet[3]!);
  if (total <= mtu) return null;
  const flags = (packet[6]! << 8) | packet[7]!;
  if (flags & DF) return null;
  const step = Math.floor((mtu - 20) / 8) * 8;
  if (step < 8) return null;
  const firstOffset = flags & OFFSET_MASK; // in 8-byte units: the packet may be a fragment itself
  const lastHasMore = (flags & MF) !== 0;
  const out: Uint8Array[] = [];
  for (let at = 20; at < total; at += step) {
    const end = Math.min(total, at + step);
    const f = new Uint8Array(20 + end - at);
    f.set(packet.subarray(0, 20));
    f.set(packet.subarray(at, end), 20);
    f[2] = f.length >>> 8;
    f[3] = f.length & 0xff;
    const more = end < total || lastHasMore;
    const offset = firstOffset + (at - 20) / 8;
    if (offset > OFFSET_MASK) return null; // past the largest datagram IPv4 has: not a real packet
    const word = (more ? MF : 0) | offset;
    f[6] = word >>> 8;
    f[7] = word & 0xff;
    f[10] = 0;
    f[11] = 0;
    const sum = checksum(f, 0, 20, 0);
    f[10] = sum >>> 8;
    f[11] = sum & 0xff;
    out.push(f);
  }
  return out;
}
