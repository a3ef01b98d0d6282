// The UDP payloads of a classic pcap file (what `tcpdump -w` writes), for replaying captured
// datagrams. Ethernet and Linux cooked (v1/v2) captures, IPv4 and IPv6 without extension
// headers; anything else is skipped. Never throws on a truncated or odd file: it stops there.

export interface UdpRecord {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

const LINK_ETHERNET = 1;
const LINK_SLL = 113;
const LINK_SLL2 = 276;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const PROTO_UDP = 17;

export function udpPayloads(file: Uint8Array): UdpRecord[] {
  const out: UdpRecord[] = [];
  if (file.length < 24) return out;
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, true);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && dv.getUint32(0, false) !== 0xa1b2c3d4 && dv.getUint32(0, false) !== 0xa1b23c4d) return out;
  const link = dv.getUint32(20, little) & 0xffff;
  for (let off = 24; off + 16 <= file.length; ) {
    const len = dv.getUint32(off + 8, little);
    const start = off + 16;
    off = start + len;
    if (off > file.length) break;
    const rec = parseFrame(file.subarray(start, start + len), link);
    if (rec) out.push(rec);
  }
  return out;
}

function parseFrame(f: Uint8Array, link: number): UdpRecord | null {
  const u16 = (o: number) => (f[o]! << 8) | f[o + 1]!;
  let type: number;
  let ip: number;
  if (link === LINK_ETHERNET) {
    if (f.length < 14) return null;
    type = u16(12);
    ip = 14;
    if (type === ETH_VLAN && f.length >= 18) { type = u16(16); ip = 18; }
  } else if (link === LINK_SLL) {
    if (f.length < 16) return null;
    type = u16(14);
    ip = 16;
  } else if (link === LINK_SLL2) {
    if (f.length < 20) return null;
    type = u16(0);
    ip = 20;
  } else {
    return null;
  }
  let udp: number;
  let src: string;
  let dst: string;
  if (type === ETH_IPV4) {
    if (f.length < ip + 20 || f[ip + 9] !== PROTO_UDP) return null;
    udp = ip + (f[ip]! & 0x0f) * 4;
    src = f.subarray(ip + 12, ip + 16).join('.');
    dst = f.subarray(ip + 16, ip + 20).join('.');
  } else if (type === ETH_IPV6) {
    if (f.length < ip + 40 || f[ip + 6] !== PROTO_UDP) return null;
    udp = ip + 40;
    src = ipv6Text(f.subarray(ip + 8, ip + 24));
    dst = ipv6Text(f.subarray(ip + 24, ip + 40));
  } else {
    return null;
  }
  if (f.length < udp + 8) return null;
  const udpLen = u16(udp + 4);
  if (udpLen < 8 || udp + udpLen > f.length) return null;
  return { src, dst, srcPort: u16(udp), dstPort: u16(udp + 2), payload: f.slice(udp + 8, udp + udpLen) };
}

/** Uncompressed form ("fd31:5:0:0:0:0:0:a"): enough to compare with what we expect. */
function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}
