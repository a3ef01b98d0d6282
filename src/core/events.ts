// What the engine reports to the daemon (logs, status, metrics, kernel routes). Events are
// plain data; times are the caller's monotonic milliseconds unless the name says wall clock.
import type { Prefix } from '../wire/addr.js';
import type { ClaimDenial } from './claim-policy.js';
import type { DropReason, Endpoint, PeerId } from './types.js';

export type PeerDownReason =
  /** Silent for peerTimeoutMs. */
  | 'timeout'
  /** It said goodbye (graceful stop). */
  | 'leave'
  /** A different identity completed a handshake from its endpoint: it restarted with a fresh identity. */
  | 'replaced'
  /**
   * The mesh's failure detector declared it dead (SWIM: probes and indirect probes got no
   * answer and nobody refuted the suspicion). Only in meshes larger than full-mesh-max, for
   * members whose claims we routed without a session of our own.
   */
  | 'failed';

/** Why the active claimant of a prefix changed. */
export type RouteChangeCause =
  | PeerDownReason
  /** The claimant restarted (newer boot time) and lost its seniority. */
  | 'restart'
  /** The active claimant's health check withdrew its claim. */
  | 'health'
  /** The active claimant was drained (`hacloud drain`). */
  | 'drain'
  /** A claimant with a higher priority and preempt took the prefix over. */
  | 'preempt'
  /**
   * Another claimant announced a newer serving epoch while we still heard the old one: it
   * found the old one cut off (from it, not from us), or two sides of a healed partition met
   * and the later takeover stays. (If the old one is silent here too, the cause is 'timeout'.)
   */
  | 'takeover'
  /** Claims appeared or were withdrawn while everyone stayed up (joins, config). */
  | 'claims';

/** The HA events operators hook scripts to (and status lists). */
export const HA_EVENTS = ['peer-up', 'peer-down', 'claim-active', 'claim-standby', 'claim-withdrawn', 'failover'] as const;
export type HaEvent = (typeof HA_EVENTS)[number];

/** Why one of our own claims is withdrawn. */
export type WithdrawReason = 'health' | 'drain';

export type EngineEvent =
  | { type: 'started'; id: PeerId; bootTimeMs: number }
  /**
   * One of OUR claims changed role: 'active' (this node serves the prefix now), 'standby'
   * (another claimant does), 'withdrawn' (its health check failed, or it was drained).
   */
  | { type: 'claim-state'; prefix: string; role: 'active' | 'standby' | 'withdrawn'; reason?: WithdrawReason; detail?: string }
  | { type: 'peer-up'; peer: PeerId; endpoint: Endpoint }
  | { type: 'peer-down'; peer: PeerId; reason: PeerDownReason; silentMs: number; replacedBy?: PeerId }
  | { type: 'peer-restart'; peer: PeerId; bootTimeMs: number; previousBootTimeMs: number }
  | { type: 'peer-roam'; peer: PeerId; from: Endpoint; to: Endpoint }
  | { type: 'peer-suspect'; peer: PeerId; silentMs: number }
  | { type: 'peer-recovered'; peer: PeerId; silentMs: number }
  | { type: 'peer-claims'; peer: PeerId; claims: string[] }
  /** A claim of `peer` we do not accept (once per peer, prefix and reason; every one is counted). */
  | { type: 'claim-denied'; peer: PeerId; prefix: string; reason: ClaimDenial }
  /** `peer` announced a boot time far ahead of our clock; its claims rank with `usedMs`. */
  | { type: 'boot-time-clamped'; peer: PeerId; announcedMs: number; usedMs: number }
  | {
      type: 'route-change';
      prefix: Prefix;
      prefixText: string;
      /** Previous active claimant (null: the prefix was unknown). */
      from: PeerId | null;
      /** New active claimant (null: nobody claims the prefix any more). */
      to: PeerId | null;
      /** `to` is this node: packets for the prefix are delivered locally. */
      toSelf: boolean;
      cause: RouteChangeCause;
      /** How long the prefix had no working claimant as this node saw it (0: a planned move). */
      gapMs: number;
    }
  | { type: 'self-detected'; endpoint: Endpoint }
  /** The process did not run for `gapMs` (sleep, SIGSTOP); that time was not counted as peer silence. */
  | { type: 'stall'; gapMs: number }
  /** Rate-limited: `count` drops for `reason` since the previous event for it; `total` ever. */
  | { type: 'drop'; reason: DropReason; count: number; total: number; detail?: string }
  /** Every peer acknowledged our Leave (the daemon may exit now). */
  | { type: 'left' };

export type EventSink = (event: EngineEvent) => void;
