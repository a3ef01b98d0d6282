// Why the active claimant of a prefix changed, and the history status shows: recent failovers
// (the prefix moved because its claimant died, left, restarted, failed its health check, was
// drained, was preempted, or another claimant took it over) with the gap this node saw.
import type { RouteChange } from './claims.js';
import { FAILOVER_HISTORY } from './constants.js';
import type { PeerDownReason, RouteChangeCause } from './events.js';
import type { FailoverRecord } from './status.js';
import type { PeerId } from './types.js';

/** What was being applied when the table changed. */
export type ChangeContext =
  /** `peer` was declared dead (or left, or was replaced); silent since `silentSinceMs`. */
  | { kind: 'down'; peer: PeerId; reason: PeerDownReason; silentSinceMs: number }
  /** `peer` restarted; its previous incarnation was last heard at `silentSinceMs`. */
  | { kind: 'restart'; peer: PeerId; silentSinceMs: number }
  /** A NodeInfo of `peer` (or our own claims, peer = us) changed what it claims. */
  | { kind: 'claims'; peer: PeerId };

export interface ExplainedChange extends RouteChange {
  cause: RouteChangeCause;
  /** How long the prefix had no working claimant as far as this node could see. */
  gapMs: number;
}

/**
 * The cause of one change (see RouteChangeCause). `lastHeardMs(peer)` is when we last heard
 * from a peer (undefined: not a peer, e.g. ourselves): a takeover's gap is the old claimant's
 * silence as we saw it, and one silent for suspectAfterMs counts as a timeout.
 */
export function explainChange(
  now: number, change: RouteChange, ctx: ChangeContext, lastHeardMs: (peer: PeerId) => number | undefined,
  suspectAfterMs: number,
): ExplainedChange {
  const { entry, from, to } = change;
  const plain = (cause: RouteChangeCause, gapMs = 0): ExplainedChange => ({ ...change, cause, gapMs });
  if (from === null) return plain('claims');
  const loser = entry.claimants.find((c) => c.peer === from);
  if (from === ctx.peer) {
    if (ctx.kind === 'down') return plain(ctx.reason, Math.max(0, now - ctx.silentSinceMs));
    if (ctx.kind === 'restart') return plain('restart', Math.max(0, now - ctx.silentSinceMs));
    if (loser?.state === 'unhealthy') return plain('health');
    if (loser?.state === 'drained') return plain('drain');
    if (!loser) return plain('claims');
  }
  const winner = to === null ? undefined : entry.claimants.find((c) => c.peer === to);
  if (winner && loser && loser.state === 'up') {
    if (winner.preempt && winner.priority > loser.priority) return plain('preempt');
    if (winner.epoch > loser.epoch && loser.epoch > 0) {
      // The winner announced it serves now. If the old claimant is silent here too, it died
      // and the winner only noticed first: for us that is its timeout, a moment early.
      const heard = lastHeardMs(loser.peer);
      const silentMs = heard === undefined ? 0 : Math.max(0, now - heard);
      return plain(silentMs >= suspectAfterMs ? 'timeout' : 'takeover', silentMs);
    }
  }
  return plain('claims');
}

/** Failovers (changes with a cause other than 'claims' away from a claimant), newest first. */
export class FailoverLog {
  readonly recent: FailoverRecord[] = [];
  total = 0;

  note(now: number, c: ExplainedChange): void {
    if (c.from === null || c.cause === 'claims') return;
    this.total++;
    this.recent.unshift({ atMs: now, prefix: c.entry.text, from: c.from, to: c.to, cause: c.cause, gapMs: c.gapMs });
    if (this.recent.length > FAILOVER_HISTORY) this.recent.pop();
  }
}
