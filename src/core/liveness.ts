// Per-peer timers of kept sessions: failure detection (suspect, probe, timeout), keepalives,
// NodeInfo retransmits and refreshes, RTT probes, and re-handshakes when the channel lost a
// session. A session that is not kept (members.ts: a probe's, a gossip partner's) has one
// timer: it closes once one direction was quiet for SESSION_IDLE_MS.
// What is due and when it is due are computed side by side, with the same expressions
// (x + interval), so float rounding can never leave a deadline due that no timer acts on.
import { SESSION_IDLE_MS, type Timing } from './constants.js';
import type { PeerRecord } from './peers.js';

/** What the timers make the engine do. */
export interface PeerTimerActions {
  /** Silent for peerTimeoutMs: declare it dead. */
  timedOut(rec: PeerRecord, now: number): void;
  /** It just became suspect (for the event). */
  suspected(rec: PeerRecord, now: number): void;
  probe(rec: PeerRecord, now: number): void;
  /** Send our NodeInfo (a retransmit until acknowledged, or a periodic refresh). */
  sendInfo(rec: PeerRecord, now: number, refresh: boolean): void;
  /** We have no NodeInfo of it yet: ask (it may think we already have one). */
  requestInfo(rec: PeerRecord, now: number): void;
  keepalive(rec: PeerRecord, now: number): void;
  /** The channel has no usable session: start a handshake (not a failover). */
  reconnect(rec: PeerRecord, now: number): void;
  isEstablished(rec: PeerRecord): boolean;
  /** Path upkeep (paths.ts); its deadline is the engine's to add. */
  tick(rec: PeerRecord, now: number): void;
  /** A session that is not kept went unused for SESSION_IDLE_MS: close it. */
  idle(rec: PeerRecord, now: number): void;
}

/**
 * When a session that is not kept closes: once one direction was quiet for SESSION_IDLE_MS.
 * Both ends see the same two directions, so they close at about the same moment: an end that
 * only listened or only talked would otherwise keep a session the other end forgot (its
 * packets then dropped as unknown), or one to a peer that died.
 */
export function idleAt(rec: PeerRecord): number {
  return Math.min(rec.lastHeardMs, rec.lastSentMs) + SESSION_IDLE_MS;
}

/** Run what is due for one peer. `infoSeq` is the seq of our current NodeInfo. */
export function runPeerTimers(rec: PeerRecord, now: number, t: Timing, infoSeq: number, act: PeerTimerActions): void {
  if (!rec.kept) {
    if (now >= idleAt(rec)) act.idle(rec, now);
    return;
  }
  if (now >= rec.lastHeardMs + t.peerTimeoutMs) return act.timedOut(rec, now);
  if (now >= rec.lastHeardMs + t.suspectAfterMs) {
    if (rec.state === 'up') {
      rec.state = 'suspect';
      rec.nextProbeAtMs = now;
      act.suspected(rec, now);
    }
    if (now >= rec.nextProbeAtMs) {
      act.probe(rec, now);
      rec.nextProbeAtMs = now + t.probeIntervalMs;
    }
  }
  if (rec.ackedSeq < infoSeq) {
    if (now >= rec.nextInfoAtMs) act.sendInfo(rec, now, false);
  } else if (now >= rec.nextRefreshAtMs) {
    act.sendInfo(rec, now, true);
  }
  if (rec.infoSeq < 0 && now >= rec.nextInfoRequestAtMs) {
    act.requestInfo(rec, now);
    rec.nextInfoRequestAtMs = now + t.infoRetransmitMs;
  }
  if (now >= rec.nextRttProbeAtMs) {
    act.probe(rec, now);
    rec.nextRttProbeAtMs = now + t.rttProbeIntervalMs;
  }
  if (now >= rec.lastSentMs + t.keepaliveMs) act.keepalive(rec, now);
  if (now >= rec.nextReconnectAtMs && !act.isEstablished(rec)) {
    act.reconnect(rec, now);
    rec.nextReconnectAtMs = now + t.reconnectMinMs;
  }
  act.tick(rec, now);
}

/** When runPeerTimers() next has something to do for this peer. */
export function peerDeadline(rec: PeerRecord, t: Timing, infoSeq: number, established: boolean): number {
  if (!rec.kept) return idleAt(rec);
  return Math.min(
    rec.lastHeardMs + t.peerTimeoutMs,
    rec.state === 'suspect' ? rec.nextProbeAtMs : rec.lastHeardMs + t.suspectAfterMs,
    rec.ackedSeq < infoSeq ? rec.nextInfoAtMs : rec.nextRefreshAtMs,
    rec.nextRttProbeAtMs,
    rec.infoSeq < 0 ? rec.nextInfoRequestAtMs : Infinity,
    rec.lastSentMs + t.keepaliveMs,
    established ? Infinity : rec.nextReconnectAtMs,
  );
}

/** Leaving: only deaths still matter (the process may route its last replies until it exits). */
export function isTimedOut(rec: PeerRecord, now: number, t: Timing): boolean {
  return rec.kept && now >= rec.lastHeardMs + t.peerTimeoutMs;
}

/**
 * Wake-from-sleep guard. With peers, the engine always asks to run within keepaliveMs, so a
 * longer gap between two calls is time the process did not run; that part is taken off every
 * peer's silence. Returns the stalled time (0 if none).
 */
export function forgiveStall(peers: Iterable<PeerRecord>, gapMs: number, now: number, t: Timing): number {
  const stalledMs = gapMs - t.keepaliveMs;
  if (stalledMs <= 0) return 0;
  for (const rec of peers) rec.lastHeardMs = Math.min(now, rec.lastHeardMs + stalledMs);
  return stalledMs;
}
