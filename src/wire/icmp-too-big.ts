// "Packet too big" answers for packets that do not fit a path: ICMPv4 destination unreachable,
// fragmentation needed (type 3, code 4, RFC 792/1191) or ICMPv6 packet too big (type 2, RFC
// 4443), as a router on the way would send them. Written into the sender's own TUN, they make
// its kernel lower the path MTU for that destination (TCP then sends smaller segments), so a
// relayed path, whose datagrams are larger on the wire, is never fragmented in the underlay.
// Pure: `packet` is a validated IPv4 or IPv6 packet (IpHeader.check); returns null when no
// answer is due (IPv4 without don't-fragment, an ICMP error itself, an MTU below the minimum).

/** The shortest MTU IPv6 allows (RFC 8200). */
export const IPV6_MIN_MTU = 1280;
/** The shortest MTU an IPv4 router may announce (RFC 791). */
export const IPV4_MIN_MTU = 68;
/** Bytes of the offending packet quoted: RFC 1812's 576-byte ICMPv4 limit, RFC 4443's 1280 for IPv6. */
const QUOTE4_MAX = 576 - 20 - 8;
const QUOTE6_MAX = IPV6_MIN_MTU - 40 - 8;

const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

export function packetTooBig(packet: Uint8Array, mtu: number): Uint8Array | null {
  return packet[0]! >> 4 === 4 ? tooBig4(packet, mtu) : tooBig6(packet, mtu);
}

function tooBig4(packet: Uint8Array, mtu: number): Uint8Array | null {
  const dontFragment = (packet[6]! & 0x40) !== 0;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (!dontFragment || mtu < IPV4_MIN_MTU || mtu > 0xffff) return null;
  // Never answer an ICMP error with one (RFC 1122 3.2.2): only echo and other queries get one.
  if (packet[9] === PROTO_ICMP && !isIcmp4Query(packet[ihl])) return null;
  const quote = packet.subarray(0, Math.min(packet.length, QUOTE4_MAX));
  const out = new Uint8Array(20 + 8 + quote.length);
  out[0] = 0x45;
  writeU16(out, 2, out.length);
  out[8] = 64; // TTL
  out[9] = PROTO_ICMP;
  out.set(packet.subarray(16, 20), 12); // from the unreachable destination...
  out.set(packet.subarray(12, 16), 16); // ...to the sender
  writeU16(out, 10, checksum(out, 0, 20, 0));
  out[20] = 3; // destination unreachable
  out[21] = 4; // fragmentation needed and DF set
  writeU16(out, 26, mtu); // next-hop MTU
  out.set(quote, 28);
  writeU16(out, 22, checksum(out, 20, out.length, 0));
  return out;
}

function tooBig6(packet: Uint8Array, mtu: number): Uint8Array | null {
  if (mtu < IPV6_MIN_MTU) return null;
  // An ICMPv6 error (types 0..127) is never answered with one (RFC 4443 2.4 e).
  if (packet[6] === PROTO_ICMPV6 && packet.length > 40 && packet[40]! < 128) return null;
  const quote = packet.subarray(0, Math.min(packet.length, QUOTE6_MAX));
  const payload = 8 + quote.length;
  const out = new Uint8Array(40 + payload);
  out[0] = 0x60;
  writeU16(out, 4, payload);
  out[6] = PROTO_ICMPV6;
  out[7] = 64; // hop limit
  out.set(packet.subarray(24, 40), 8); // from the unreachable destination...
  out.set(packet.subarray(8, 24), 24); // ...to the sender
  out[40] = 2; // packet too big
  writeU32(out, 44, mtu);
  out.set(quote, 48);
  // Pseudo-header: both addresses, the upper-layer length, the next header.
  let sum = checksumSum(out, 8, 40, 0);
  sum += payload + PROTO_ICMPV6;
  writeU16(out, 42, checksum(out, 40, out.length, sum));
  return out;
}

/** ICMPv4 queries (echo, timestamp, ...) may be answered; errors may not. */
function isIcmp4Query(type: number | undefined): boolean {
  return type === 0 || type === 8 || type === 13 || type === 14 || type === 15 || type === 16 || type === 17 || type === 18;
}

function checksumSum(b: Uint8Array, from: number, to: number, sum: number): number {
  for (let i = from; i + 1 < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((to - from) & 1) sum += b[to - 1]! << 8;
  return sum;
}

/** The Internet checksum (RFC 1071) of b[from, to) plus `sum`; the checksum field must be zero. */
export function checksum(b: Uint8Array, from: number, to: number, sum: number): number {
  sum = checksumSum(b, from, to, sum);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  writeU16(b, off, v >>> 16);
  writeU16(b, off + 2, v & 0xffff);
}
