// Tagged parts: the byte layout shared by control messages (control.ts) and node records
// (record.ts), and the values both carry (endpoints, ids, claims).
//
//   list := part* END          part := tag:u8 (1..255) length:u16be value[length]     END := 0x00
//
// Unknown tags are skipped, so either format can grow without breaking older decoders.
// Readers throw DecodeError (no stack trace: it is the expected answer to hostile input);
// the format's decode function catches it and never lets it escape.
import type { Endpoint, PeerId } from '../core/types.js';
import { formatAddress, formatEndpoint, maskBytes, parseAddress, parseHostPort, type Family, type Prefix } from './addr.js';

export const END = 0;

export type ClaimInfoState = 'up' | 'unhealthy' | 'drained';

/** One claim as announced. Optional fields default as documented at the tags below. */
export interface ClaimInfo {
  prefix: Prefix;
  priority?: number;
  state?: ClaimInfoState;
  epoch?: number;
  preempt?: boolean;
}

export const DEFAULT_CLAIM_PRIORITY = 100;
const STATE_CODES: Record<ClaimInfoState, number> = { up: 0, unhealthy: 1, drained: 2 };

// A claim: family:u8 len:u8 addr[4|16] part* END, with these nested tags (each optional;
// absent means the default in parentheses).
const T_CLAIM_PRIORITY = 1; // u8: higher wins among claims of the same prefix (100)
const T_CLAIM_STATE = 2; // u8: 0 up, 1 withdrawn by its health check, 2 drained (0); an
//                           unknown value is read as withdrawn (a newer reason not to route)
const T_CLAIM_EPOCH = 3; // u32: > 0 the claimant serves the prefix since this epoch (0)
const T_CLAIM_FLAGS = 4; // u8: bit 0 ready to preempt a lower-priority claimant (0)

export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  /** An integer 0..2^53-1 as u64 big-endian. */
  u64(v: number): void {
    this.u32(Math.floor(v / 0x1_0000_0000));
    this.u32(v >>> 0);
  }

  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Write tag and a length placeholder, run `body`, then patch the length. */
  part(tag: number, body: () => void): void {
    this.u8(tag);
    const at = this.length;
    this.u16(0);
    body();
    const len = this.length - at - 2;
    if (len > 0xffff) throw new RangeError(`part ${tag} is ${len} bytes, over 65535`);
    this.view.setUint16(at, len);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * A decode error carries no stack trace: it is an expected answer to hostile input, caught
 * by the format's decode function, and capturing a stack made each rejected message several
 * times dearer than decoding it.
 */
export class DecodeError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export class Reader {
  private readonly view: DataView;
  pos: number;

  constructor(private readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new DecodeError(`truncated ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A u64 that must fit a JS number exactly (below 2^53). */
  u64(what: string): number {
    const hi = this.u32(what);
    const lo = this.u32(what);
    if (hi >= 0x20_0000) throw new DecodeError(`${what} is over 2^53`);
    return hi * 0x1_0000_0000 + lo;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Everything left (a copy). */
  rest(): Uint8Array {
    return this.bytes(this.end - this.pos, 'value');
  }

  /** Call `onPart(tag, reader-for-value)` for each part until END; the part reader is bounded. */
  parts(onPart: (tag: number, value: Reader) => void): void {
    for (;;) {
      const tag = this.u8('part tag');
      if (tag === END) return;
      const len = this.u16('part length');
      this.need(len, `part ${tag}`);
      const value = new Reader(this.buf, this.pos, this.pos + len);
      this.pos += len;
      onPart(tag, value);
    }
  }

  /** A fixed-size value must be consumed exactly. */
  done(what: string): void {
    if (this.pos !== this.end) throw new DecodeError(`${what} has ${this.end - this.pos} extra bytes`);
  }
}

// ---------------------------------------------------------------------------------------
// Values

/** Binary endpoint (family, address, port), or null if `ep` is not a literal IP endpoint. */
export function endpointToBytes(ep: Endpoint): { family: Family; addr: Uint8Array; port: number } | null {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(ep, 0));
  } catch {
    return null;
  }
  const addr = parseAddress(host);
  if (!addr || port === 0) return null;
  return { family: addr.length === 4 ? 4 : 6, addr, port };
}

/** Ids travel as 1..255 printable ASCII bytes (real ids are 43 base64url characters). */
export function isWireId(id: string): boolean {
  if (id.length === 0 || id.length > 255) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** An endpoint part (family, address, port); endpoints that are not literal IP:port are left out. */
export function writeEndpointPart(w: Writer, tag: number, ep: Endpoint): void {
  const b = endpointToBytes(ep);
  if (!b) return;
  w.part(tag, () => {
    w.u8(b.family);
    w.bytes(b.addr);
    w.u16(b.port);
  });
}

/** idLength:u8 id (the caller checked isWireId). */
export function writeId(w: Writer, id: string): void {
  w.u8(id.length);
  for (let i = 0; i < id.length; i++) w.u8(id.charCodeAt(i));
}

export function readId(r: Reader, what: string): PeerId {
  const idLen = r.u8(`${what} length`);
  if (idLen === 0) throw new DecodeError(`empty ${what}`);
  let id = '';
  for (let i = 0; i < idLen; i++) {
    const c = r.u8(what);
    if (c < 0x21 || c > 0x7e) throw new DecodeError(`${what} is not printable ASCII`);
    id += String.fromCharCode(c);
  }
  return id;
}

/** One endpoint value (family, address, port), consumed exactly. */
export function readEndpoint(v: Reader): Endpoint {
  const addr = readAddress(v, v.u8('endpoint family'), 'endpoint address');
  const port = v.u16('endpoint port');
  v.done('endpoint');
  if (port === 0) throw new DecodeError('endpoint port 0');
  return formatEndpoint(formatAddress(addr), port);
}

export function timeValue(r: Reader, what: string): number {
  const v = r.f64(what);
  r.done(what);
  if (!Number.isFinite(v) || v < 0) throw new DecodeError(`${what} is not a valid time`);
  return v;
}

export function u8Value(r: Reader, what: string): number {
  const v = r.u8(what);
  r.done(what);
  return v;
}

export function u32Value(r: Reader, what: string): number {
  const v = r.u32(what);
  r.done(what);
  return v;
}

function readAddress(r: Reader, family: number, what: string): Uint8Array {
  if (family !== 4 && family !== 6) throw new DecodeError(`${what} has unknown address family ${family}`);
  return r.bytes(family === 4 ? 4 : 16, what);
}

/** A claim part's value (prefix head, then its options as nested parts). */
export function writeClaim(w: Writer, tag: number, c: ClaimInfo): void {
  w.part(tag, () => {
    w.u8(c.prefix.family);
    w.u8(c.prefix.len);
    w.bytes(c.prefix.bytes);
    const priority = c.priority ?? DEFAULT_CLAIM_PRIORITY;
    if (priority !== DEFAULT_CLAIM_PRIORITY) w.part(T_CLAIM_PRIORITY, () => w.u8(priority));
    if ((c.state ?? 'up') !== 'up') w.part(T_CLAIM_STATE, () => w.u8(STATE_CODES[c.state!]));
    if ((c.epoch ?? 0) !== 0) w.part(T_CLAIM_EPOCH, () => w.u32(c.epoch!));
    if (c.preempt) w.part(T_CLAIM_FLAGS, () => w.u8(1));
    w.u8(END);
  });
}

export function readClaim(r: Reader): ClaimInfo {
  const family = r.u8('claim family');
  const len = r.u8('claim length');
  const bytes = readAddress(r, family, 'claim address');
  if (len > bytes.length * 8) throw new DecodeError(`claim prefix length ${len} too long`);
  let priority = DEFAULT_CLAIM_PRIORITY;
  let state: ClaimInfoState = 'up';
  let epoch = 0;
  let preempt = false;
  r.parts((tag, v) => {
    if (tag === T_CLAIM_PRIORITY) priority = u8Value(v, 'claim priority');
    else if (tag === T_CLAIM_STATE) {
      const code = u8Value(v, 'claim state');
      state = code === STATE_CODES.up ? 'up' : code === STATE_CODES.drained ? 'drained' : 'unhealthy';
    } else if (tag === T_CLAIM_EPOCH) epoch = u32Value(v, 'claim epoch');
    else if (tag === T_CLAIM_FLAGS) preempt = (u8Value(v, 'claim flags') & 1) === 1;
    // other tags: metadata of newer nodes, skipped
  });
  r.done('claim');
  return { prefix: { family: family as Family, bytes: maskBytes(bytes, len), len }, priority, state, epoch, preempt };
}
