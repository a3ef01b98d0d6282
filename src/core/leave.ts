// Graceful stop, both directions. Our own Leave is retransmitted to each peer until it
// acknowledges (or the peer timeout passes: by then it dropped us anyway), so the daemon can
// exit as soon as everyone knows. A peer that left us keeps its session for a moment in the
// "grave", so its Leave retransmits are acknowledged instead of counted as unknown-session.
// Both tables fall due in the order their entries were set (due-queue.ts), so a wake-up
// looks only at what is due.
import { DueQueue } from './due-queue.js';
import { DeadlineChanges } from './timer-heap.js';
import type { PeerId } from './types.js';

export class Departure {
  leaving = false;
  private startedAtMs = 0;
  /** Peer -> when to retransmit our Leave to it. */
  private readonly pending: DueQueue<PeerId>;

  constructor(
    private readonly retransmitMs: number,
    private readonly giveUpAfterMs: number,
    changes = new DeadlineChanges(),
  ) {
    this.pending = new DueQueue(changes);
  }

  /** Start leaving; every peer in `peers` must acknowledge. */
  begin(now: number, peers: Iterable<PeerId>): void {
    this.leaving = true;
    this.startedAtMs = now;
    for (const id of peers) this.pending.set(id, now + this.retransmitMs);
  }

  get settled(): boolean {
    return this.leaving && this.pending.size === 0;
  }

  /** `id` acknowledged (or is gone). */
  done(id: PeerId): void {
    this.pending.delete(id);
  }

  /** Peers to send Leave to again now; peers given up on are dropped (see settled). */
  due(now: number): PeerId[] {
    if (now >= this.startedAtMs + this.giveUpAfterMs) {
      this.pending.clear();
      return [];
    }
    const out = this.pending.popDue(now);
    for (const id of out) this.pending.set(id, now + this.retransmitMs);
    return out;
  }

  deadline(): number {
    return this.pending.size === 0 ? Infinity : Math.min(this.pending.next(), this.startedAtMs + this.giveUpAfterMs);
  }
}

export class Grave {
  /** Peer -> end of its time in the grave. */
  private readonly until: DueQueue<PeerId>;

  constructor(changes = new DeadlineChanges()) {
    this.until = new DueQueue(changes);
  }

  /** Bury `id` for `ms` from `now` (one ms for every peer keeps the queue in order). */
  bury(id: PeerId, now: number, ms: number): void {
    this.until.set(id, now + ms);
  }

  /** It came back (a new handshake): it is not gone after all. */
  revive(id: PeerId): void {
    this.until.delete(id);
  }

  has(id: PeerId): boolean {
    return this.until.has(id);
  }

  /** Peers whose time in the grave is over (their sessions can be forgotten). */
  expired(now: number): PeerId[] {
    return this.until.popDue(now);
  }

  deadline(): number {
    return this.until.next();
  }
}
