// Timing of membership and failure detection. Everything is derived from the two knobs users
// set (--keepalive, --peer-timeout), so the documented settings below are all one needs.
//
// How a peer is declared dead
//   - Every authenticated packet from a peer counts as "heard". We send a keepalive to a
//     peer only when nothing else went to it for keepaliveMs.
//   - After suspectAfterMs of silence the peer is "suspect": we send it a Probe every
//     probeIntervalMs; it answers each with a ProbeAck (any answer clears the suspicion).
//   - After peerTimeoutMs of silence it is dead: its claims are withdrawn at once.
//
// False failover probability (independent loss p in each direction)
//   A healthy peer is declared dead only if, within one peerTimeoutMs window, all of its
//   keepalives are lost (at least floor(T/K) - 1 of them, since the window starts right after
//   one that arrived) AND all N = (T - S) / P probe round trips fail (each fails with
//   1 - (1-p)^2). Windows start at most once per keepalive, so per directed peer link:
//       rate ≈ (1/K) · p^(floor(T/K) - 1) · (1 - (1-p)^2)^N
//   FAST (K=100 ms, T=800 ms, S=300 ms, P=25 ms, N=20), p = 0.2:
//       10/s · 0.2^7 · 0.36^20 = 10 · 1.28e-5 · 1.34e-9 ≈ 1.7e-13 /s  ≈ one per 190 000 years
//   DEFAULT (K=500 ms, T=3 s, S=1.5 s, P=75 ms, N=20), p = 0.2:
//       2/s · 0.2^5 · 0.36^20 ≈ 8.6e-13 /s  ≈ one per 37 000 years
//   VpnCloud guide (K=2 s, T=5 s, S=2.5 s, P=125 ms, N=20), p = 0.2:
//       0.5/s · 0.2^1 · 0.36^20 ≈ 1.3e-10 /s ≈ one per 240 years
//   Without the probe phase the FAST setting would be 10/s · 0.2^7 ≈ 1.3e-4 /s: a false
//   failover about every two hours per link, which is why the probe phase exists.
//   Loss is rarely independent: a burst longer than peerTimeoutMs is indistinguishable from a
//   crash and does fail over (that is the point of the timeout).
//
// Failover time after kill -9: the survivor's claim takes over when the dead node's silence
// reaches peerTimeoutMs, i.e. between T - K and T after the crash: T - K/2 on average for an
// idle server, close to T for one that was sending traffic (replies count as liveness). In the
// simulator with a client pinging every 100 ms: switch after 754 ms median FAST (first reply
// from the survivor 854 ms), just under 3 s DEFAULT, 4.95 s guide settings; graceful stop:
// < 1 ms plus one trip of the Leave message.
import { TRANSPORT_OVERHEAD_BYTES } from '../wire/header.js';

/**
 * Defaults suited to HA that still cost almost nothing (2 keepalives per second per peer):
 * a dead peer is noticed within 3 s. (VpnCloud's 300 s default is far too slow for failover.)
 */
export const DEFAULT_KEEPALIVE_MS = 500;
export const DEFAULT_PEER_TIMEOUT_MS = 3_000;

/** Documented fast settings: sub-second failover (--keepalive 100ms --peer-timeout 800ms). */
export const FAST_KEEPALIVE_MS = 100;
export const FAST_PEER_TIMEOUT_MS = 800;

/** Silence before probing starts, in keepalives (capped at half the peer timeout). */
export const SUSPECT_AFTER_KEEPALIVES = 3;
/** Probe round trips that must all fail between suspicion and death. */
export const PROBES_BEFORE_DEATH = 20;
/** No timer runs more often than this. */
export const MIN_TIMER_MS = 10;

/**
 * Reconnect backoff for seeds and lost or learned peers (jittered ±25 %). The cap defaults to
 * twice the peer timeout within [1 s, 5 s]: a healed partition merges within about that long.
 */
export const DEFAULT_RECONNECT_MIN_MS = 250;
export const DEFAULT_RECONNECT_MAX_MS = 5_000;
export const MIN_RECONNECT_MAX_MS = 1_000;
/** Keep reconnecting to a peer that timed out, or one only heard of in gossip, this long. */
export const DEFAULT_LOST_PEER_RETRY_MS = 10 * 60_000;

/** Leave is sent this many times at once (and then retransmitted until acknowledged). */
export const LEAVE_COPIES = 2;
/** A peer that left stays in a short grave (to re-acknowledge Leave retransmits) this long. */
export const LEAVE_GRAVE_MS = 2_000;
/** Gossip: soft byte budget for a NodeInfo's peer list (the rest rotates in later). */
export const NODE_INFO_PEER_BUDGET_BYTES = 1_000;

// Limits on what the network can make a node store or do. Every one is counted when it bites
// (drop reasons in types.ts) and listed in the README's "Limits" table. Members are
// authenticated but not trusted: one compromised node must not be able to turn the others
// into amplifiers, grow their tables without bound, or take over addresses.

/**
 * Gossip entries read from one NodeInfo; the rest are dropped ('gossip-limit'). Our own
 * NodeInfo carries about a dozen within its byte budget, so 64 is far above honest use.
 */
export const MAX_GOSSIP_PEERS_PER_INFO = 64;
/** Endpoints per gossip entry (we send the current one and up to two it used before). */
export const MAX_GOSSIP_ENDPOINTS_PER_PEER = 3;
/** Pending dial targets that one informant's gossip may create ('gossip-limit' beyond). */
export const MAX_TARGETS_PER_INFORMANT = 32;
/** Pending dial targets learned from gossip, all informants together. */
export const MAX_GOSSIP_TARGETS = 256;
/** Dial targets kept for lost peers (the one expiring first makes room for a new one). */
export const MAX_LOST_TARGETS = 512;
/**
 * Dial targets on one host address (any port, seeds and lost peers included): gossip cannot
 * aim a node at many ports of one victim. Several real nodes behind one NAT address still
 * connect: a target leaves the table once connected, making room for the next.
 */
export const MAX_TARGETS_PER_HOST = 4;
/** First contacts to gossip-learned endpoints: a token bucket, per second and burst ('dial-limit'). */
export const DIAL_RATE_PER_S = 10;
export const DIAL_BURST = 20;
/**
 * A gossip-learned endpoint that never connected is given up after this long (lost peers,
 * which did connect, are retried for lostPeerRetryMs so healed partitions merge). Gossip
 * mentioning it again later starts a new, rate-limited first contact.
 */
export const GOSSIP_TARGET_RETRY_MS = 30_000;
/** Endpoints at which we found ourselves; the oldest mark is forgotten beyond this. */
export const MAX_SELF_ENDPOINTS = 16;
/** Endpoints remembered per peer (it roams): the most recent ones. */
export const MAX_PEER_ENDPOINTS = 4;
/**
 * Claims accepted per peer: the first ones in its NodeInfo's order (the same on every node),
 * the rest dropped ('claim-limit'). Each accepted claim may become a kernel route.
 */
export const MAX_CLAIMS_PER_PEER = 64;
/** Denied claims remembered per peer (status, and one log line per peer and prefix). */
export const MAX_DENIED_CLAIMS_PER_PEER = 64;
/**
 * Boot times further ahead of our own wall clock than this are clamped to it for ranking:
 * a broken clock shows up in status, and the claimant just ranks as the youngest.
 */
export const MAX_BOOT_TIME_AHEAD_MS = 5 * 60_000;
/** Recent failovers kept for status. */
export const FAILOVER_HISTORY = 32;
/** At most one 'drop' event per reason per this interval (counters count everything). */
export const DROP_EVENT_INTERVAL_MS = 1_000;

export interface TimingInput {
  keepaliveMs: number;
  peerTimeoutMs: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  lostPeerRetryMs?: number;
}

/** Every interval the engine uses, derived once at start. */
export interface Timing {
  keepaliveMs: number;
  peerTimeoutMs: number;
  suspectAfterMs: number;
  probeIntervalMs: number;
  /** RTT measurement probes while healthy. */
  rttProbeIntervalMs: number;
  /** Retransmit an unacknowledged NodeInfo or Leave. */
  infoRetransmitMs: number;
  /** Re-send NodeInfo even when acknowledged: refreshes gossip and heals any divergence. */
  gossipRefreshMs: number;
  /** Coalesce peer-list changes into one NodeInfo broadcast at most this often. */
  gossipCoalesceMs: number;
  /**
   * Wake-from-sleep guard. While it has peers the engine asks to run at least every
   * keepaliveMs, so any longer gap between two calls is time the process was stalled
   * (suspend, SIGSTOP, a long GC pause). That time is not counted as peer silence, so a
   * stall never declares everyone dead at once; a stall longer than keepaliveMs +
   * stallReportMs is also reported as an event.
   */
  stallReportMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  lostPeerRetryMs: number;
  /** SWIM protocol period (one probe of one member), and how long a direct probe may take. */
  swimPeriodMs: number;
  probeTimeoutMs: number;
}

export class TimingError extends Error {}

export function deriveTiming(input: TimingInput): Timing {
  const { keepaliveMs: k, peerTimeoutMs: t } = input;
  if (!(k > 0) || !(t > 0) || !Number.isFinite(k) || !Number.isFinite(t)) {
    throw new TimingError(`keepalive (${k} ms) and peer timeout (${t} ms) must be positive`);
  }
  if (k >= t) throw new TimingError(`keepalive (${k} ms) must be shorter than the peer timeout (${t} ms)`);
  const suspectAfterMs = Math.min(SUSPECT_AFTER_KEEPALIVES * k, t / 2);
  const probeIntervalMs = Math.max(MIN_TIMER_MS, (t - suspectAfterMs) / PROBES_BEFORE_DEATH);
  const reconnectMinMs = input.reconnectMinMs ?? DEFAULT_RECONNECT_MIN_MS;
  const derivedMaxMs = Math.min(DEFAULT_RECONNECT_MAX_MS, Math.max(MIN_RECONNECT_MAX_MS, 2 * t));
  const reconnectMaxMs = Math.max(reconnectMinMs, input.reconnectMaxMs ?? derivedMaxMs);
  return {
    keepaliveMs: k,
    peerTimeoutMs: t,
    suspectAfterMs,
    probeIntervalMs,
    rttProbeIntervalMs: Math.max(k, 1_000),
    infoRetransmitMs: Math.min(Math.max(MIN_TIMER_MS * 2, probeIntervalMs * 2), 1_000),
    gossipRefreshMs: Math.max(10 * k, 10_000),
    gossipCoalesceMs: Math.min(k, 200),
    stallReportMs: Math.max(k / 2, 50),
    reconnectMinMs,
    reconnectMaxMs,
    lostPeerRetryMs: input.lostPeerRetryMs ?? DEFAULT_LOST_PEER_RETRY_MS,
    swimPeriodMs: Math.min(SWIM_PERIOD_MAX_MS, Math.max(SWIM_PERIOD_MIN_MS, 5 * k)),
    probeTimeoutMs: Math.min(SWIM_PERIOD_MAX_MS, Math.max(SWIM_PERIOD_MIN_MS, 5 * k)) / 2,
  };
}

/** Serving epochs of prefixes nobody claims any more, remembered (oldest forgotten first). */
export const MAX_REMEMBERED_EPOCHS = 1024;
/** Recent HA events kept for status (claim state changes, failovers). */
export const HA_EVENT_HISTORY = 32;

// Paths: relaying through peers and hole punching (path.ts, relay.ts, paths.ts, vias.ts).
// Relays forward only between two of their own authenticated peers, 1:1 and rate-limited per
// pair, so no member can turn a relay into an amplifier or a way to reach non-members.

/**
 * Relayed traffic per (origin, destination) pair: packets and bytes a second ('relay-limit').
 * 100 Mbit/s keeps a relayed path usable for bulk traffic (a first default of 2 MB/s held a
 * relayed TCP stream at 0.02 Gbit/s) while bounding what one member makes a relay carry.
 */
export const DEFAULT_RELAY_PACKETS_PER_S = 10_000;
export const DEFAULT_RELAY_BYTES_PER_S = 12_500_000;
/** The pair's token buckets hold this many seconds of traffic (a burst). */
export const RELAY_BURST_S = 0.25;
/** Destinations whose pair limits a relay keeps per origin; the oldest pair is forgotten (and starts afresh). */
export const MAX_RELAY_PAIRS_PER_ORIGIN = 64;
/** A relay header: the 32-byte key of the destination (MsgKind.Relay) or origin (MsgKind.Relayed). */
export const RELAY_HEADER_BYTES = 32;
/** The largest datagram a relay carries: its message (header + datagram) fits one channel payload. */
export const MAX_RELAYED_DATAGRAM_BYTES = 65_535 - RELAY_HEADER_BYTES;
/** What relaying adds to a datagram on the wire: the relay header and the relay hop's own header and tag. */
export const RELAY_OVERHEAD_BYTES = RELAY_HEADER_BYTES + TRANSPORT_OVERHEAD_BYTES;
/** ICMP "too big" answers for packets to relayed peers, a second (the rest are sent and fragmented). */
export const TOO_BIG_ANSWERS_PER_S = 100;
/** Relay path keys cached for the packets we send through relays (the least recently made forgotten). */
export const MAX_RELAY_ROUTES = 1_024;

/** Our candidates announced in NodeInfo: static (--advertise-address) first, then reflexive, then host. */
export const MAX_OWN_CANDIDATES = 8;
/** Reflexive candidates (what peers report seeing us at): the most recent distinct, one per reporter. */
export const MAX_OBSERVED_CANDIDATES = 4;
/** A peer's candidates we read from its NodeInfo or a punch; the rest are dropped ('gossip-limit'). */
export const MAX_PEER_CANDIDATES = 8;
/** Paths remembered per peer besides its active one (tried or heard); the least recently heard forgotten. */
export const MAX_PATHS_PER_PEER = 12;

/** Relays remembered per target peer (who reaches it directly, and its RTT there). */
export const MAX_VIAS_PER_PEER = 4;
/** Target peers the relay table knows (the least recently gossiped forgotten). */
export const MAX_VIA_TARGETS = 1_024;
/** A gossiped "I reach it directly" is believed this long without a repeat. */
export const VIA_TTL_MS = 120_000;
/** A peer we learned of but cannot reach directly is dialled through a relay after this long. */
export const RELAY_AFTER_MS = 2_000;
/** A relayed first contact is retried (through the best relay then) this often. */
export const RELAY_RETRY_MS = 5_000;

/** A relay forwards at most one punch a second per (origin, target) pair; a target acts on one a second per origin. */
export const PUNCH_PAIR_INTERVAL_MS = 1_000;
/** Punch requests for a peer we cannot reach: first after this long, doubling up to the max. */
export const PUNCH_RETRY_MIN_MS = 2_000;
export const PUNCH_RETRY_MAX_MS = 10_000;
/** Origins whose last punch a node remembers (for its per-origin limit); the oldest forgotten. */
export const MAX_PUNCH_ORIGINS = 256;
/** While a peer is suspect, its other paths are probed at most this often. */
export const ALT_PROBE_MIN_MS = 100;

// Node records (wire/record.ts, records.ts): signed, versioned, passed on by anyone.

/**
 * Records kept, our own included ('gossip-limit' for a new node beyond; a record of a node
 * declared dead makes room first). About 1 kB each with its decoded form and member state,
 * so the default bounds the table near 4 MB.
 */
export const MAX_NODE_RECORDS = 4_096;
/**
 * Sessions (peers) an engine holds at once (EngineConfig.maxSessions). Key mode bounds them by
 * the trusted keys; in password mode every holder of the password can mint identities, so a
 * session with a new one past this closes the least recently heard session that is not kept
 * (it reopens on demand), or is refused ('peer-limit') if all are kept.
 */
export const MAX_SESSIONS = 4_096;
/** A record larger than this is refused ('gossip-limit'): 64 claims with all options fit. */
export const MAX_RECORD_BYTES = 4_096;
/**
 * Record versions per millisecond of start time: a node's first version is
 * bootTimeMs * RECORD_VERSIONS_PER_MS, so a restart (a later start) supersedes its earlier
 * records unless that run signed more than this many per millisecond it ran.
 */
export const RECORD_VERSIONS_PER_MS = 1_024;
/** Records whose signature failed, remembered so a repeat is dropped without checking again. */
export const MAX_FAILED_RECORDS = 64;
/**
 * Record signature checks (about 140 us each) a second, and a burst that covers a whole table
 * twice (a join): a member sending bogus records cannot take more than a share of a core.
 * Beyond, records are dropped unchecked ('gossip-limit'); anti-entropy brings them again.
 */
export const RECORD_CHECKS_PER_S = 2_000;
export const RECORD_CHECK_BURST = 8_192;
/** Member states read per States message, entries per Summary ('gossip-limit' beyond). */
export const MAX_STATES_PER_MESSAGE = 64;
export const MAX_SUMMARY_ENTRIES = 256;
/** A record that is new to us goes on to this many random peers (gossip push; then anti-entropy). */
export const RECORD_FANOUT = 3;
/** One anti-entropy round (digest exchange with one random peer) this often, jittered ±25 %. */
export const ANTI_ENTROPY_INTERVAL_MS = 2_000;
/**
 * Soft size of a Records or Summary message: what fits one datagram on a 1 280-byte path (a
 * single larger record still goes, alone).
 */
export const SYNC_MESSAGE_BUDGET_BYTES = 1_100;
/** Ids per Pull message we answer (more are dropped as 'gossip-limit'); we ask for at most this many per message. */
export const MAX_PULL_IDS = 32;

// Membership that scales (members.ts, swim.ts, README "Limits and guarantees").

/**
 * Meshes of at most this many members (us included) keep a session with every member, as
 * hacloud always did: every node notices any death within the peer timeout. Larger ones keep
 * sessions (keepalives, peer timeout) only with the peers they use, and learn other failures
 * from SWIM probes (EngineConfig.fullMeshMax).
 */
export const DEFAULT_FULL_MESH_MAX = 8;
/**
 * A full mesh becomes a larger one only after counting more than fullMeshMax members this
 * long (records of nodes that died a moment ago still count until their suspicion ends), or
 * at once beyond twice the limit.
 */
export const FULL_MESH_HOLD_MS = 10_000;
/** SWIM protocol period: five keepalives, within these bounds (one probe of one member each). */
export const SWIM_PERIOD_MIN_MS = 500;
export const SWIM_PERIOD_MAX_MS = 1_000;
/** Members asked to probe a member that did not answer us directly. */
export const INDIRECT_PROBES = 3;
/**
 * Suspicion (Lifeguard): a suspect is declared dead after max(2, log10(members)) protocol
 * periods if SUSPICION_CONFIRMATIONS other members suspect it too, after SUSPICION_MAX_MULT
 * times that if nobody does, in between on a log scale.
 */
export const SUSPICION_CONFIRMATIONS = 3;
export const SUSPICION_MAX_MULT = 3;
/** A session nobody used (no packet either way) this long is closed; it opens again on demand. */
export const SESSION_IDLE_MS = 30_000;
/** A prefix we sent packets to within this long is in use: its claimants are kept. */
export const PREFIX_USE_MS = SESSION_IDLE_MS;
/** Claimants kept per prefix in use (the active one and the next in line). */
export const KEPT_CLAIMANTS_PER_PREFIX = 4;
/** A dead member's record is kept (so it is not taken for alive again) this long, if room allows. */
export const DEAD_MEMBER_TTL_MS = 10 * 60_000;
/** States heard for records we do not have yet (applied when the record arrives). */
export const MAX_PENDING_STATES = 1_024;
/** Indirect probes we run for others: a token bucket per second and burst, and pending at once. */
export const PING_REQ_RATE_PER_S = 20;
export const PING_REQ_BURST = 40;
export const MAX_PENDING_PING_REQS = 64;
/** A node that refutes a suspicion sends its new record straight to this many peers (then gossip). */
export const REFUTE_FANOUT = 32;
