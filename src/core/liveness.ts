// Per-peer timers of kept sessions: failure detection (suspect, probe, timeout), keepalives,
// NodeInfo retransmits and refreshes, RTT probes, and re-handshakes when the channel lost a
// session. A session that is not kept (members.ts: a probe's, a gossip partner's) has one
// timer: it closes once one direction was quiet for SESSION_IDLE_MS.
// What is due and when it is next due are computed by one function from the same expressions
// (x + interval), so float rounding can never leave a deadline due that no timer acts on. The
// engine keeps each peer in a deadline heap (timer-heap.ts) at the time this returns.
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
  /** Path upkeep (paths.ts): runs what is due and returns when it next has work. */
  tick(rec: PeerRecord, now: number): number;
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

/** When `rec` is dead unless heard from before. */
export function deathAt(rec: PeerRecord, t: Timing): number {
  return rec.lastHeardMs + t.peerTimeoutMs;
}

/**
 * Run what is due for one peer and return when it next has something due. `infoSeq` is the
 * seq of our current NodeInfo. Every timer is checked and its next time taken in one place,
 * after its action ran; anything else that may bring a time forward wakes the peer (engine.ts).
 * Peers keep a keepalive deadline, so each runs at least once per keepaliveMs: a session the
 * channel lost meanwhile is noticed within that.
 */
export function runPeerTimers(rec: PeerRecord, now: number, t: Timing, infoSeq: number, act: PeerTimerActions): number {
  if (!rec.kept) {
    const idle = idleAt(rec);
    if (now < idle) return idle;
    act.idle(rec, now);
    return Infinity;
  }
  const dies = deathAt(rec, t);
  if (now >= dies) {
    act.timedOut(rec, now);
    return Infinity;
  }
  let next = dies;
  const suspectAt = rec.lastHeardMs + t.suspectAfterMs;
  if (now >= suspectAt) {
    if (rec.state === 'up') {
      rec.state = 'suspect';
      rec.nextProbeAtMs = now;
      act.suspected(rec, now);
    }
    if (now >= rec.nextProbeAtMs) {
      act.probe(rec, now);
      rec.nextProbeAtMs = now + t.probeIntervalMs;
    }
    next = Math.min(next, rec.nextProbeAtMs);
  } else {
    next = Math.min(next, suspectAt);
  }
  if (rec.ackedSeq < infoSeq) {
    if (now >= rec.nextInfoAtMs) act.sendInfo(rec, now, false);
    next = Math.min(next, rec.nextInfoAtMs);
  } else {
    if (now >= rec.nextRefreshAtMs) act.sendInfo(rec, now, true);
    next = Math.min(next, rec.nextRefreshAtMs);
  }
  if (rec.infoSeq < 0) {
    if (now >= rec.nextInfoRequestAtMs) {
      act.requestInfo(rec, now);
      rec.nextInfoRequestAtMs = now + t.infoRetransmitMs;
    }
    next = Math.min(next, rec.nextInfoRequestAtMs);
  }
  if (now >= rec.nextRttProbeAtMs) {
    act.probe(rec, now);
    rec.nextRttProbeAtMs = now + t.rttProbeIntervalMs;
  }
  next = Math.min(next, rec.nextRttProbeAtMs);
  if (now >= rec.lastSentMs + t.keepaliveMs) act.keepalive(rec, now);
  if (!act.isEstablished(rec)) {
    if (now >= rec.nextReconnectAtMs) {
      act.reconnect(rec, now);
      rec.nextReconnectAtMs = now + t.reconnectMinMs;
    }
    next = Math.min(next, rec.nextReconnectAtMs);
  }
  next = Math.min(next, act.tick(rec, now));
  // last: everything above may have sent something, which puts the keepalive off
  return Math.min(next, rec.lastSentMs + t.keepaliveMs);
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
