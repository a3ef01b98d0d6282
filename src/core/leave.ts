// Graceful stop, both directions. Our own Leave is retransmitted to each peer until it
// acknowledges (or the peer timeout passes: by then it dropped us anyway), so the daemon can
// exit as soon as everyone knows. A peer that left us keeps its session for a moment in the
// "grave", so its Leave retransmits are acknowledged instead of counted as unknown-session.
import type { PeerId } from './types.js';

export class Departure {
  leaving = false;
  private startedAtMs = 0;
  /** Peer -> when to retransmit our Leave to it. */
  private readonly pending = new Map<PeerId, number>();

  constructor(
    private readonly retransmitMs: number,
    private readonly giveUpAfterMs: number,
  ) {}

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
    const out: PeerId[] = [];
    const giveUp = now >= this.startedAtMs + this.giveUpAfterMs;
    for (const [id, at] of this.pending) {
      if (giveUp) this.pending.delete(id);
      else if (now >= at) {
        out.push(id);
        this.pending.set(id, now + this.retransmitMs);
      }
    }
    return out;
  }

  deadline(): number {
    if (this.pending.size === 0) return Infinity;
    let next = this.startedAtMs + this.giveUpAfterMs;
    for (const at of this.pending.values()) next = Math.min(next, at);
    return next;
  }
}

export class Grave {
  private readonly until = new Map<PeerId, number>();

  bury(id: PeerId, untilMs: number): void {
    this.until.set(id, untilMs);
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
    const out: PeerId[] = [];
    for (const [id, at] of this.until) {
      if (now < at) continue;
      this.until.delete(id);
      out.push(id);
    }
    return out;
  }

  deadline(): number {
    let next = Infinity;
    for (const at of this.until.values()) next = Math.min(next, at);
    return next;
  }
}
