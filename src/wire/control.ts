// Control messages carried in MsgKind.Control payloads (inside the authenticated channel).
//
// Layout, VpnCloud-style tagged parts so that older nodes skip what they do not know:
//
//   message := type:u8 part* END
//   part    := tag:u8 (1..255) length:u16be value[length]
//   END     := 0x00
//
// Tags are numbered per message type. A claim and a peer entry carry nested parts of their
// own after a fixed head, again ending in END, so a claim can grow metadata (priority,
// health) without breaking old decoders. Unknown tags are skipped; unknown message types
// and missing required parts are decode errors, which the engine counts as 'control' drops.
// decodeControl never throws.
import type { Endpoint, PeerId } from '../core/types.js';
import { formatAddress, formatEndpoint, maskBytes, parseAddress, parseHostPort, type Family, type Prefix } from './addr.js';

export const enum ControlType {
  NodeInfo = 1,
  InfoAck = 2,
  Leave = 3,
  LeaveAck = 4,
  Probe = 5,
  ProbeAck = 6,
  /** "I have no NodeInfo of yours" (I restarted or dropped you while you kept me). */
  InfoRequest = 7,
  /** "I see you at this endpoint" (on session establishment and when you roam). */
  Observed = 8,
  /** To a common peer: "tell `target` to dial me at these candidates now" (hole punching). */
  PunchRequest = 9,
  /** "`origin` is dialling you now: dial it at these candidates" (from a common peer, or `origin` itself). */
  Punch = 10,
}

const END = 0;

// NodeInfo tags.
const T_BOOT_TIME = 1; // f64: the sender's wall-clock start time, epoch ms
const T_SEQ = 2; // u32: bumped whenever the sender's claims or peer list change
const T_CLAIM = 3; // repeatable: family:u8 len:u8 addr[4|16] part* END
const T_PEER = 4; // repeatable: idLength:u8 id[idLength] part* END
const T_CANDIDATE = 5; // repeatable endpoint: where the sender may be reachable (its own candidates)
const T_RELAY = 6; // u8: 0 does not relay, 1 relays, 2 preferred relay (absent: 0; unknown: 0)
// Nested in T_PEER.
const T_PEER_ENDPOINT = 1; // repeatable: family:u8 addr[4|16] port:u16
const T_PEER_RTT = 2; // u16: the sender reaches this peer directly, RTT in ms (65535: not measured yet)
// Nested in T_CLAIM (each optional; absent means the default in parentheses).
const T_CLAIM_PRIORITY = 1; // u8: higher wins among claims of the same prefix (100)
const T_CLAIM_STATE = 2; // u8: 0 up, 1 withdrawn by its health check, 2 drained (0); an
//                           unknown value is read as withdrawn (a newer reason not to route)
const T_CLAIM_EPOCH = 3; // u32: > 0 the claimant serves the prefix since this epoch (0)
const T_CLAIM_FLAGS = 4; // u8: bit 0 ready to preempt a lower-priority claimant (0)
// Probe / ProbeAck tags.
const T_PROBE_ID = 1; // u32
const T_PROBE_SENT_AT = 2; // f64: the prober's monotonic clock, echoed back unchanged
// Observed tags.
const T_OBSERVED_ENDPOINT = 1; // endpoint
// PunchRequest / Punch tags.
const T_PUNCH_PEER = 1; // idLength:u8 id: the target (PunchRequest) or the origin (Punch)
const T_PUNCH_CANDIDATE = 2; // repeatable endpoint

/** A gossiped RTT that says "reached directly, not measured yet". */
export const RTT_UNKNOWN = 0xffff;

/** How a node relays for others (its NodeInfo): 0 not at all (--no-relay), 1 yes, 2 preferred. */
export type RelayMode = 0 | 1 | 2;

export type ClaimInfoState = 'up' | 'unhealthy' | 'drained';

/** One claim as announced. Optional fields default as documented at the tags above. */
export interface ClaimInfo {
  prefix: Prefix;
  priority?: number;
  state?: ClaimInfoState;
  epoch?: number;
  preempt?: boolean;
}

export const DEFAULT_CLAIM_PRIORITY = 100;
const STATE_CODES: Record<ClaimInfoState, number> = { up: 0, unhealthy: 1, drained: 2 };

export interface PeerInfo {
  id: PeerId;
  endpoints: Endpoint[];
  /**
   * Present when the sender reaches this peer directly (so it could relay to it): its RTT in
   * ms, RTT_UNKNOWN until measured.
   */
  rttMs?: number;
}

export interface NodeInfo {
  type: 'node-info';
  /** The sender's own wall-clock start time (epoch ms): the same number at every receiver. */
  bootTimeMs: number;
  /** Per boot; a receiver ignores a NodeInfo with a lower seq than one it applied. */
  seq: number;
  claims: ClaimInfo[];
  /** Gossip: peers the sender is connected to and where it reaches them. */
  peers: PeerInfo[];
  /** The sender's own candidate endpoints (static, reflexive, host); absent: none. */
  candidates?: Endpoint[];
  /** Whether the sender relays (absent: it does not: an older node). */
  relay?: RelayMode;
}

export type ControlMessage =
  | NodeInfo
  | { type: 'info-ack'; bootTimeMs: number; seq: number }
  | { type: 'leave'; bootTimeMs: number }
  | { type: 'leave-ack'; bootTimeMs: number }
  | { type: 'probe'; id: number; sentAtMs: number }
  | { type: 'probe-ack'; id: number; sentAtMs: number }
  | { type: 'info-request' }
  | { type: 'observed'; endpoint: Endpoint }
  | { type: 'punch-request'; target: PeerId; candidates: Endpoint[] }
  | { type: 'punch'; origin: PeerId; candidates: Endpoint[] };

export type DecodeResult = { ok: true; msg: ControlMessage } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------
// Encoding

class Writer {
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
    if (len > 0xffff) throw new RangeError(`control part ${tag} is ${len} bytes, over 65535`);
    this.view.setUint16(at, len);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

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
function writeEndpointPart(w: Writer, tag: number, ep: Endpoint): void {
  const b = endpointToBytes(ep);
  if (!b) return;
  w.part(tag, () => {
    w.u8(b.family);
    w.bytes(b.addr);
    w.u16(b.port);
  });
}

function writeId(w: Writer, id: string): void {
  w.u8(id.length);
  for (let i = 0; i < id.length; i++) w.u8(id.charCodeAt(i));
}

function writePrefix(w: Writer, p: Prefix): void {
  w.u8(p.family);
  w.u8(p.len);
  w.bytes(p.bytes);
}

/**
 * Encode a control message. Endpoints that are not literal IP:port are left out (the
 * transport only ever reports literal ones). Throws only on programming errors (a part
 * over 64 KiB), never on peer input.
 */
export function encodeControl(msg: ControlMessage): Uint8Array {
  const w = new Writer();
  switch (msg.type) {
    case 'node-info':
      w.u8(ControlType.NodeInfo);
      w.part(T_BOOT_TIME, () => w.f64(msg.bootTimeMs));
      w.part(T_SEQ, () => w.u32(msg.seq));
      for (const c of msg.claims) {
        w.part(T_CLAIM, () => {
          writePrefix(w, c.prefix);
          const priority = c.priority ?? DEFAULT_CLAIM_PRIORITY;
          if (priority !== DEFAULT_CLAIM_PRIORITY) w.part(T_CLAIM_PRIORITY, () => w.u8(priority));
          if ((c.state ?? 'up') !== 'up') w.part(T_CLAIM_STATE, () => w.u8(STATE_CODES[c.state!]));
          if ((c.epoch ?? 0) !== 0) w.part(T_CLAIM_EPOCH, () => w.u32(c.epoch!));
          if (c.preempt) w.part(T_CLAIM_FLAGS, () => w.u8(1));
          w.u8(END);
        });
      }
      for (const p of msg.peers) {
        if (!isWireId(p.id)) continue;
        w.part(T_PEER, () => {
          writeId(w, p.id);
          for (const ep of p.endpoints) writeEndpointPart(w, T_PEER_ENDPOINT, ep);
          if (p.rttMs !== undefined) w.part(T_PEER_RTT, () => w.u16(Math.min(RTT_UNKNOWN, Math.max(0, Math.round(p.rttMs!)))));
          w.u8(END);
        });
      }
      for (const ep of msg.candidates ?? []) writeEndpointPart(w, T_CANDIDATE, ep);
      if (msg.relay !== undefined) w.part(T_RELAY, () => w.u8(msg.relay!));
      break;
    case 'observed':
      w.u8(ControlType.Observed);
      writeEndpointPart(w, T_OBSERVED_ENDPOINT, msg.endpoint);
      break;
    case 'punch-request':
    case 'punch': {
      w.u8(msg.type === 'punch' ? ControlType.Punch : ControlType.PunchRequest);
      const id = msg.type === 'punch' ? msg.origin : msg.target;
      if (isWireId(id)) w.part(T_PUNCH_PEER, () => writeId(w, id));
      for (const ep of msg.candidates) writeEndpointPart(w, T_PUNCH_CANDIDATE, ep);
      break;
    }
    case 'info-ack':
      w.u8(ControlType.InfoAck);
      w.part(T_BOOT_TIME, () => w.f64(msg.bootTimeMs));
      w.part(T_SEQ, () => w.u32(msg.seq));
      break;
    case 'leave':
    case 'leave-ack':
      w.u8(msg.type === 'leave' ? ControlType.Leave : ControlType.LeaveAck);
      w.part(T_BOOT_TIME, () => w.f64(msg.bootTimeMs));
      break;
    case 'info-request':
      w.u8(ControlType.InfoRequest);
      break;
    case 'probe':
    case 'probe-ack':
      w.u8(msg.type === 'probe' ? ControlType.Probe : ControlType.ProbeAck);
      w.part(T_PROBE_ID, () => w.u32(msg.id));
      w.part(T_PROBE_SENT_AT, () => w.f64(msg.sentAtMs));
      break;
  }
  w.u8(END);
  return w.finish();
}

// ---------------------------------------------------------------------------------------
// Decoding

/**
 * A decode error carries no stack trace: it is an expected answer to hostile input, caught
 * right here, and capturing a stack made each rejected message several times dearer than
 * decoding it.
 */
class DecodeError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

class Reader {
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

function timeValue(r: Reader, what: string): number {
  const v = r.f64(what);
  r.done(what);
  if (!Number.isFinite(v) || v < 0) throw new DecodeError(`${what} is not a valid time`);
  return v;
}

function u8Value(r: Reader, what: string): number {
  const v = r.u8(what);
  r.done(what);
  return v;
}

function u32Value(r: Reader, what: string): number {
  const v = r.u32(what);
  r.done(what);
  return v;
}

function readAddress(r: Reader, family: number, what: string): Uint8Array {
  if (family !== 4 && family !== 6) throw new DecodeError(`${what} has unknown address family ${family}`);
  return r.bytes(family === 4 ? 4 : 16, what);
}

function readClaim(r: Reader): ClaimInfo {
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

function readId(r: Reader, what: string): PeerId {
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
function readEndpoint(v: Reader): Endpoint {
  const addr = readAddress(v, v.u8('endpoint family'), 'endpoint address');
  const port = v.u16('endpoint port');
  v.done('endpoint');
  if (port === 0) throw new DecodeError('endpoint port 0');
  return formatEndpoint(formatAddress(addr), port);
}

function readPeer(r: Reader): PeerInfo {
  const id = readId(r, 'peer id');
  const endpoints: Endpoint[] = [];
  let rttMs: number | undefined;
  r.parts((tag, v) => {
    if (tag === T_PEER_ENDPOINT) endpoints.push(readEndpoint(v));
    else if (tag === T_PEER_RTT) {
      rttMs = v.u16('peer rtt');
      v.done('peer rtt');
    }
  });
  r.done('peer');
  return rttMs === undefined ? { id, endpoints } : { id, endpoints, rttMs };
}

function decodeOrThrow(buf: Uint8Array): ControlMessage {
  const r = new Reader(buf);
  const type = r.u8('message type');
  let bootTimeMs: number | undefined;
  let seq: number | undefined;
  let probeId: number | undefined;
  let sentAtMs: number | undefined;
  const claims: ClaimInfo[] = [];
  const peers: PeerInfo[] = [];
  const candidates: Endpoint[] = [];
  let relay: RelayMode | undefined;
  let endpoint: Endpoint | undefined;
  let punchPeer: PeerId | undefined;

  switch (type) {
    case ControlType.NodeInfo:
    case ControlType.InfoAck:
    case ControlType.Leave:
    case ControlType.LeaveAck:
      r.parts((tag, v) => {
        if (tag === T_BOOT_TIME) bootTimeMs = timeValue(v, 'boot time');
        else if (tag === T_SEQ && type !== ControlType.Leave && type !== ControlType.LeaveAck) seq = u32Value(v, 'seq');
        else if (tag === T_CLAIM && type === ControlType.NodeInfo) claims.push(readClaim(v));
        else if (tag === T_PEER && type === ControlType.NodeInfo) peers.push(readPeer(v));
        else if (tag === T_CANDIDATE && type === ControlType.NodeInfo) candidates.push(readEndpoint(v));
        else if (tag === T_RELAY && type === ControlType.NodeInfo) {
          const mode = u8Value(v, 'relay mode');
          relay = mode === 1 || mode === 2 ? mode : 0;
        }
      });
      break;
    case ControlType.Observed:
      r.parts((tag, v) => {
        if (tag === T_OBSERVED_ENDPOINT) endpoint = readEndpoint(v);
      });
      break;
    case ControlType.PunchRequest:
    case ControlType.Punch:
      r.parts((tag, v) => {
        if (tag === T_PUNCH_PEER) {
          punchPeer = readId(v, 'punch peer id');
          v.done('punch peer id');
        } else if (tag === T_PUNCH_CANDIDATE) candidates.push(readEndpoint(v));
      });
      break;
    case ControlType.InfoRequest:
      r.parts(() => {});
      break;
    case ControlType.Probe:
    case ControlType.ProbeAck:
      r.parts((tag, v) => {
        if (tag === T_PROBE_ID) probeId = u32Value(v, 'probe id');
        else if (tag === T_PROBE_SENT_AT) sentAtMs = timeValue(v, 'probe time');
      });
      break;
    default:
      throw new DecodeError(`unknown control message type ${type}`);
  }
  if (r.pos !== buf.length) throw new DecodeError(`${buf.length - r.pos} bytes after END`);

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new DecodeError(`missing ${what}`);
    return v;
  };
  switch (type) {
    case ControlType.NodeInfo: {
      const info: NodeInfo = { type: 'node-info', bootTimeMs: need(bootTimeMs, 'boot time'), seq: need(seq, 'seq'), claims, peers };
      if (candidates.length > 0) info.candidates = candidates;
      if (relay !== undefined) info.relay = relay;
      return info;
    }
    case ControlType.Observed:
      return { type: 'observed', endpoint: need(endpoint, 'observed endpoint') };
    case ControlType.PunchRequest:
      return { type: 'punch-request', target: need(punchPeer, 'punch target'), candidates };
    case ControlType.Punch:
      return { type: 'punch', origin: need(punchPeer, 'punch origin'), candidates };
    case ControlType.InfoAck:
      return { type: 'info-ack', bootTimeMs: need(bootTimeMs, 'boot time'), seq: need(seq, 'seq') };
    case ControlType.Leave:
      return { type: 'leave', bootTimeMs: need(bootTimeMs, 'boot time') };
    case ControlType.LeaveAck:
      return { type: 'leave-ack', bootTimeMs: need(bootTimeMs, 'boot time') };
    case ControlType.InfoRequest:
      return { type: 'info-request' };
    case ControlType.Probe:
      return { type: 'probe', id: need(probeId, 'probe id'), sentAtMs: need(sentAtMs, 'probe time') };
    default:
      return { type: 'probe-ack', id: need(probeId, 'probe id'), sentAtMs: need(sentAtMs, 'probe time') };
  }
}

/** Decode one control message. Never throws: malformed input gives `{ ok: false, error }`. */
export function decodeControl(buf: Uint8Array): DecodeResult {
  try {
    return { ok: true, msg: decodeOrThrow(buf) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e.message };
    // Anything else is a bug in this decoder; still never let peer input crash the node.
    return { ok: false, error: `decoder failure: ${(e as Error).message}` };
  }
}
