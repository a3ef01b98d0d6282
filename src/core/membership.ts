// Who we try to connect to: the configured seeds (forever, re-resolved by the daemon), peers
// we heard of in gossip (briefly), and peers we lost (for a while, so a healed partition
// reconnects even when nobody else mentions them). Attempts back off exponentially with
// jitter. The channel retransmits a handshake within one attempt; each new attempt starts a
// fresh handshake.
//
// Gossip is authenticated but not trusted, so what it can make us dial is bounded (constants.ts):
// targets per informant, gossip targets in total, targets per host address, a token bucket
// for first contacts, and a short life for gossip targets that never connected. A gossip or
// lost-peer target leaves the table once connected (the peer table knows the peer then).
// An endpoint that turned out to be ourselves is not tried again for lostPeerRetryMs: the
// mark expires, so a forged "that was you" cannot blacklist a real peer forever.
//
// Timers: each target sits in a deadline heap (timer-heap.ts) at its next attempt or expiry, so
// a wake-up looks only at the targets due. Whether a target's peer is connected is the peer
// table's to say: when the table changed (its version), every target is looked at once.
import {
  DIAL_BURST, DIAL_RATE_PER_S, GOSSIP_TARGET_RETRY_MS, MAX_GOSSIP_TARGETS, MAX_LOST_TARGETS,
  MAX_SELF_ENDPOINTS, MAX_TARGETS_PER_HOST, MAX_TARGETS_PER_INFORMANT, type Timing,
} from './constants.js';
import { DueQueue } from './due-queue.js';
import { hostOf } from './endpoint-policy.js';
import { DeadlineChanges, Timer, TimerHeap, withTimer } from './timer-heap.js';
import { TokenBucket } from './token-bucket.js';
import type { DropReason, Endpoint, PeerId, Rng } from './types.js';

export interface ConnectPort {
  /** `peer`: the identity expected at `ep`, when known (never for seeds). */
  connect(now: number, ep: Endpoint, peer?: PeerId): void;
  cancelConnect(ep: Endpoint): void;
  /** A gossip entry or a first contact was refused by a limit. */
  drop(reason: Extract<DropReason, 'gossip-limit' | 'dial-limit'>, detail: string): void;
}

/** What membership needs to know about the peer table. */
export interface ConnectedView {
  has(id: PeerId): boolean;
  hasEndpoint(ep: Endpoint): boolean;
  /** Changes whenever has() or hasEndpoint() may answer differently. */
  readonly version: number;
}

type TargetKind = 'seed' | 'lost' | 'gossip';

interface Target {
  readonly endpoint: Endpoint;
  readonly host: string;
  kind: TargetKind;
  /** The identity expected there (gossip or a lost peer); null for a seed nobody answered yet. */
  peer: PeerId | null;
  /** Who told us about it (gossip targets only). */
  informant: PeerId | null;
  /** Seeds never expire. */
  expiresAtMs: number;
  /** Connected at the last check (seeds): going from connected to not connected retries at once. */
  connected: boolean;
  nextAttemptAtMs: number;
  lastAttemptAtMs: number;
  /** Last time gossip moved the next attempt forward (at most once per reconnectMaxMs). */
  pulledAtMs: number;
  /** No attempt before this (a peer that just left is still closing its socket). */
  holdUntilMs: number;
  backoffMs: number;
  attempts: number;
  readonly timer: Timer<Target>;
}

export interface TargetStatus {
  endpoint: Endpoint;
  kind: 'seed' | 'learned';
  peer: PeerId | null;
  attempts: number;
  nextAttemptInMs: number;
}

export class Membership {
  private readonly targets = new Map<Endpoint, Target>();
  private readonly seeds = new Set<Endpoint>();
  /** Endpoint -> when the "that is ourselves" mark expires. */
  private readonly selfEndpoints: DueQueue<Endpoint>;
  private readonly perHost = new Map<string, number>();
  private readonly perInformant = new Map<PeerId, number>();
  private readonly kinds: Record<TargetKind, number> = { seed: 0, lost: 0, gossip: 0 };
  private readonly firstContacts = new TokenBucket(DIAL_RATE_PER_S, DIAL_BURST);
  private readonly timers: TimerHeap<Target>;
  /** The peer table's version the targets were last looked at with. */
  private seenVersion = -1;

  constructor(
    private readonly timing: Timing,
    private readonly rng: Rng,
    private readonly port: ConnectPort,
    private readonly view: ConnectedView,
    /** Counts changes of our deadlines (the engine caches its next deadline until one changes). */
    changes = new DeadlineChanges(),
  ) {
    this.selfEndpoints = new DueQueue(changes);
    this.timers = new TimerHeap(changes);
  }

  /** Replace the seed list (the daemon re-resolved the -c host names). */
  setSeeds(now: number, endpoints: readonly Endpoint[]): void {
    this.seeds.clear();
    for (const ep of endpoints) this.seeds.add(ep);
    for (const t of [...this.targets.values()]) {
      if (t.kind !== 'seed' || this.seeds.has(t.endpoint)) continue;
      if (t.peer === null) {
        this.remove(t);
      } else {
        // A peer was seen there: retry it like any lost peer.
        this.setKind(t, 'lost');
        t.expiresAtMs = now + this.timing.lostPeerRetryMs;
        this.timers.runBy(t.timer, now);
      }
    }
    for (const ep of this.seeds) this.addSeed(now, ep);
  }

  /**
   * Gossip from `informant` says `peer` is reachable at `endpoints` (already screened by the
   * caller: dialable addresses, capped per entry). A live peer reaches it there, so a target
   * we have already is tried again soon, whatever its backoff says.
   */
  learnFromGossip(now: number, informant: PeerId, peer: PeerId, endpoints: readonly Endpoint[]): void {
    for (const ep of endpoints) {
      if (this.selfEndpoints.has(ep)) continue;
      const t = this.targets.get(ep);
      if (t) {
        if (t.kind !== 'seed') t.peer = peer;
        if (now >= t.pulledAtMs + this.timing.reconnectMaxMs) {
          t.pulledAtMs = now;
          t.nextAttemptAtMs = Math.min(t.nextAttemptAtMs, Math.max(now, t.lastAttemptAtMs + this.timing.reconnectMinMs));
          this.timers.runBy(t.timer, t.nextAttemptAtMs);
        }
        continue;
      }
      const refused = this.gossipRefusal(informant, ep);
      if (refused !== null) {
        this.port.drop('gossip-limit', `${ep}: ${refused}`);
        continue;
      }
      this.add(now, ep, { kind: 'gossip', peer, informant, expiresAtMs: now + GOSSIP_TARGET_RETRY_MS });
    }
  }

  /**
   * `informant` (a peer) says `peer` is dialling us now (a punch): dial it at `endpoints` now,
   * so both NATs open. Already screened by the caller (dialable, capped, trusted id, one a
   * second per origin); new targets count against the gossip limits and the first-contact rate.
   */
  punch(now: number, informant: PeerId, peer: PeerId, endpoints: readonly Endpoint[]): void {
    for (const ep of endpoints) {
      if (this.selfEndpoints.has(ep)) continue;
      const t = this.targets.get(ep);
      if (t) {
        if (t.kind !== 'seed') t.peer = peer;
        t.nextAttemptAtMs = Math.min(t.nextAttemptAtMs, Math.max(now, t.holdUntilMs));
        this.timers.runBy(t.timer, now); // its peer may have changed, and with it whether it is connected
        continue;
      }
      const refused = this.gossipRefusal(informant, ep);
      if (refused !== null) {
        this.port.drop('gossip-limit', `${ep}: ${refused}`);
        continue;
      }
      this.add(now, ep, { kind: 'gossip', peer, informant, expiresAtMs: now + GOSSIP_TARGET_RETRY_MS });
    }
  }

  /** We lost `peer`, last seen at `endpoints`: keep trying them for lostPeerRetryMs. */
  lost(now: number, peer: PeerId, endpoints: readonly Endpoint[]): void {
    const expiresAtMs = now + this.timing.lostPeerRetryMs;
    for (const ep of endpoints) {
      if (this.selfEndpoints.has(ep)) continue;
      const t = this.targets.get(ep);
      if (t) {
        t.peer = peer;
        if (t.kind === 'gossip') this.setKind(t, 'lost');
        if (t.kind === 'lost') t.expiresAtMs = Math.max(t.expiresAtMs, expiresAtMs);
        this.timers.runBy(t.timer, now);
        continue;
      }
      if (this.kinds.lost >= MAX_LOST_TARGETS) this.evictLost();
      this.add(now, ep, { kind: 'lost', peer, informant: null, expiresAtMs });
    }
  }

  /** A handshake to `ep` reached this node: do not try it again for lostPeerRetryMs. */
  markSelf(now: number, ep: Endpoint): void {
    this.selfEndpoints.set(ep, now + this.timing.lostPeerRetryMs);
    if (this.selfEndpoints.size > MAX_SELF_ENDPOINTS) this.selfEndpoints.delete(this.selfEndpoints.oldest()!);
    const t = this.targets.get(ep);
    if (t) this.remove(t);
  }

  /** Do not try these endpoints before `untilMs`. */
  holdOff(endpoints: readonly Endpoint[], untilMs: number): void {
    for (const ep of endpoints) {
      const t = this.targets.get(ep);
      if (t) t.holdUntilMs = untilMs;
    }
  }

  isSelf(ep: Endpoint): boolean {
    return this.selfEndpoints.has(ep);
  }

  /** Is `ep` one of our dial targets (a seed, a lost or a learned peer)? */
  isTarget(ep: Endpoint): boolean {
    return this.targets.has(ep);
  }

  /** Start the attempts that are due; forget expired targets and self marks. */
  tick(now: number): void {
    for (const ep of this.selfEndpoints.popDue(now)) if (this.seeds.has(ep)) this.addSeed(now, ep);
    if (this.view.version !== this.seenVersion) {
      this.seenVersion = this.view.version;
      for (const t of this.targets.values()) this.timers.runBy(t.timer, now);
    }
    for (const t of this.timers.popDue(now)) {
      if (this.targets.get(t.endpoint) === t) this.timers.schedule(t.timer, this.runTarget(t, now));
    }
  }

  nextDeadline(): number {
    if (this.view.version !== this.seenVersion) return -Infinity; // look at the targets right away
    return Math.min(this.timers.next(), this.selfEndpoints.next());
  }

  /** Run what is due for one target and return when it next has something due (Infinity: gone). */
  private runTarget(t: Target, now: number): number {
    if (now >= t.expiresAtMs) {
      this.remove(t);
      return Infinity;
    }
    const connected = this.isConnected(t);
    if (connected && t.kind !== 'seed') {
      this.remove(t); // the peer table has it now; if it is lost again, lost() brings it back
      return Infinity;
    }
    if (connected !== t.connected) {
      t.connected = connected;
      t.backoffMs = this.timing.reconnectMinMs;
      if (connected && t.attempts > 0) this.port.cancelConnect(t.endpoint);
      t.attempts = 0;
      t.nextAttemptAtMs = Math.max(now, t.holdUntilMs);
    }
    if (connected) return t.expiresAtMs; // a connected seed waits for the peer table to change
    if (now >= t.nextAttemptAtMs) this.attempt(t, now);
    return Math.min(t.expiresAtMs, t.nextAttemptAtMs);
  }

  private attempt(t: Target, now: number): void {
    if (t.kind === 'gossip' && t.attempts === 0 && !this.firstContacts.take(now)) {
      this.port.drop('dial-limit', t.endpoint);
      t.nextAttemptAtMs = this.firstContacts.nextAt(now);
      return;
    }
    // Restart the channel's handshake, which may be waiting out a long backoff of its own:
    // this schedule (and gossip saying the peer is reachable) sets the pace.
    if (t.attempts > 0) this.port.cancelConnect(t.endpoint);
    t.attempts++;
    t.lastAttemptAtMs = now;
    this.port.connect(now, t.endpoint, t.kind === 'seed' || t.peer === null ? undefined : t.peer);
    const jitter = 0.75 + 0.5 * this.rng.next();
    t.nextAttemptAtMs = now + t.backoffMs * jitter;
    t.backoffMs = Math.min(this.timing.reconnectMaxMs, t.backoffMs * 2);
  }

  status(now: number): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const t of this.targets.values()) {
      if (this.isConnected(t)) continue;
      out.push({
        endpoint: t.endpoint,
        kind: t.kind === 'seed' ? 'seed' : 'learned',
        peer: t.peer,
        attempts: t.attempts,
        nextAttemptInMs: Math.max(0, t.nextAttemptAtMs - now),
      });
    }
    return out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  }

  get selfList(): Endpoint[] {
    return [...this.selfEndpoints.keys()].sort();
  }

  private gossipRefusal(informant: PeerId, ep: Endpoint): string | null {
    if (this.kinds.gossip >= MAX_GOSSIP_TARGETS) return `over ${MAX_GOSSIP_TARGETS} gossip targets`;
    if ((this.perInformant.get(informant) ?? 0) >= MAX_TARGETS_PER_INFORMANT) {
      return `over ${MAX_TARGETS_PER_INFORMANT} targets from one informant`;
    }
    if ((this.perHost.get(hostOf(ep)) ?? 0) >= MAX_TARGETS_PER_HOST) return `over ${MAX_TARGETS_PER_HOST} targets on one host`;
    return null;
  }

  private isConnected(t: Target): boolean {
    return this.view.hasEndpoint(t.endpoint) || (t.peer !== null && this.view.has(t.peer));
  }

  private addSeed(now: number, ep: Endpoint): void {
    if (this.selfEndpoints.has(ep)) return;
    const t = this.targets.get(ep);
    if (t) {
      if (t.kind !== 'seed') this.setKind(t, 'seed');
      t.expiresAtMs = Infinity;
      this.timers.runBy(t.timer, now);
    } else {
      this.add(now, ep, { kind: 'seed', peer: null, informant: null, expiresAtMs: Infinity });
    }
  }

  private add(now: number, endpoint: Endpoint, init: Pick<Target, 'kind' | 'peer' | 'informant' | 'expiresAtMs'>): void {
    const t = withTimer<Target>({
      endpoint,
      host: hostOf(endpoint),
      ...init,
      connected: false,
      nextAttemptAtMs: now,
      lastAttemptAtMs: -Infinity,
      pulledAtMs: now,
      holdUntilMs: now,
      backoffMs: this.timing.reconnectMinMs,
      attempts: 0,
      timer: new Timer(),
    });
    this.targets.set(endpoint, t);
    this.timers.schedule(t.timer, now);
    this.kinds[t.kind]++;
    bump(this.perHost, t.host, 1);
    if (t.informant !== null) bump(this.perInformant, t.informant, 1);
  }

  /** A target changes kind (a gossip target's peer was lost, a seed was configured away...). */
  private setKind(t: Target, kind: TargetKind): void {
    this.kinds[t.kind]--;
    if (t.informant !== null) bump(this.perInformant, t.informant, -1);
    t.informant = null;
    t.kind = kind;
    this.kinds[kind]++;
  }

  private evictLost(): void {
    let first: Target | null = null;
    for (const t of this.targets.values()) if (t.kind === 'lost' && (!first || t.expiresAtMs < first.expiresAtMs)) first = t;
    if (first) this.remove(first);
  }

  private remove(t: Target): void {
    this.targets.delete(t.endpoint);
    this.timers.cancel(t.timer);
    this.kinds[t.kind]--;
    bump(this.perHost, t.host, -1);
    if (t.informant !== null) bump(this.perInformant, t.informant, -1);
    if (t.attempts > 0) this.port.cancelConnect(t.endpoint);
  }
}

/** Add `by` to a count; a count that drops to zero leaves the map (it stays bounded by the targets). */
function bump<K>(map: Map<K, number>, key: K, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
