// Which claimant of one prefix is active. Most-specific-prefix selection happens in the trie
// (longest match); among the claimants of the same prefix this order decides, and it uses
// only what every node sees identically — the boot time each node announces about itself and
// its id — so all nodes with the same view pick the same claimant (VpnCloud instead keeps the
// first claim it happened to learn, so two clients can disagree).
import type { PeerId } from './types.js';

export interface Claimant {
  readonly peer: PeerId;
  /** The claimant's own wall-clock start time (epoch ms), as it announced it. */
  readonly bootTimeMs: number;
}

/** Negative if `a` is preferred: earliest boot time (longest uptime) first, then lowest id. */
export function compareClaimants(a: Claimant, b: Claimant): number {
  if (a.bootTimeMs !== b.bootTimeMs) return a.bootTimeMs - b.bootTimeMs;
  return a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0;
}

/** Human explanation of why `sorted[0]` is active (for status). */
export function activeReason(sorted: readonly Claimant[]): string {
  if (sorted.length === 0) return 'no claimant';
  if (sorted.length === 1) return 'only claimant';
  const [a, b] = sorted as [Claimant, Claimant];
  if (a.bootTimeMs < b.bootTimeMs) return 'longest uptime';
  return 'same start time, lowest id';
}
