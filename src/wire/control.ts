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
import {
  DecodeError, END, Reader, readEndpoint, readId, timeValue, u32Value, writeEndpointPart, writeId, Writer, isWireId,
} from './parts.js';

export { DEFAULT_CLAIM_PRIORITY, endpointToBytes, isWireId, type ClaimInfo, type ClaimInfoState } from './parts.js';

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
  /** Node records passed on (gossip push, or the answer to a Pull). */
  Records = 11,
  /** Anti-entropy: "this is what my record table hashes to, bucket by bucket". */
  Digest = 12,
  /** The answer to a Digest: the entries (id, version, state) of the buckets that differ. */
  Summary = 13,
  /** "Send me the records of these nodes." */
  Pull = 14,
  /** SWIM indirect probe: "probe `target` for me" (our own probe got no answer). */
  PingReq = 15,
  /** "`target` answered the probe you asked for." */
  PingAck = 16,
  /** SWIM member states (suspect, dead, alive again) passed on. */
  States = 17,
}

// NodeInfo tags (3, 5 and 6 were claims, candidates and relay mode: they are in the record now).
const T_BOOT_TIME = 1; // f64: the sender's wall-clock start time, epoch ms
const T_SEQ = 2; // u32: bumped whenever the sender's record or peer list change
const T_PEER = 4; // repeatable: idLength:u8 id[idLength] part* END
const T_INFO_RECORD = 7; // the sender's own current node record (wire/record.ts), opaque here
// Nested in T_PEER.
const T_PEER_ENDPOINT = 1; // repeatable: family:u8 addr[4|16] port:u16
const T_PEER_RTT = 2; // u16: the sender reaches this peer directly, RTT in ms (65535: not measured yet)
// Records tags.
const T_RECORD = 1; // repeatable: one node record, opaque here
const T_RECORDS_SYNC = 2; // empty: anti-entropy transfer (not news to spread further)
// Digest tags.
const T_DIGEST_COUNT = 1; // u32: records the sender holds
const T_DIGEST_CURSOR = 2; // u16: compare from this bucket on
const T_DIGEST_HASHES = 3; // u32 per bucket, a power of two of them (1..256)
// Summary tags.
const T_SUMMARY_COUNT = 1; // u32: records the sender holds
const T_SUMMARY_BUCKETS = 2; // u16: the bucket count of the Digest it answers
const T_SUMMARY_NEXT = 3; // u16: first bucket not compared yet (= buckets: done)
const T_SUMMARY_COMPLETE = 4; // u8 per bucket: differing buckets whose every entry is listed
const T_SUMMARY_ENTRY = 5; // repeatable: idLength:u8 id version:u64 state:u8
// Pull tags.
const T_PULL_ID = 1; // repeatable: idLength:u8 id
// PingReq / PingAck tags.
const T_PING_TARGET = 1; // idLength:u8 id
// States tags.
const T_STATE = 1; // repeatable: idLength:u8 id version:u64 state:u8 [idLength:u8 from]
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
  /** The sender's current node record (its claims, candidates, relay mode): signed, opaque here. */
  record: Uint8Array;
  /** Gossip: peers the sender is connected to and where it reaches them. */
  peers: PeerInfo[];
}

/** A member's state as anti-entropy compares it (SWIM): 0 alive, 1 suspect, 2 dead. */
export type MemberStateCode = 0 | 1 | 2;

export interface DigestEntry {
  id: PeerId;
  version: number;
  state: MemberStateCode;
}

/** Buckets a Digest may have: a power of two up to this. */
export const MAX_DIGEST_BUCKETS = 256;

/** A member state as gossip passes it on; `from`: who suspects (suspicions only: independent ones count). */
export interface StateEntry extends DigestEntry {
  from?: PeerId;
}

export interface Digest {
  type: 'digest';
  count: number;
  cursor: number;
  hashes: number[];
}

export interface Summary {
  type: 'summary';
  count: number;
  buckets: number;
  next: number;
  /** Differing buckets listed in full; entries of other buckets (at most one, listed in part) follow too. */
  complete: number[];
  entries: DigestEntry[];
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
  | { type: 'punch'; origin: PeerId; candidates: Endpoint[] }
  | { type: 'records'; records: Uint8Array[]; sync: boolean }
  | Digest
  | Summary
  | { type: 'pull'; ids: PeerId[] }
  | { type: 'ping-req'; target: PeerId }
  | { type: 'ping-ack'; target: PeerId }
  | { type: 'states'; entries: StateEntry[] };

export type DecodeResult = { ok: true; msg: ControlMessage } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------
// Encoding

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
      w.part(T_INFO_RECORD, () => w.bytes(msg.record));
      for (const p of msg.peers) {
        if (!isWireId(p.id)) continue;
        w.part(T_PEER, () => {
          writeId(w, p.id);
          for (const ep of p.endpoints) writeEndpointPart(w, T_PEER_ENDPOINT, ep);
          if (p.rttMs !== undefined) w.part(T_PEER_RTT, () => w.u16(Math.min(RTT_UNKNOWN, Math.max(0, Math.round(p.rttMs!)))));
          w.u8(END);
        });
      }
      break;
    case 'records':
      w.u8(ControlType.Records);
      for (const r of msg.records) w.part(T_RECORD, () => w.bytes(r));
      if (msg.sync) w.part(T_RECORDS_SYNC, () => {});
      break;
    case 'digest':
      w.u8(ControlType.Digest);
      w.part(T_DIGEST_COUNT, () => w.u32(msg.count));
      w.part(T_DIGEST_CURSOR, () => w.u16(msg.cursor));
      w.part(T_DIGEST_HASHES, () => { for (const h of msg.hashes) w.u32(h); });
      break;
    case 'summary':
      w.u8(ControlType.Summary);
      w.part(T_SUMMARY_COUNT, () => w.u32(msg.count));
      w.part(T_SUMMARY_BUCKETS, () => w.u16(msg.buckets));
      w.part(T_SUMMARY_NEXT, () => w.u16(msg.next));
      w.part(T_SUMMARY_COMPLETE, () => { for (const b of msg.complete) w.u8(b); });
      for (const e of msg.entries) {
        if (!isWireId(e.id)) continue;
        w.part(T_SUMMARY_ENTRY, () => {
          writeId(w, e.id);
          w.u64(e.version);
          w.u8(e.state);
        });
      }
      break;
    case 'pull':
      w.u8(ControlType.Pull);
      for (const id of msg.ids) if (isWireId(id)) w.part(T_PULL_ID, () => writeId(w, id));
      break;
    case 'ping-req':
    case 'ping-ack':
      w.u8(msg.type === 'ping-req' ? ControlType.PingReq : ControlType.PingAck);
      if (isWireId(msg.target)) w.part(T_PING_TARGET, () => writeId(w, msg.target));
      break;
    case 'states':
      w.u8(ControlType.States);
      for (const e of msg.entries) {
        if (!isWireId(e.id) || (e.from !== undefined && !isWireId(e.from))) continue;
        w.part(T_STATE, () => {
          writeId(w, e.id);
          w.u64(e.version);
          w.u8(e.state);
          if (e.from !== undefined) writeId(w, e.from);
        });
      }
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

function u16Value(r: Reader, what: string): number {
  const v = r.u16(what);
  r.done(what);
  return v;
}

function isBucketCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_DIGEST_BUCKETS && (n & (n - 1)) === 0;
}

function readEntryHead(r: Reader, what: string): DigestEntry {
  const id = readId(r, `${what} id`);
  const version = r.u64(`${what} version`);
  const state = r.u8(`${what} state`);
  if (state > 2) throw new DecodeError(`unknown member state ${state}`);
  return { id, version, state: state as MemberStateCode };
}

function readDigestEntry(r: Reader): DigestEntry {
  const e = readEntryHead(r, 'summary');
  r.done('summary entry');
  return e;
}

function readStateEntry(r: Reader): StateEntry {
  const e: StateEntry = readEntryHead(r, 'state');
  if (r.pos < r.end) e.from = readId(r, 'state from');
  r.done('state entry');
  return e;
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
  let record: Uint8Array | undefined;
  const peers: PeerInfo[] = [];
  const candidates: Endpoint[] = [];
  let endpoint: Endpoint | undefined;
  let punchPeer: PeerId | undefined;
  const records: Uint8Array[] = [];
  let sync = false;
  const ids: PeerId[] = [];
  let count: number | undefined;
  let cursor: number | undefined;
  let hashes: number[] | undefined;
  let buckets: number | undefined;
  let complete: number[] | undefined;
  const entries: DigestEntry[] = [];
  const states: StateEntry[] = [];

  switch (type) {
    case ControlType.NodeInfo:
    case ControlType.InfoAck:
    case ControlType.Leave:
    case ControlType.LeaveAck:
      r.parts((tag, v) => {
        if (tag === T_BOOT_TIME) bootTimeMs = timeValue(v, 'boot time');
        else if (tag === T_SEQ && type !== ControlType.Leave && type !== ControlType.LeaveAck) seq = u32Value(v, 'seq');
        else if (tag === T_PEER && type === ControlType.NodeInfo) peers.push(readPeer(v));
        else if (tag === T_INFO_RECORD && type === ControlType.NodeInfo) record = v.rest();
      });
      break;
    case ControlType.Records:
      r.parts((tag, v) => {
        if (tag === T_RECORD) records.push(v.rest());
        else if (tag === T_RECORDS_SYNC) {
          v.done('records sync flag');
          sync = true;
        }
      });
      break;
    case ControlType.Digest:
      r.parts((tag, v) => {
        if (tag === T_DIGEST_COUNT) count = u32Value(v, 'digest count');
        else if (tag === T_DIGEST_CURSOR) cursor = u16Value(v, 'digest cursor');
        else if (tag === T_DIGEST_HASHES) {
          const n = (v.end - v.pos) / 4;
          if (!isBucketCount(n)) throw new DecodeError(`digest of ${v.end - v.pos} bytes is not 4 per bucket, 1..${MAX_DIGEST_BUCKETS} buckets, a power of two`);
          hashes = [];
          for (let i = 0; i < n; i++) hashes.push(v.u32('digest hash'));
        }
      });
      break;
    case ControlType.Summary:
      r.parts((tag, v) => {
        if (tag === T_SUMMARY_COUNT) count = u32Value(v, 'summary count');
        else if (tag === T_SUMMARY_BUCKETS) buckets = u16Value(v, 'summary buckets');
        else if (tag === T_SUMMARY_NEXT) cursor = u16Value(v, 'summary next');
        else if (tag === T_SUMMARY_COMPLETE) complete = [...v.rest()];
        else if (tag === T_SUMMARY_ENTRY) entries.push(readDigestEntry(v));
      });
      break;
    case ControlType.Pull:
      r.parts((tag, v) => {
        if (tag === T_PULL_ID) {
          ids.push(readId(v, 'pull id'));
          v.done('pull id');
        }
      });
      break;
    case ControlType.PingReq:
    case ControlType.PingAck:
      r.parts((tag, v) => {
        if (tag === T_PING_TARGET) {
          punchPeer = readId(v, 'ping target');
          v.done('ping target');
        }
      });
      break;
    case ControlType.States:
      r.parts((tag, v) => {
        if (tag === T_STATE) states.push(readStateEntry(v));
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
      return { type: 'node-info', bootTimeMs: need(bootTimeMs, 'boot time'), seq: need(seq, 'seq'), record: need(record, 'record'), peers };
    }
    case ControlType.Records:
      return { type: 'records', records, sync };
    case ControlType.Digest: {
      const h = need(hashes, 'digest hashes');
      const from = need(cursor, 'digest cursor');
      if (from >= h.length) throw new DecodeError(`digest cursor ${from} beyond ${h.length} buckets`);
      return { type: 'digest', count: need(count, 'digest count'), cursor: from, hashes: h };
    }
    case ControlType.Summary: {
      const b = need(buckets, 'summary buckets');
      const next = need(cursor, 'summary next');
      if (!isBucketCount(b)) throw new DecodeError(`summary of ${b} buckets`);
      if (next > b) throw new DecodeError(`summary next bucket ${next} beyond ${b}`);
      const listed = complete ?? [];
      for (const k of listed) if (k >= b) throw new DecodeError(`summary bucket ${k} beyond ${b}`);
      return { type: 'summary', count: need(count, 'summary count'), buckets: b, next, complete: listed, entries };
    }
    case ControlType.Pull:
      return { type: 'pull', ids };
    case ControlType.PingReq:
      return { type: 'ping-req', target: need(punchPeer, 'ping target') };
    case ControlType.PingAck:
      return { type: 'ping-ack', target: need(punchPeer, 'ping target') };
    case ControlType.States:
      return { type: 'states', entries: states };
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
