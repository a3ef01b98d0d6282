// SWIM probing for members we keep no session with (members.ts holds their states).
//
// Every protocol period (Timing.swimPeriodMs) we probe one member, going round-robin through
// a shuffled list of them, so each is probed by someone within a few periods and by us within
// one pass. A probe is answered by any authenticated packet from the member after it began:
// over a session we have, the answer to a Probe message; without one, the completed handshake
// itself (a handshake proves the member holds its key and runs now, and opening a session costs
// no more than a ping would). No answer within probeTimeoutMs: INDIRECT_PROBES other members
// (peers we have a session with) are asked to probe it for us (PingReq; they answer PingAck
// when it answers them). No answer by the end of the period: the member is suspected
// (members.ts), and that spreads by gossip.
//
// Lifeguard's refinements: suspicion timeouts that shrink as independent members confirm them
// (members.ts), a suspect told of its suspicion by anyone who has a session with it (engine),
// and a local health multiplier: each of our probes that fails lengthens our period (up to
// MAX_HEALTH_MULT times), each that succeeds shortens it again, so a node that is itself slow or
// cut off probes less and accuses less.
import { INDIRECT_PROBES, MAX_PENDING_PING_REQS, PING_REQ_BURST, PING_REQ_RATE_PER_S, type Timing } from './constants.js';
import { TokenBucket } from './token-bucket.js';
import type { PeerId, Rng } from './types.js';

/** Our probing slows down at most this many times while our own probes keep failing. */
export const MAX_HEALTH_MULT = 4;
/**
 * Every this many periods, one member we hold dead is probed instead: if it answers, it was
 * cut off, not dead (a healed partition), and learns it must refute. memberlist relies on
 * configured seeds alone for that; seeds may all be on one side.
 */
export const DEAD_PROBE_PERIODS = 10;

export interface ProbeHost {
  readonly rng: Rng;
  /** Members to probe now (alive or suspect, with no kept session of their own). */
  probeTargets(): PeerId[];
  /** Is `id` still one to probe? */
  probeable(id: PeerId): boolean;
  /** Members declared dead whose records we still hold (one is probed now and then). */
  deadTargets(): PeerId[];
  /** Probe `id` directly: over its session, or by shaking hands with it. */
  probe(now: number, id: PeerId): void;
  /** The direct probe got no answer in time: shake hands anew (its end may have dropped our session). */
  probeAgain(now: number, id: PeerId): void;
  /** Members that can probe `id` for us (a session, not suspect, not `id`). */
  helpers(id: PeerId): PeerId[];
  pingReq(now: number, helper: PeerId, target: PeerId): void;
  pingAck(now: number, requester: PeerId, target: PeerId): void;
  /** Nobody answered for `id` within the period. */
  failed(now: number, id: PeerId): void;
  /** The probe of `id` (ours or for others) is over: stop a handshake still trying. */
  done(id: PeerId): void;
}

interface Probe {
  readonly id: PeerId;
  readonly startedAtMs: number;
  indirect: boolean;
  answered: boolean;
}

interface Help {
  readonly requesters: Set<PeerId>;
  readonly untilMs: number;
}

export class Prober {
  private order: PeerId[] = [];
  private at = 0;
  /** Members we just suspected: probed once more before the round-robin goes on. */
  private again: PeerId[] = [];
  private sinceDeadProbe = 0;
  private current: Probe | null = null;
  private nextAtMs = -Infinity;
  /** Probes we run for others: target -> who asked, and until when. */
  private readonly helping = new Map<PeerId, Help>();
  private readonly pingReqs = new TokenBucket(PING_REQ_RATE_PER_S, PING_REQ_BURST);
  /** Lifeguard's local health: 0 healthy .. MAX_HEALTH_MULT - 1. */
  private health = 0;
  readonly stats = { probes: 0, indirect: 0, failed: 0 };

  constructor(private readonly host: ProbeHost, private readonly timing: Timing) {}

  private get periodMs(): number {
    return this.timing.swimPeriodMs * (1 + this.health);
  }

  /** An authenticated packet from `id` (or a PingAck for it): it is alive. */
  heard(now: number, id: PeerId): void {
    const c = this.current;
    if (c !== null && c.id === id && !c.answered) {
      c.answered = true;
      this.health = Math.max(0, this.health - 1);
    }
    // called for every packet (data included): no map lookup unless we probe for someone
    const help = this.helping.size === 0 ? undefined : this.helping.get(id);
    if (help) {
      this.helping.delete(id);
      for (const r of help.requesters) this.host.pingAck(now, r, id);
      this.host.done(id);
    }
  }

  /** `from` asks us to probe `target` (a member it could not reach). Returns a refusal, or null. */
  onPingReq(now: number, from: PeerId, target: PeerId, known: boolean): string | null {
    if (!known || target === from) return 'ping request for a node we do not know';
    let help = this.helping.get(target);
    if (!help) {
      if (this.helping.size >= MAX_PENDING_PING_REQS) return `over ${MAX_PENDING_PING_REQS} pending ping requests`;
      if (!this.pingReqs.take(now)) return 'ping requests over their rate';
      help = { requesters: new Set(), untilMs: now + this.timing.swimPeriodMs };
      this.helping.set(target, help);
      help.requesters.add(from);
      this.host.probe(now, target);
    } else if (help.requesters.size < INDIRECT_PROBES * 2) {
      help.requesters.add(from);
    }
    return null;
  }

  tick(now: number): void {
    for (const [target, help] of this.helping) {
      if (now < help.untilMs) continue;
      this.helping.delete(target);
      this.host.done(target);
    }
    const c = this.current;
    if (c !== null) {
      if (!c.answered && !c.indirect && now >= c.startedAtMs + this.timing.probeTimeoutMs) {
        c.indirect = true;
        this.host.probeAgain(now, c.id);
        for (const h of this.pick(this.host.helpers(c.id), INDIRECT_PROBES)) {
          this.stats.indirect++;
          this.host.pingReq(now, h, c.id);
        }
      }
      if (now >= c.startedAtMs + this.timing.swimPeriodMs) {
        this.current = null;
        if (!this.helping.has(c.id)) this.host.done(c.id);
        if (!c.answered && this.host.probeable(c.id)) {
          this.stats.failed++;
          this.health = Math.min(MAX_HEALTH_MULT - 1, this.health + 1);
          this.host.failed(now, c.id);
          if (this.again.length < INDIRECT_PROBES) this.again.push(c.id);
        }
      }
    }
    if (this.current === null && now >= this.nextAtMs) {
      this.nextAtMs = now + this.periodMs;
      const id = this.nextTarget();
      if (id !== null) {
        this.current = { id, startedAtMs: now, indirect: false, answered: false };
        this.stats.probes++;
        this.host.probe(now, id);
      }
    }
  }

  deadline(): number {
    let next = this.nextAtMs;
    const c = this.current;
    if (c !== null) {
      next = Math.min(next, c.startedAtMs + this.timing.swimPeriodMs);
      if (!c.answered && !c.indirect) next = Math.min(next, c.startedAtMs + this.timing.probeTimeoutMs);
    }
    for (const help of this.helping.values()) next = Math.min(next, help.untilMs);
    return next;
  }

  /** The next member in our shuffled round-robin order (a new shuffle once it is used up). */
  private nextTarget(): PeerId | null {
    // A member we just suspected once more: if it answers now, it learns of the suspicion
    // from us (engine: tellSuspect) and refutes it to us.
    while (this.again.length > 0) {
      const id = this.again.shift()!;
      if (this.host.probeable(id)) return id;
    }
    if (++this.sinceDeadProbe >= DEAD_PROBE_PERIODS) {
      this.sinceDeadProbe = 0;
      const dead = this.pick(this.host.deadTargets(), 1)[0];
      if (dead !== undefined) return dead;
    }
    for (let pass = 0; pass < 2; pass++) {
      while (this.at < this.order.length) {
        const id = this.order[this.at++]!;
        if (this.host.probeable(id)) return id;
      }
      this.order = this.pick(this.host.probeTargets(), Infinity);
      this.at = 0;
    }
    return null;
  }

  /** Up to `k` distinct random elements of `xs` (all of them shuffled for Infinity). */
  private pick<T>(xs: readonly T[], k: number): T[] {
    const pool = [...xs];
    const n = Math.min(k, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.host.rng.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, n);
  }
}
