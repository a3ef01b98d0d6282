// Outer framing of every hacloud datagram. Pure byte layout, no I/O.
//
// Byte 0 is the message type, byte 1 the protocol version; the rest depends on the type.
// Integers are little-endian. Reserved bytes are sent as zero and must be zero.
//
//   type 1  handshake initiation (4-byte header, 132 bytes in all)
//     0 type | 1 version | 2..4 reserved
//     then: Noise message 1 (ephemeral key 32 | encrypted payload 48+16) | mac1 16 | mac2 16
//   type 2  handshake response (8-byte header)
//     0 type | 1 version | 2..4 reserved | 4..8 receiver index (the initiator's index)
//     then: Noise message 2 (ephemeral key 32 | encrypted static key 32+16 | encrypted payload)
//   type 3  handshake confirmation (8-byte header)
//     0 type | 1 version | 2..4 reserved | 4..8 receiver index (the responder's index)
//     then: Noise message 3 (encrypted static key 32+16 | encrypted payload)
//   type 4  transport (16-byte header)
//     0 type | 1 version | 2 kind (MsgKind) | 3 reserved | 4..8 receiver index | 8..16 counter
//     then: ciphertext | 16-byte tag. The whole 16-byte header is the AEAD's associated
//     data, so kind, index and counter cannot be changed in flight. (`plain`: the payload in
//     clear, then a 16-byte tag over header and payload.)
//   type 5  cookie reply (60 bytes, smaller than the message 1 it answers)
//     0 type | 1 version | 2..4 reserved | 4..28 nonce | 28..60 encrypted cookie 16+16
//
// Handshake headers carry only what a receiver needs before decrypting; sender indices and
// everything else that must be authentic travel inside the Noise payloads, and the version is
// also in the Noise prologue (see src/crypto/handshake.ts, src/crypto/macs.ts).

/** 3: node records (a NodeInfo carries its sender's signed record; Records, Digest, Summary, Pull). */
export const PROTOCOL_VERSION = 3;

export const MSG_HANDSHAKE_INIT = 1;
export const MSG_HANDSHAKE_RESPONSE = 2;
export const MSG_HANDSHAKE_CONFIRM = 3;
export const MSG_TRANSPORT = 4;
export const MSG_COOKIE_REPLY = 5;

export const HANDSHAKE_INIT_HEADER_BYTES = 4;
export const HANDSHAKE_RESPONSE_HEADER_BYTES = 8;
export const HANDSHAKE_CONFIRM_HEADER_BYTES = 8;

export const TRANSPORT_HEADER_BYTES = 16;
export const TRANSPORT_TAG_BYTES = 16;
/**
 * Bytes hacloud adds to every tunnelled packet (header + tag). For the TUN MTU also subtract
 * the underlay's IP and UDP headers: 20 + 8 (IPv4) or 40 + 8 (IPv6).
 */
export const TRANSPORT_OVERHEAD_BYTES = TRANSPORT_HEADER_BYTES + TRANSPORT_TAG_BYTES;

/** Largest counter we put on the wire or accept: 2^53 - 1, the largest exact JS number. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** Write a u64 counter (0 <= v <= MAX_COUNTER). */
export function writeCounter(buf: Uint8Array, off: number, v: number): void {
  writeU32(buf, off, v >>> 0);
  writeU32(buf, off + 4, Math.floor(v / 0x1_0000_0000));
}

/** Read a u64 counter; -1 if it is above MAX_COUNTER (never valid for hacloud). */
export function readCounter(buf: Uint8Array, off: number): number {
  const hi = readU32(buf, off + 4);
  if (hi > 0x1f_ffff) return -1;
  const lo = readU32(buf, off);
  // the common case stays an integer for V8 (a product is a double, boxed when passed on)
  return hi === 0 ? lo : hi * 0x1_0000_0000 + lo;
}

/** Fill the 16-byte transport header at the start of `buf`. */
export function writeTransportHeader(buf: Uint8Array, kind: number, receiverIndex: number, counter: number): void {
  buf[0] = MSG_TRANSPORT;
  buf[1] = PROTOCOL_VERSION;
  buf[2] = kind;
  buf[3] = 0;
  writeU32(buf, 4, receiverIndex);
  writeCounter(buf, 8, counter);
}
