// Which claimant of one prefix is active. Most-specific-prefix selection happens in the trie
// (longest match); among the claimants of the same prefix the rule below decides. It uses only
// what every node sees identically — what each claimant announces about its own claim, its
// start time and its id — so all nodes with the same view pick the same claimant (VpnCloud
// instead keeps the first claim it happened to learn, so two clients can disagree).
//
// The order of choice (README "High availability"):
//   1. prefix length (the trie): the most specific claim wins;
//   2. health: a claim withdrawn by its health check or by drain takes no part;
//   3. the claimant already serving the prefix keeps it — unless a claimant with a higher
//      priority is ready to preempt (preempt: true, its preempt-delay over). Several serving
//      at once (a takeover not yet noticed by the old one, a partition healing, a stalled
//      node waking up): the most recent takeover (highest serving epoch) keeps it;
//   4. otherwise the highest priority;
//   5. then the longest uptime (earliest announced start time);
//   6. then the lowest node id.
// Rule 3 is keepalived's "nopreempt" made mesh-wide: a node that returns (restart, partition,
// health recovered) does not take a prefix back from a working server unless configured to.
// Serving epochs come from the claimants themselves: the one chosen announces the highest
// epoch it has seen for the prefix plus one (not before it has run one peer timeout, so a
// restarted node learns who serves before it could claim to), so a node frozen while it served
// (and replaced meanwhile) wakes up with an older epoch and cannot steal the prefix back.
import { DEFAULT_CLAIM_PRIORITY, type ClaimInfoState } from '../wire/control.js';
import type { PeerId } from './types.js';

export const DEFAULT_PRIORITY = DEFAULT_CLAIM_PRIORITY;
export const MAX_PRIORITY = 255;

/** 'up' takes part in the choice; 'unhealthy' (health check) and 'drained' are withdrawn. */
export type ClaimState = ClaimInfoState;

export interface Claimant {
  readonly peer: PeerId;
  /** The claimant's own wall-clock start time (epoch ms), as it announced it. */
  readonly bootTimeMs: number;
  /** Higher is preferred among claimants of the same prefix (0..255). */
  readonly priority: number;
  /** It is ready to take the prefix from a lower-priority claimant that serves it. */
  readonly preempt: boolean;
  readonly state: ClaimState;
  /** > 0: it serves the prefix since that epoch; 0: standby. */
  readonly epoch: number;
}

/** Negative if `a` is preferred on rules 4-6 (priority, uptime, id). */
export function compareRank(a: Claimant, b: Claimant): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.bootTimeMs !== b.bootTimeMs) return a.bootTimeMs - b.bootTimeMs;
  return a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0;
}

/** Among serving claimants: the most recent takeover first, then rules 4-6. */
function compareServing(a: Claimant, b: Claimant): number {
  return a.epoch !== b.epoch ? b.epoch - a.epoch : compareRank(a, b);
}

/** The active claimant of one prefix (rules 2-6), or null if none takes part. */
export function chooseActive(claimants: readonly Claimant[]): Claimant | null {
  let incumbent: Claimant | null = null;
  let best: Claimant | null = null;
  for (const c of claimants) {
    if (c.state !== 'up') continue;
    if (c.epoch > 0 && (incumbent === null || compareServing(c, incumbent) < 0)) incumbent = c;
    if (best === null || compareRank(c, best) < 0) best = c;
  }
  if (incumbent === null) return best;
  let challenger: Claimant | null = null;
  for (const c of claimants) {
    if (c.state !== 'up' || !c.preempt || c.priority <= incumbent.priority) continue;
    if (challenger === null || compareRank(c, challenger) < 0) challenger = c;
  }
  return challenger ?? incumbent;
}

/** All claimants, the active one first, then those taking part by rank, then withdrawn ones. */
export function orderClaimants(claimants: readonly Claimant[], active: Claimant | null): Claimant[] {
  const weight = (c: Claimant) => (c === active ? 0 : c.state === 'up' ? 1 : 2);
  return [...claimants].sort((a, b) => weight(a) - weight(b) || compareRank(a, b));
}

/** Human explanation of why `active` beats the other claimants (for status). */
export function activeReason(claimants: readonly Claimant[], active: Claimant | null): string {
  if (active === null) return claimants.length === 0 ? 'no claimant' : 'all claims withdrawn';
  const others = claimants.filter((c) => c.peer !== active.peer && c.state === 'up');
  if (others.length === 0) return claimants.length === 1 ? 'only claimant' : 'only healthy claimant';
  const next = others.reduce((a, b) => (compareRank(a, b) <= 0 ? a : b));
  if (active.epoch > 0 && others.some((c) => c.epoch > 0)) return 'most recent takeover';
  if (active.epoch > 0 && compareRank(next, active) < 0) return 'already serving (no preemption)';
  if (active.epoch === 0 && others.some((c) => c.epoch > 0)) return 'preempts (higher priority)';
  if (active.priority !== next.priority) return 'higher priority';
  if (active.bootTimeMs !== next.bootTimeMs) return 'longest uptime';
  return 'same start time, lowest id';
}
