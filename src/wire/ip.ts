// IPv4/IPv6 header parsing for the data path. Runs on every packet, so it never allocates:
// one IpHeader is reused and the addresses are copied into its own scratch arrays
// (4 or 16 bytes, cheaper than creating a subarray view per packet).

/** Result of IpHeader.parse(). OK is 0 so `if (err)` reads naturally. */
export const enum IpError {
  Ok = 0,
  /** Shorter than the fixed header of its version (or empty). */
  TooShort = 1,
  /** Version nibble is neither 4 nor 6. */
  BadVersion = 2,
  /** IPv4 IHL below 5 or past the end of the packet. */
  BadHeaderLength = 3,
  /** Total/payload length field says the packet is longer than what we got, or shorter than its header. */
  BadTotalLength = 4,
}

export const IPV4_HEADER_BYTES = 20;
const IP_PROTO_TCP = 6;
/** Byte of the TCP header holding the flags, and the SYN and ACK bits in it. */
const TCP_FLAGS_OFFSET = 13;
export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;
export const IPV6_HEADER_BYTES = 40;

export function describeIpError(err: IpError): string {
  switch (err) {
    case IpError.Ok: return 'ok';
    case IpError.TooShort: return 'too short for an IP header';
    case IpError.BadVersion: return 'IP version is neither 4 nor 6';
    case IpError.BadHeaderLength: return 'bad IPv4 header length';
    case IpError.BadTotalLength: return 'length field does not match the packet size';
  }
}

/** A reusable view of the last parsed header. Fields are only meaningful after parse() returned Ok. */
export class IpHeader {
  version: 4 | 6 = 4;
  /** Bytes covered by the IP length field (trailing bytes past it, if any, are padding). */
  totalLength = 0;
  /** IPv4 protocol or IPv6 next header. */
  protocol = 0;
  /** Where the payload (or the first IPv6 extension header) starts. */
  headerBytes = 0;
  /** Points at src4/dst4 or src6/dst6 depending on the version. */
  src: Uint8Array;
  dst: Uint8Array;

  private readonly src4 = new Uint8Array(4);
  private readonly dst4 = new Uint8Array(4);
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);

  constructor() {
    this.src = this.src4;
    this.dst = this.dst4;
  }

  /** Parse and validate `packet`; copies both addresses. */
  parse(packet: Uint8Array): IpError {
    const err = this.check(packet);
    if (err !== IpError.Ok) return err;
    if (this.version === 4) {
      copy(packet, 12, this.src4, 4);
      copy(packet, 16, this.dst4, 4);
      this.src = this.src4;
      this.dst = this.dst4;
    } else {
      copy(packet, 8, this.src6, 16);
      copy(packet, 24, this.dst6, 16);
      this.src = this.src6;
      this.dst = this.dst6;
    }
    return IpError.Ok;
  }

  /** Like parse() but copies only the destination: the routing decision needs nothing else. */
  parseDst(packet: Uint8Array): IpError {
    const err = this.check(packet);
    if (err !== IpError.Ok) return err;
    if (this.version === 4) {
      copy(packet, 16, this.dst4, 4);
      this.dst = this.dst4;
    } else {
      copy(packet, 24, this.dst6, 16);
      this.dst = this.dst6;
    }
    return IpError.Ok;
  }

  /**
   * After parse()/parseDst() returned Ok: the TCP flags of `packet`, or -1 if it is not TCP
   * (IPv6 packets with extension headers before TCP count as not TCP) or too short.
   */
  tcpFlags(packet: Uint8Array): number {
    if (this.protocol !== IP_PROTO_TCP) return -1;
    const at = this.headerBytes + TCP_FLAGS_OFFSET;
    return at < this.totalLength ? packet[at]! : -1;
  }

  /**
   * After parse()/parseDst(): a 32-bit hash of the TCP 4-tuple (addresses and ports), read
   * straight from the packet (no allocation). Only meaningful when tcpFlags() >= 0.
   */
  tcpFlowHash(packet: Uint8Array): number {
    const addrStart = this.version === 4 ? 12 : 8;
    const addrEnd = this.version === 4 ? 20 : 40;
    let h = 0x811c9dc5;
    for (let i = addrStart; i < addrEnd; i++) h = Math.imul(h ^ packet[i]!, 0x01000193);
    for (let i = this.headerBytes; i < this.headerBytes + 4; i++) h = Math.imul(h ^ packet[i]!, 0x01000193);
    return h >>> 0;
  }

  private check(packet: Uint8Array): IpError {
    if (packet.length === 0) return IpError.TooShort;
    const version = packet[0]! >> 4;
    if (version === 4) {
      if (packet.length < IPV4_HEADER_BYTES) return IpError.TooShort;
      const headerBytes = (packet[0]! & 0x0f) * 4;
      if (headerBytes < IPV4_HEADER_BYTES || headerBytes > packet.length) return IpError.BadHeaderLength;
      const total = (packet[2]! << 8) | packet[3]!;
      if (total < headerBytes || total > packet.length) return IpError.BadTotalLength;
      this.version = 4;
      this.totalLength = total;
      this.protocol = packet[9]!;
      this.headerBytes = headerBytes;
      return IpError.Ok;
    }
    if (version === 6) {
      if (packet.length < IPV6_HEADER_BYTES) return IpError.TooShort;
      // Payload length 0 would announce a jumbogram, which never fits a TUN MTU; it is then
      // read as "header only", and the bytes after the header as padding.
      const total = IPV6_HEADER_BYTES + ((packet[4]! << 8) | packet[5]!);
      if (total > packet.length) return IpError.BadTotalLength;
      this.version = 6;
      this.totalLength = total;
      this.protocol = packet[6]!;
      this.headerBytes = IPV6_HEADER_BYTES;
      return IpError.Ok;
    }
    return IpError.BadVersion;
  }
}

function copy(from: Uint8Array, offset: number, to: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) to[i] = from[offset + i]!;
}
