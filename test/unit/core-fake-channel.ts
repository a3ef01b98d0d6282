// A scripted Channel for engine tests: records what the engine sends and dials, and lets a
// test play the network side (sessions coming up, control and data messages arriving).
import type { Channel, ChannelSink } from '../../src/core/channel.js';
import { createEngine, type Engine, type EngineConfig } from '../../src/core/engine.js';
import { SimRng } from '../sim/rng.js';
import { MsgKind, type Endpoint, type PeerId } from '../../src/core/types.js';
import { parseIPv4, parsePrefix } from '../../src/wire/addr.js';
import { decodeControl, encodeControl, type ControlMessage, type RelayMode } from '../../src/wire/control.js';
import { RECORD_VERSIONS_PER_MS } from '../../src/core/constants.js';
import { encodeRecordBody, joinRecord } from '../../src/wire/record.js';
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { nameFromKey, nameKey } from '../sim/name-keys.js';

export class FakeChannel implements Channel {
  readonly localId: PeerId = 'self';
  readonly sent: { peer: PeerId; kind: MsgKind; payload: Uint8Array }[] = [];
  readonly connects: Endpoint[] = [];
  /** The identity expected at each connect() (undefined: none given). */
  readonly connectPeers: (PeerId | undefined)[] = [];
  /** Key mode: the ids accepts() says yes to; null accepts everyone (password mode). */
  trusted: Set<PeerId> | null = null;
  readonly forgotten: PeerId[] = [];
  readonly established = new Set<PeerId>();
  constructor(readonly sink: ChannelSink) {}
  connect(_now: number, ep: Endpoint, peer?: PeerId): void {
    this.connects.push(ep);
    this.connectPeers.push(peer);
  }
  /** renew() calls: peers whose established session was to be replaced by a new handshake. */
  readonly renewals: PeerId[] = [];
  renew(now: number, ep: Endpoint, peer: PeerId): void {
    if (this.established.has(peer)) this.renewals.push(peer);
    else this.connect(now, ep, peer);
  }
  cancelConnect(): void {}
  send(_now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean {
    if (!this.established.has(peer)) return false;
    this.sent.push({ peer, kind, payload: payload.slice() });
    return true;
  }
  /** sendVia() calls: what went where. */
  readonly sentVia: { peer: PeerId; path: Endpoint; kind: MsgKind; payload: Uint8Array }[] = [];
  /** setPath() calls, latest per peer. */
  readonly paths = new Map<PeerId, Endpoint>();
  sendVia(_now: number, peer: PeerId, path: Endpoint, kind: MsgKind, payload: Uint8Array): boolean {
    if (!this.established.has(peer)) return false;
    this.sentVia.push({ peer, path, kind, payload: payload.slice() });
    return true;
  }
  setPath(peer: PeerId, path: Endpoint): void {
    this.paths.set(peer, path);
  }
  peerKey(peer: PeerId): Uint8Array | null {
    return nameKey(peer);
  }
  peerFromKey(key: Uint8Array): PeerId | null {
    return nameFromKey(key);
  }
  receive(): void {}
  timeout(): void {}
  nextDeadline(): number {
    return Infinity;
  }
  forget(peer: PeerId): void {
    this.forgotten.push(peer);
    this.established.delete(peer);
  }
  accepts(peer: PeerId): boolean {
    return this.trusted === null || this.trusted.has(peer);
  }
  isEstablished(peer: PeerId): boolean {
    return this.established.has(peer);
  }
  // scripting
  up(now: number, peer: PeerId, ep: Endpoint): void {
    this.established.add(peer);
    this.sink.onEstablished(now, peer, ep);
  }
  data(now: number, peer: PeerId, ep: Endpoint, packet: Uint8Array): void {
    this.sink.onMessage(now, peer, ep, MsgKind.Data, packet, ep);
  }
  control(now: number, peer: PeerId, ep: Endpoint, msg: ControlMessage | InfoTemplate | Uint8Array): void {
    const m = msg instanceof Uint8Array || msg.type !== 'info-template' ? msg : fromTemplate(peer, msg);
    this.sink.onMessage(now, peer, ep, MsgKind.Control, m instanceof Uint8Array ? m : encodeControl(m), ep);
  }
  controlsTo(peer: PeerId): ControlMessage[] {
    return this.sent
      .filter((s) => s.peer === peer && s.kind === MsgKind.Control)
      .map((s) => decodeControl(s.payload))
      .flatMap((r) => (r.ok ? [r.msg] : []));
  }
}

/** A minimal IPv4 packet (24 bytes) from `src` to `dst`. */
export function ipv4Packet(dst: string, src = '10.0.0.100'): Uint8Array {
  const p = new Uint8Array(24);
  p[0] = 0x45;
  p[3] = 24;
  p.set(parseIPv4(src)!, 12);
  p.set(parseIPv4(dst)!, 16);
  return p;
}

/**
 * What a peer's NodeInfo says, before it is signed: FakeChannel.control() turns it into a real
 * NodeInfo with the sending peer's record (sim-record-auth.ts), version bootTimeMs * 1024 + seq
 * unless given.
 */
export interface InfoTemplate {
  type: 'info-template';
  bootTimeMs: number;
  seq: number;
  claims: string[];
  peers: { id: string; endpoints: string[]; rttMs?: number }[];
  version?: number;
  candidates?: string[];
  relay?: RelayMode;
}

export function info(bootTimeMs: number, seq: number, claims: string[], peers: { id: string; endpoints: string[] }[] = [], more: Partial<InfoTemplate> = {}): InfoTemplate {
  return { type: 'info-template', bootTimeMs, seq, claims, peers, ...more };
}

/** The record `peer` signs for `t`. */
export function recordFor(peer: PeerId, t: Omit<InfoTemplate, 'type' | 'peers'>): Uint8Array {
  const auth = simRecordAuth(peer);
  const body = encodeRecordBody({
    id: peer, publicKey: auth.publicKey, version: t.version ?? t.bootTimeMs * RECORD_VERSIONS_PER_MS + t.seq, bootTimeMs: t.bootTimeMs,
    candidates: t.candidates ?? [], relay: t.relay ?? 0, claims: t.claims.map((c) => ({ prefix: parsePrefix(c) })), leaving: false,
  });
  return joinRecord(body, auth.sign(body));
}

export function fromTemplate(peer: PeerId, t: InfoTemplate): ControlMessage {
  return { type: 'node-info', bootTimeMs: t.bootTimeMs, seq: t.seq, record: recordFor(peer, t), peers: t.peers };
}

/** The seed endpoint of fakeEngine()'s node. */
export const FAKE_SEED = '192.0.2.9:3210';

/**
 * An engine ('self', claiming 10.0.0.1, seeded with FAKE_SEED, slow timers) on a FakeChannel,
 * started at 0; `config` overrides.
 */
export function fakeEngine(config: Partial<EngineConfig> = {}): { engine: Engine; ch: FakeChannel } {
  let ch!: FakeChannel;
  const engine = createEngine({
    config: { claims: [parsePrefix('10.0.0.1')], bootTimeMs: 1_000_000, seeds: [FAKE_SEED], keepaliveMs: 1_000, peerTimeoutMs: 60_000, ...config },
    makeChannel: (sink) => (ch = new FakeChannel(sink)),
    recordAuth: simRecordAuth('self'),
    send: () => {},
    deliver: () => {},
    onEvent: () => {},
    rng: new SimRng(1),
  });
  engine.start(0);
  return { engine, ch };
}

/**
 * Seed 's' comes up and passes on the records of q, r, t, u (at 198.51.100.10..13:3210), and
 * timers run to 2 000 ms: with fullMeshMax 2 the engine no longer runs a full mesh.
 */
export function growPastFullMesh(engine: Engine, ch: FakeChannel): void {
  ch.up(1, 's', FAKE_SEED);
  ch.control(2, 's', FAKE_SEED, info(500, 1, ['10.0.0.2'], [], { candidates: [FAKE_SEED] }));
  const others = ['q', 'r', 't', 'u'].map((p, i) =>
    recordFor(p, { bootTimeMs: 600, seq: 1, claims: [`10.0.0.${10 + i}`], candidates: [`198.51.100.${10 + i}:3210`] }));
  ch.control(3, 's', FAKE_SEED, { type: 'records', records: others, sync: false });
  // 6 members > 2 × fullMeshMax: no longer a full mesh once the kept set is worked out again
  for (let t = engine.nextDeadline(); t <= 2_000; t = engine.nextDeadline()) engine.handleTimeout(t);
}
