// This node's own claims and their run-time state: health (rise/fall hysteresis of the checks
// the daemon runs), drain, readiness to preempt, and the serving epoch (routing.ts). What they
// add up to is announced in our NodeInfo as one ClaimRecord per claim.
//
// A claim is 'up' (taking part in the choice), 'unhealthy' (its health check failed `fall`
// times; announced as withdrawn, so every peer moves the prefix elsewhere) or 'drained' (the
// operator's `hacloud drain`; withdrawn the same way while this node keeps serving the
// connections it has). Only an up claim can serve, so a withdrawn one drops its epoch.
import { formatPrefix, type Prefix } from '../wire/addr.js';
import type { ClaimRecord } from './claims.js';
import { HealthGate, type HealthThresholds } from './health.js';
import type { ClaimState } from './routing.js';

/** One of our claims as configured. */
export interface OwnClaimSpec {
  readonly prefix: Prefix;
  /** 0..255, higher preferred among claims of the same prefix. */
  readonly priority: number;
  /** Take the prefix from a lower-priority claimant that serves it (after preemptDelayMs). */
  readonly preempt: boolean;
  /** With preempt: how long the claim must have been up before it preempts. */
  readonly preemptDelayMs: number;
  /** Rise/fall of its health check; null when it has none (then it is always healthy). */
  readonly health: HealthThresholds | null;
}

/** What our own claim is doing, as reported in events and status. */
export type OwnClaimRole = 'active' | 'standby' | 'withdrawn';

export class OwnClaim {
  readonly key: string;
  readonly gate: HealthGate | null;
  drained = false;
  epoch = 0;
  /** When it last became up (healthy and not drained); null while withdrawn. */
  upSinceMs: number | null;
  /** Last role reported in an event (null: none yet). */
  role: OwnClaimRole | null = null;

  constructor(readonly spec: OwnClaimSpec) {
    this.key = formatPrefix(spec.prefix);
    this.gate = spec.health ? new HealthGate(spec.health) : null;
    this.upSinceMs = null;
  }

  /** The node starts: a claim without a health check is up from now. */
  begin(now: number): void {
    if (!this.gate && !this.drained) this.upSinceMs = now;
  }

  get state(): ClaimState {
    if (this.drained) return 'drained';
    return this.gate && !this.gate.healthy ? 'unhealthy' : 'up';
  }

  /** When this claim may preempt (Infinity: never, or not up). */
  preemptAtMs(): number {
    if (!this.spec.preempt || this.upSinceMs === null) return Infinity;
    return this.upSinceMs + this.spec.preemptDelayMs;
  }

  record(now: number): ClaimRecord {
    const state = this.state;
    return {
      prefix: this.spec.prefix,
      priority: this.spec.priority,
      preempt: state === 'up' && now >= this.preemptAtMs(),
      state,
      epoch: state === 'up' ? this.epoch : 0,
    };
  }

  /** Re-evaluate after health or drain changed; true if the announced state changed. */
  private settle(now: number, before: ClaimState): boolean {
    const after = this.state;
    if (after === before) return false;
    if (after === 'up') this.upSinceMs = now;
    else {
      this.upSinceMs = null;
      this.epoch = 0;
    }
    return true;
  }

  observeHealth(now: number, ok: boolean, detail: string): boolean {
    if (!this.gate) return false;
    const before = this.state;
    this.gate.observe(ok, detail);
    return this.settle(now, before);
  }

  setDrained(now: number, drained: boolean): boolean {
    const before = this.state;
    this.drained = drained;
    return this.settle(now, before);
  }
}

export class OwnClaims {
  readonly list: readonly OwnClaim[];
  private readonly byKey = new Map<string, OwnClaim>();

  constructor(specs: readonly OwnClaimSpec[]) {
    const list: OwnClaim[] = [];
    for (const spec of specs) {
      const c = new OwnClaim(spec);
      if (this.byKey.has(c.key)) continue; // config dedupes; stay safe
      this.byKey.set(c.key, c);
      list.push(c);
    }
    this.list = list;
  }

  begin(now: number): void {
    for (const c of this.list) c.begin(now);
  }

  get(key: string): OwnClaim | undefined {
    return this.byKey.get(key);
  }

  /** Every prefix we claim, withdrawn or not: we deliver packets for all of them. */
  prefixes(): Prefix[] {
    return this.list.map((c) => c.spec.prefix);
  }

  records(now: number): ClaimRecord[] {
    return this.list.map((c) => c.record(now));
  }

  /**
   * The claims `keys` names (all when null); unknown names are returned in `unknown`.
   * Used by drain and undrain.
   */
  select(keys: readonly string[] | null): { claims: OwnClaim[]; unknown: string[] } {
    if (keys === null) return { claims: [...this.list], unknown: [] };
    const claims: OwnClaim[] = [];
    const unknown: string[] = [];
    for (const k of keys) {
      const c = this.byKey.get(k);
      if (c) claims.push(c);
      else unknown.push(k);
    }
    return { claims, unknown };
  }

  /** The next moment a claim becomes ready to preempt (its announcement changes then). */
  nextDeadline(now: number): number {
    let next = Infinity;
    for (const c of this.list) {
      const at = c.preemptAtMs();
      if (at > now && at < next) next = at;
    }
    return next;
  }
}
