// The stable JSON of `hacloud status --json` (documented field by field in docs/status-json.md).
// Built from the engine's snapshot plus what only the daemon knows (version, device, listen
// address). Pure: the wall clock comes in as DaemonInfo.nowWallMs. Fields may be added in
// later versions; renaming or removing one, or changing its meaning, bumps `format`.
import type { EngineStatus, MembershipStatus, OwnClaimStatus, PathView, PeerStatus, RouteStatus, TrafficStatus } from '../core/status.js';

export const STATUS_JSON_FORMAT = 1;

/** What the daemon adds to the engine's snapshot. */
export interface DaemonInfo {
  version: string;
  /** The TUN interface name (e.g. "hacloud0"). */
  device: string;
  /** Interface addresses with their prefix length, e.g. ["10.0.0.1/24"]. */
  addresses: string[];
  /** The local UDP endpoint, e.g. "*:3210" (all addresses) or "10.1.2.3:3210". */
  listen: string;
  controlSocket: string;
  /** Wall clock (epoch ms) at which the engine snapshot was taken. */
  nowWallMs: number;
  /** The UDP socket's own counters and the kernel's drops for it (absent: not known). */
  socket?: SocketJson;
}

/** The UDP socket: what it sent, received and dropped (null: this socket does not count it). */
export interface SocketJson {
  /** "native" (hacloud's batched socket) or "dgram" (Node's, the fallback). */
  implementation: string;
  sent: number | null;
  sendDrops: number | null;
  received: number | null;
  receiveDrops: number | null;
  errors: number | null;
  /** Datagrams for our port the kernel dropped because the receive buffer was full (/proc/net/udp). */
  kernelReceiveDrops: number | null;
}

export interface TrafficJson {
  bytes: number;
  packets: number;
}

export interface NodeJson {
  id: string;
  version: string;
  device: string;
  addresses: string[];
  listen: string;
  controlSocket: string;
  /** Endpoints at which this node found itself (it never connects to them). */
  selfEndpoints: string[];
  /** Prefixes this node claims. */
  claims: string[];
  uptimeMs: number;
  /** ISO 8601 wall-clock start time; the uptime tiebreak compares these. */
  bootTime: string;
  /** The node is shutting down and has told its peers. */
  leaving: boolean;
  keepaliveMs: number;
  peerTimeoutMs: number;
  /** Whether this node relays for others: "off" (--no-relay), "on" (default), "preferred" (relay: true). */
  relay: string;
  /** Where this node may be reachable, as announced to its peers: static, reflexive (seen by a peer), host. */
  candidates: CandidateJson[];
}

export interface CandidateJson {
  endpoint: string;
  /** "static" (--advertise-address), "reflexive" (what a peer sees us at) or "host" (an interface address). */
  kind: string;
  /** Reflexive: the peer that reported it. */
  reporter?: string;
}

/** A path to a peer: straight to an endpoint, or through a relay peer. */
export type PathJson = { kind: 'direct'; endpoint: string } | { kind: 'relay'; via: string };

export interface PathCandidateJson {
  path: PathJson;
  /** "active", "up" (heard within the peer timeout), "trying" (probed, no answer yet), "failed" or "idle". */
  state: string;
  rttMs: number | null;
  /** null: never heard on it. */
  lastHeardAgoMs: number | null;
}

export interface PeerJson {
  id: string;
  /** Where packets to it go now: its endpoint, or "relay:<via>/<peer>" when relayed. */
  endpoint: string;
  /** The active path: direct to an endpoint, or via a relay peer. */
  path: PathJson;
  /** The active path and the others tried, heard or known, with their state and RTT. */
  candidates: PathCandidateJson[];
  /** Whether it relays for others: "off", "on" or "preferred". */
  relays: string;
  /** As its relay: bytes and packets this node forwarded from it (rx) and to it (tx). */
  relayed: { rx: TrafficJson; tx: TrafficJson };
  /** Every endpoint it was seen at while connected. */
  endpoints: string[];
  /** "up" or "suspect" (silent, being probed, still routable until the peer timeout). */
  state: string;
  /** An encrypted session is established and can carry data. */
  session: boolean;
  /** Kept with keepalives and the peer timeout (every peer in a small mesh); else closed when idle. */
  kept: boolean;
  connectedForMs: number;
  lastSeenAgoMs: number;
  rttMs: number | null;
  /** Age of the current session keys (time since the last handshake or rekey). */
  handshakeAgoMs: number | null;
  /** Cipher of the current session: "aes256", "chacha20" or "plain"; null without a session. */
  algorithm: string | null;
  /** Its announced start time (ISO 8601); null until it told us. */
  bootTime: string | null;
  uptimeMs: number | null;
  /** Its claims this node accepts (routes to it, and the source addresses it may send from). */
  claims: string[];
  /** Claims it announced that this node ignores, with the reason (claim rights, route safety, the cap). */
  deniedClaims: DeniedClaimJson[];
  /** IP packets received from / sent to it through the tunnel. */
  rx: TrafficJson;
  tx: TrafficJson;
}

export interface DeniedClaimJson {
  prefix: string;
  /** no-right | outside-allowed-routes | too-broad | limit */
  reason: string;
}

export interface ConnectingJson {
  /** The endpoint, or "relay:<via>/<peer>" for a handshake through a relay. */
  endpoint: string;
  /** "seed" (configured with --connect), "learned" (from a peer list, or a punch) or "relayed". */
  kind: string;
  /** The peer last seen at this endpoint, if any. */
  peer: string | null;
  attempts: number;
  nextAttemptInMs: number;
}

export interface ClaimantJson {
  id: string;
  self: boolean;
  active: boolean;
  bootTime: string;
  uptimeMs: number;
  /** "up" (takes part in the choice), "unhealthy" (withdrawn by its health check) or "drained". */
  health: string;
  /** 0..255, higher preferred among claimants of this prefix. */
  priority: number;
  /** Ready to take the prefix from a lower-priority claimant that serves it. */
  preempt: boolean;
  /** > 0: it serves the prefix since this epoch (the most recent takeover is the highest); 0: standby. */
  epoch: number;
}

/** One of this node's own claims with its options and run-time state. */
export interface OwnClaimJson {
  prefix: string;
  /** "active" (this node serves it), "standby" or "withdrawn". */
  role: string;
  /** "up", "unhealthy" or "drained". */
  state: string;
  priority: number;
  preempt: boolean;
  preemptDelayMs: number;
  epoch: number;
  drained: boolean;
  /** Its health check (healthy, rise, fall, checks, lastOk, lastDetail); null when it has none. */
  health: OwnClaimStatus['health'];
}

/** A recent HA event, as the event hooks get it. */
export interface EventJson {
  time: string;
  agoMs: number;
  /** peer-up | peer-down | claim-active | claim-standby | claim-withdrawn | failover */
  event: string;
  prefix: string | null;
  peer: string | null;
  from: string | null;
  to: string | null;
  reason: string | null;
  gapMs: number | null;
}

export interface RouteJson {
  prefix: string;
  family: 4 | 6;
  /** Id of the claimant packets for this prefix go to; null when none is reachable. */
  active: string | null;
  activeIsSelf: boolean;
  /** Why the active claimant beats the other claimants of this prefix. */
  reason: string;
  /** Preferred first. */
  claimants: ClaimantJson[];
}

export interface FailoverJson {
  /** ISO 8601 wall-clock time of the switch. */
  time: string;
  agoMs: number;
  prefix: string;
  from: string | null;
  to: string | null;
  /** timeout | leave | replaced | restart | health | drain | preempt | merge */
  cause: string;
  /** How long the old claimant had been silent when this node switched. */
  gapMs: number;
}

export interface StatusJson {
  format: typeof STATUS_JSON_FORMAT;
  /** ISO 8601 wall-clock time of the snapshot. */
  time: string;
  node: NodeJson;
  peers: PeerJson[];
  connecting: ConnectingJson[];
  routes: RouteJson[];
  failovers: {
    total: number;
    /** Newest first; a bounded history. */
    recent: FailoverJson[];
  };
  /** This node's claims in detail (node.claims lists their prefixes). */
  claims: OwnClaimJson[];
  /** Recent HA events, newest first; a bounded history. */
  events: EventJson[];
  drops: {
    total: number;
    byReason: Record<string, number>;
  };
  /** Handshakes this node completed (first contacts, rekeys, re-handshakes after restarts). */
  handshakes: { total: number | null };
  /** Sums over the peers listed. */
  traffic: {
    rx: TrafficJson;
    tx: TrafficJson;
  };
  /** Relaying for others: the mode, the per-pair limit, and what this node forwarded. */
  relay: {
    mode: string;
    limit: { packetsPerSec: number; bytesPerSec: number };
    forwarded: TrafficJson;
    /** (origin, destination) pairs whose limits are tracked. */
    pairs: number;
  };
  /** The members this node knows (node records) and how it watches them. */
  members: MembershipStatus;
  /** The UDP socket's counters; null when the daemon did not say (tests, older builds). */
  socket: SocketJson | null;
}

export function buildStatusJson(info: DaemonInfo, engine: EngineStatus): StatusJson {
  const members = { ...engine.members };
  const now = info.nowWallMs;
  const peers = engine.peers.map((p) => peerJson(p, now));
  const byReason: Record<string, number> = { ...engine.drops };
  return {
    format: STATUS_JSON_FORMAT,
    time: iso(now),
    node: {
      id: engine.id,
      version: info.version,
      device: info.device,
      addresses: [...info.addresses],
      listen: info.listen,
      controlSocket: info.controlSocket,
      selfEndpoints: [...engine.selfEndpoints],
      claims: [...engine.claims],
      uptimeMs: ms(engine.uptimeMs),
      bootTime: iso(engine.bootTimeMs),
      leaving: engine.leaving,
      keepaliveMs: engine.timing.keepaliveMs,
      peerTimeoutMs: engine.timing.peerTimeoutMs,
      relay: engine.relay.mode,
      candidates: engine.candidates.map((c) => ({ endpoint: c.endpoint, kind: c.kind, ...(c.reporter ? { reporter: c.reporter } : {}) })),
    },
    peers,
    connecting: engine.connecting.map((t) => ({
      endpoint: t.endpoint,
      kind: t.kind,
      peer: t.peer,
      attempts: t.attempts,
      nextAttemptInMs: ms(t.nextAttemptInMs),
    })),
    routes: engine.routes.map((r) => routeJson(r, now)),
    handshakes: { total: engine.handshakesTotal },
    failovers: {
      total: engine.failoversTotal,
      recent: engine.failovers.map((f) => ({
        time: iso(now - f.agoMs),
        agoMs: ms(f.agoMs),
        prefix: f.prefix,
        from: f.from,
        to: f.to,
        cause: f.cause,
        gapMs: ms(f.gapMs),
      })),
    },
    claims: engine.ownClaims.map(ownClaimJson),
    events: engine.events.map((e) => ({
      time: iso(now - e.agoMs),
      agoMs: ms(e.agoMs),
      event: e.event,
      prefix: e.prefix ?? null,
      peer: e.peer ?? null,
      from: e.from ?? null,
      to: e.to ?? null,
      reason: e.reason ?? null,
      gapMs: e.gapMs === undefined ? null : ms(e.gapMs),
    })),
    drops: {
      total: Object.values(byReason).reduce((a, b) => a + b, 0),
      byReason,
    },
    traffic: {
      rx: sumTraffic(peers.map((p) => p.rx)),
      tx: sumTraffic(peers.map((p) => p.tx)),
    },
    relay: {
      mode: engine.relay.mode,
      limit: { ...engine.relay.limit },
      forwarded: traffic(engine.relay.forwarded),
      pairs: engine.relay.pairs,
    },
    members,
    socket: info.socket ? { ...info.socket } : null,
  };
}

function peerJson(p: PeerStatus, now: number): PeerJson {
  return {
    id: p.id,
    endpoint: p.endpoint,
    path: pathJson(p.path),
    candidates: p.candidates.map((c) => ({
      path: pathJson(c.path),
      state: c.state,
      rttMs: c.rttMs === null ? null : Math.round(c.rttMs * 1000) / 1000,
      lastHeardAgoMs: c.lastHeardAgoMs === null ? null : ms(c.lastHeardAgoMs),
    })),
    relays: p.relays,
    relayed: { rx: traffic(p.relayed.rx), tx: traffic(p.relayed.tx) },
    endpoints: [...p.endpoints],
    state: p.state,
    session: p.session,
    kept: p.kept,
    connectedForMs: ms(p.connectedForMs),
    lastSeenAgoMs: ms(p.lastSeenAgoMs),
    rttMs: p.rttMs === null ? null : Math.round(p.rttMs * 1000) / 1000,
    handshakeAgoMs: p.handshakeAgoMs === null ? null : ms(p.handshakeAgoMs),
    algorithm: p.algorithm,
    bootTime: p.bootTimeMs === null ? null : iso(p.bootTimeMs),
    uptimeMs: p.bootTimeMs === null ? null : Math.max(0, ms(now - p.bootTimeMs)),
    claims: [...p.claims],
    deniedClaims: p.deniedClaims.map((d) => ({ prefix: d.prefix, reason: d.reason })),
    rx: traffic(p.rx),
    tx: traffic(p.tx),
  };
}

function routeJson(r: RouteStatus, now: number): RouteJson {
  return {
    prefix: r.prefix,
    family: r.family,
    active: r.active,
    activeIsSelf: r.activeIsSelf,
    reason: r.reason,
    claimants: r.claimants.map((c) => ({
      id: c.id,
      self: c.self,
      active: c.active,
      bootTime: iso(c.bootTimeMs),
      // Boot times come from each node's own clock: a skewed clock must not show a negative uptime.
      uptimeMs: Math.max(0, ms(now - c.bootTimeMs)),
      health: c.state,
      priority: c.priority,
      preempt: c.preempt,
      epoch: c.epoch,
    })),
  };
}

function ownClaimJson(c: OwnClaimStatus): OwnClaimJson {
  return {
    prefix: c.prefix, role: c.role, state: c.state, priority: c.priority, preempt: c.preempt,
    preemptDelayMs: c.preemptDelayMs, epoch: c.epoch, drained: c.drained, health: c.health ? { ...c.health } : null,
  };
}

function pathJson(p: PathView): PathJson {
  return p.kind === 'direct' ? { kind: 'direct', endpoint: p.endpoint } : { kind: 'relay', via: p.via };
}

function traffic(t: TrafficStatus): TrafficJson {
  return { bytes: t.bytes, packets: t.packets };
}

function sumTraffic(list: TrafficJson[]): TrafficJson {
  const out = { bytes: 0, packets: 0 };
  for (const t of list) {
    out.bytes += t.bytes;
    out.packets += t.packets;
  }
  return out;
}

function ms(value: number): number {
  return Math.round(value);
}

function iso(epochMs: number): string {
  const d = new Date(Math.round(epochMs));
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}
