// Who we try to connect to: the configured seeds (forever, re-resolved by the daemon), peers
// we heard of in gossip, and peers we lost (for a while, so a healed partition reconnects even
// when nobody else mentions them). Attempts back off exponentially with jitter; an endpoint
// that turned out to be ourselves is never tried again. The channel retransmits a handshake
// within one attempt; each new attempt starts a fresh handshake.
import type { Timing } from './constants.js';
import type { Endpoint, PeerId, Rng } from './types.js';

export interface ConnectPort {
  connect(now: number, ep: Endpoint): void;
  cancelConnect(ep: Endpoint): void;
}

/** What membership needs to know about the peer table. */
export interface ConnectedView {
  has(id: PeerId): boolean;
  hasEndpoint(ep: Endpoint): boolean;
}

interface Target {
  readonly endpoint: Endpoint;
  seed: boolean;
  /** The identity expected there (gossip or a lost peer); null for a seed. */
  peer: PeerId | null;
  /** Seeds never expire. */
  expiresAtMs: number;
  /** Connected at the last check: going from connected to not connected retries at once. */
  connected: boolean;
  nextAttemptAtMs: number;
  lastAttemptAtMs: number;
  /** No attempt before this (a peer that just left is still closing its socket). */
  holdUntilMs: number;
  backoffMs: number;
  attempts: number;
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
  private readonly selfEndpoints = new Set<Endpoint>();

  constructor(
    private readonly timing: Timing,
    private readonly rng: Rng,
    private readonly port: ConnectPort,
    private readonly view: ConnectedView,
  ) {}

  /** Replace the seed list (the daemon re-resolved the -c host names). */
  setSeeds(now: number, endpoints: readonly Endpoint[]): void {
    const wanted = new Set(endpoints);
    for (const t of this.targets.values()) {
      if (!t.seed || wanted.has(t.endpoint)) continue;
      t.seed = false;
      if (t.peer === null) this.drop(t);
    }
    for (const ep of wanted) {
      if (this.selfEndpoints.has(ep)) continue;
      const t = this.targets.get(ep);
      if (t) t.seed = true;
      else this.add(ep, now, { seed: true, peer: null, expiresAtMs: Infinity });
    }
  }

  /**
   * Gossip mentioned `peer` at `endpoints` (a live peer reaches it there, so try again soon,
   * whatever the backoff says), or we lost it. Either way keep trying for lostPeerRetryMs.
   */
  learn(now: number, peer: PeerId, endpoints: readonly Endpoint[], fromGossip: boolean): void {
    const expiresAtMs = now + this.timing.lostPeerRetryMs;
    for (const ep of endpoints) {
      if (this.selfEndpoints.has(ep)) continue;
      const t = this.targets.get(ep);
      if (t) {
        t.peer = peer;
        t.expiresAtMs = t.seed ? Infinity : Math.max(t.expiresAtMs, expiresAtMs);
        if (fromGossip) {
          const soon = Math.max(now, t.lastAttemptAtMs + this.timing.reconnectMinMs);
          t.nextAttemptAtMs = Math.min(t.nextAttemptAtMs, soon);
        }
      } else {
        this.add(ep, now, { seed: false, peer, expiresAtMs });
      }
    }
  }

  /** A handshake to `ep` reached this node: never try it again. */
  markSelf(ep: Endpoint): void {
    this.selfEndpoints.add(ep);
    const t = this.targets.get(ep);
    if (t) this.drop(t);
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

  /** Start the attempts that are due; forget expired targets. */
  tick(now: number): void {
    for (const t of [...this.targets.values()]) {
      if (now >= t.expiresAtMs) {
        this.drop(t);
        continue;
      }
      const connected = this.isConnected(t);
      if (connected !== t.connected) {
        t.connected = connected;
        t.backoffMs = this.timing.reconnectMinMs;
        if (connected && t.attempts > 0) this.port.cancelConnect(t.endpoint);
        t.attempts = 0;
        t.nextAttemptAtMs = Math.max(now, t.holdUntilMs);
      }
      if (connected || now < t.nextAttemptAtMs) continue;
      // Restart the channel's handshake, which may be waiting out a long backoff of its own:
      // this schedule (and gossip saying the peer is reachable) sets the pace.
      if (t.attempts > 0) this.port.cancelConnect(t.endpoint);
      t.attempts++;
      t.lastAttemptAtMs = now;
      this.port.connect(now, t.endpoint);
      const jitter = 0.75 + 0.5 * this.rng.next();
      t.nextAttemptAtMs = now + t.backoffMs * jitter;
      t.backoffMs = Math.min(this.timing.reconnectMaxMs, t.backoffMs * 2);
    }
  }

  nextDeadline(): number {
    let next = Infinity;
    for (const t of this.targets.values()) {
      next = Math.min(next, t.expiresAtMs);
      const connected = this.isConnected(t);
      if (connected !== t.connected) return -Infinity; // a transition to handle right away
      if (!connected) next = Math.min(next, t.nextAttemptAtMs);
    }
    return next;
  }

  status(now: number): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const t of this.targets.values()) {
      if (this.isConnected(t)) continue;
      out.push({
        endpoint: t.endpoint,
        kind: t.seed ? 'seed' : 'learned',
        peer: t.peer,
        attempts: t.attempts,
        nextAttemptInMs: Math.max(0, t.nextAttemptAtMs - now),
      });
    }
    return out.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  }

  get selfList(): Endpoint[] {
    return [...this.selfEndpoints].sort();
  }

  private isConnected(t: Target): boolean {
    return this.view.hasEndpoint(t.endpoint) || (t.peer !== null && this.view.has(t.peer));
  }

  private add(endpoint: Endpoint, now: number, init: Pick<Target, 'seed' | 'peer' | 'expiresAtMs'>): void {
    this.targets.set(endpoint, {
      endpoint,
      ...init,
      connected: false,
      nextAttemptAtMs: now,
      lastAttemptAtMs: -Infinity,
      holdUntilMs: now,
      backoffMs: this.timing.reconnectMinMs,
      attempts: 0,
    });
  }

  private drop(t: Target): void {
    this.targets.delete(t.endpoint);
    if (t.attempts > 0) this.port.cancelConnect(t.endpoint);
  }
}
