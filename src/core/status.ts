// The engine's status snapshot: plain JSON-able data for `hacloud status`, metrics and the
// stats file, and the function that builds it from the engine's tables. Times are durations relative to the snapshot ("...Ago", "...ForMs") or wall
// clock where the name says so.
import { formatPrefix, type Prefix } from '../wire/addr.js';
import type { DeniedClaim } from './claim-policy.js';
import type { ClaimRecord, RouteEntry } from './claims.js';
import type { Timing } from './constants.js';
import type { HaEvent, RouteChangeCause } from './events.js';
import type { TargetStatus } from './membership.js';
import type { OwnClaim, OwnClaimRole } from './own-claims.js';
import type { OwnCandidate } from './own-candidates.js';
import { parsePath, type PathKey } from './path.js';
import type { PeerRecord, PeerState } from './peers.js';
import type { RelayLimit } from './relay-limit.js';
import type { RelayMode } from '../wire/control.js';
import { activeReason, type ClaimState } from './routing.js';
import type { DropReason, Endpoint, PeerId } from './types.js';

export interface TrafficStatus {
  packets: number;
  bytes: number;
}

/** A peer's path as status shows it. */
export type PathView = { kind: 'direct'; endpoint: Endpoint } | { kind: 'relay'; via: PeerId };

/**
 * A path to a peer: 'active' (in use), 'up' (heard on it within the peer timeout), 'trying'
 * (probed within the last second, no answer yet), 'failed' (probed, never answered since),
 * 'idle' (known, not tried lately).
 */
export type PathState = 'active' | 'up' | 'trying' | 'failed' | 'idle';

export interface PathStatus {
  path: PathView;
  /** Its key: the endpoint, or "relay:<via>/<peer>". */
  key: PathKey;
  state: PathState;
  rttMs: number | null;
  lastHeardAgoMs: number | null;
}

export interface PeerStatus {
  id: PeerId;
  /** The active path's key (the endpoint when direct). */
  endpoint: Endpoint;
  path: PathView;
  /** Its active path and every other path tried, heard or known (bounded). */
  candidates: PathStatus[];
  /** Whether it relays for others (its NodeInfo). */
  relays: 'off' | 'on' | 'preferred';
  /** As its relay: what we forwarded from it (rx) and to it (tx), in bytes and packets. */
  relayed: { rx: TrafficStatus; tx: TrafficStatus };
  endpoints: Endpoint[];
  state: PeerState;
  /** The channel has a session that can carry data right now. */
  session: boolean;
  /** We keep this session (keepalives, the peer timeout); else it closes when idle (members). */
  kept: boolean;
  /** Age of the current session keys (time since its handshake); null if unknown. */
  handshakeAgoMs: number | null;
  /** The session's cipher (e.g. 'aes256'); null if unknown. */
  algorithm: string | null;
  connectedForMs: number;
  lastSeenAgoMs: number;
  /** Smoothed probe round-trip time. */
  rttMs: number | null;
  /** Its own wall-clock start time (epoch ms); null until its first NodeInfo. */
  bootTimeMs: number | null;
  /** Its accepted claims. */
  claims: string[];
  /** Claims of its latest NodeInfo this node ignores, and why (bounded). */
  deniedClaims: DeniedClaim[];
  /** Data packets (IP packets through the tunnel). */
  rx: TrafficStatus;
  tx: TrafficStatus;
}

export interface ClaimantStatus {
  id: PeerId;
  self: boolean;
  bootTimeMs: number;
  active: boolean;
  priority: number;
  /** Ready to take the prefix from a lower-priority claimant that serves it. */
  preempt: boolean;
  /** 'up' takes part in the choice; 'unhealthy' and 'drained' are withdrawn. */
  state: ClaimState;
  /** > 0: it announced serving the prefix since this epoch; 0: standby. */
  epoch: number;
}

/** One of this node's own claims. */
export interface OwnClaimStatus {
  prefix: string;
  priority: number;
  preempt: boolean;
  preemptDelayMs: number;
  state: ClaimState;
  /** 'active' (we serve it), 'standby' or 'withdrawn' (health or drain). */
  role: OwnClaimRole;
  epoch: number;
  drained: boolean;
  /** Its health check; null when it has none. */
  health: {
    healthy: boolean;
    rise: number;
    fall: number;
    checks: number;
    /** The latest check's result and its one-line detail (null before the first). */
    lastOk: boolean | null;
    lastDetail: string;
  } | null;
}

/** A recent HA event (what the event hooks get), newest first in status. */
export interface HaEventRecord {
  atMs: number;
  event: HaEvent;
  prefix?: string;
  peer?: PeerId;
  from?: PeerId;
  to?: PeerId;
  reason?: string;
  gapMs?: number;
}

export interface HaEventStatus extends Omit<HaEventRecord, 'atMs'> {
  agoMs: number;
}

export interface RouteStatus {
  prefix: string;
  family: 4 | 6;
  active: PeerId | null;
  activeIsSelf: boolean;
  /** Why the active claimant beats the others of this prefix (a more specific prefix beats all of them). */
  reason: string;
  /** Preferred first. */
  claimants: ClaimantStatus[];
}

export interface FailoverRecord {
  /** Monotonic time of the switch. */
  atMs: number;
  prefix: string;
  from: PeerId | null;
  to: PeerId | null;
  cause: RouteChangeCause;
  /** How long the old claimant had been silent when we switched: the outage this node saw. */
  gapMs: number;
}

export interface FailoverStatus extends Omit<FailoverRecord, 'atMs'> {
  agoMs: number;
}

export interface EngineStatus {
  id: PeerId;
  bootTimeMs: number;
  uptimeMs: number;
  claims: string[];
  /** Our claims with their options and run-time state. */
  ownClaims: OwnClaimStatus[];
  leaving: boolean;
  timing: Timing;
  peers: PeerStatus[];
  /** Endpoints we want to reach but have not (seeds, gossip, lost peers). */
  connecting: TargetStatus[];
  selfEndpoints: Endpoint[];
  routes: RouteStatus[];
  /** Newest first. */
  failovers: FailoverStatus[];
  failoversTotal: number;
  /** Recent HA events, newest first. */
  events: HaEventStatus[];
  /** Handshakes completed by the channel (null: the channel does not count them). */
  handshakesTotal: number | null;
  drops: Record<DropReason, number>;
  /** Our own candidate endpoints (announced to peers), with where each came from. */
  candidates: OwnCandidate[];
  /** Relaying for others: our mode, the per-pair limit, what we forwarded. */
  relay: {
    mode: 'off' | 'on' | 'preferred';
    limit: RelayLimit;
    forwarded: TrafficStatus;
    /** (origin, destination) pairs whose limits we track. */
    pairs: number;
  };
  /** The members we know (records) and how we watch them (members.ts, swim.ts). */
  members: MembershipStatus;
}

export interface MembershipStatus {
  /** Every member is kept (a small mesh), or only the peers we use (SWIM watches the rest). */
  fullMesh: boolean;
  /** Node records held, ours included. */
  records: number;
  alive: number;
  suspect: number;
  dead: number;
  /** Sessions open, and those we keep (keepalives, the peer timeout). */
  sessions: number;
  kept: number;
  /** Signature checks done so far (one per record version). */
  verifications: number;
}

const RELAY_MODE_NAMES = ['off', 'on', 'preferred'] as const;

export function relayModeName(mode: RelayMode): 'off' | 'on' | 'preferred' {
  return RELAY_MODE_NAMES[mode];
}

/** A path key as status shows it. */
export function pathView(key: PathKey): PathView {
  const p = parsePath(key);
  return p?.kind === 'relay' ? { kind: 'relay', via: p.via } : { kind: 'direct', endpoint: key };
}

/** How long a probe counts as 'trying' before its path is 'failed'. */
const TRYING_MS = 1_000;

function peerPaths(now: number, rec: PeerRecord, peerTimeoutMs: number): PathStatus[] {
  const out: PathStatus[] = [{
    path: pathView(rec.endpoint), key: rec.endpoint, state: 'active', rttMs: rec.rttMs, lastHeardAgoMs: now - rec.pathHeardMs,
  }];
  const seen = new Set([rec.endpoint]);
  for (const c of [...rec.paths.values()].reverse()) {
    if (seen.has(c.key)) continue;
    seen.add(c.key);
    let state: PathState = 'idle';
    if (now - c.lastHeardMs < peerTimeoutMs) state = 'up';
    else if (c.lastProbeMs > c.lastHeardMs) state = now - c.lastProbeMs < TRYING_MS ? 'trying' : 'failed';
    out.push({
      path: pathView(c.key), key: c.key, state, rttMs: c.rttMs,
      lastHeardAgoMs: c.lastHeardMs === -Infinity ? null : now - c.lastHeardMs,
    });
  }
  for (const ep of [...rec.endpoints, ...rec.candidates]) {
    if (seen.has(ep)) continue;
    seen.add(ep);
    out.push({ path: pathView(ep), key: ep, state: 'idle', rttMs: null, lastHeardAgoMs: null });
  }
  return out;
}

/** What the engine hands to buildStatus(). */
export interface StatusInput {
  id: PeerId;
  bootTimeMs: number;
  startedAtMs: number;
  claims: readonly OwnClaim[];
  /** Our claims as last announced (same order as `claims`). */
  announced: readonly ClaimRecord[];
  leaving: boolean;
  timing: Timing;
  peers: Iterable<PeerRecord>;
  hasSession(id: PeerId): boolean;
  sessionInfo(id: PeerId): { establishedAt: number; algorithm: string } | undefined;
  handshakes: number | null;
  connecting: TargetStatus[];
  selfEndpoints: Endpoint[];
  routes: readonly RouteEntry[];
  failovers: readonly FailoverRecord[];
  failoversTotal: number;
  haEvents: readonly HaEventRecord[];
  drops: Record<DropReason, number>;
  candidates: OwnCandidate[];
  relay: EngineStatus['relay'];
  members: MembershipStatus;
}

function sessionFields(now: number, info: { establishedAt: number; algorithm: string } | undefined) {
  return { handshakeAgoMs: info ? now - info.establishedAt : null, algorithm: info?.algorithm ?? null };
}

export function buildStatus(now: number, s: StatusInput): EngineStatus {
  const peers = [...s.peers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    id: s.id,
    bootTimeMs: s.bootTimeMs,
    uptimeMs: now - s.startedAtMs,
    claims: s.claims.map((c) => c.key),
    ownClaims: s.claims.map((c, i) => ownClaimStatus(c, s.announced[i], s.routes, s.id)),
    leaving: s.leaving,
    timing: { ...s.timing },
    peers: peers.map((p) => ({
      id: p.id,
      endpoint: p.endpoint,
      path: pathView(p.endpoint),
      candidates: peerPaths(now, p, s.timing.peerTimeoutMs),
      relays: relayModeName(p.relayMode),
      relayed: {
        rx: { packets: p.relayed.rxPackets, bytes: p.relayed.rxBytes },
        tx: { packets: p.relayed.txPackets, bytes: p.relayed.txBytes },
      },
      endpoints: [...p.endpoints],
      state: p.state,
      session: s.hasSession(p.id),
      kept: p.kept,
      ...sessionFields(now, s.sessionInfo(p.id)),
      connectedForMs: now - p.upSinceMs,
      lastSeenAgoMs: now - p.lastHeardMs,
      rttMs: p.rttMs,
      bootTimeMs: p.member.bootTimeMs,
      claims: p.member.claims.map(formatPrefix),
      deniedClaims: p.member.deniedClaims.map((d) => ({ ...d })),
      rx: { packets: p.rxPackets, bytes: p.rxBytes },
      tx: { packets: p.txPackets, bytes: p.txBytes },
    })),
    connecting: s.connecting,
    selfEndpoints: s.selfEndpoints,
    routes: s.routes.map((e) => ({
      prefix: e.text,
      family: e.prefix.family,
      active: e.active,
      activeIsSelf: e.active === s.id,
      reason: activeReason(e.claimants, e.activeClaimant),
      claimants: e.claimants.map((c) => ({
        id: c.peer, self: c.peer === s.id, bootTimeMs: c.bootTimeMs, active: c.peer === e.active,
        priority: c.priority, preempt: c.preempt, state: c.state, epoch: c.epoch,
      })),
    })),
    failovers: s.failovers.map(({ atMs, ...f }) => ({ ...f, agoMs: now - atMs })),
    failoversTotal: s.failoversTotal,
    events: s.haEvents.map(({ atMs, ...e }) => ({ ...e, agoMs: now - atMs })),
    handshakesTotal: s.handshakes,
    drops: s.drops,
    candidates: s.candidates,
    relay: s.relay,
    members: s.members,
  };
}

function ownClaimStatus(c: OwnClaim, announced: ClaimRecord | undefined, routes: readonly RouteEntry[], self: PeerId): OwnClaimStatus {
  const state = c.state;
  const active = routes.find((e) => e.text === c.key)?.active === self;
  return {
    prefix: c.key,
    priority: c.spec.priority,
    preempt: c.spec.preempt,
    preemptDelayMs: c.spec.preemptDelayMs,
    state,
    role: state !== 'up' ? 'withdrawn' : active ? 'active' : 'standby',
    epoch: announced?.epoch ?? 0,
    drained: c.drained,
    health: c.gate && c.spec.health
      ? {
        healthy: c.gate.healthy, rise: c.spec.health.rise, fall: c.spec.health.fall, checks: c.gate.checks,
        lastOk: c.gate.lastOk, lastDetail: c.gate.lastDetail,
      }
      : null,
  };
}
