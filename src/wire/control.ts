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
  DecodeError, END, Reader, readClaim, readEndpoint, readId, timeValue, u32Value, u8Value, writeClaim, writeEndpointPart,
  writeId, Writer, isWireId, type ClaimInfo,
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
}

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
// T_CLAIM's value: see parts.ts (writeClaim).
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
      for (const c of msg.claims) writeClaim(w, T_CLAIM, c);
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
