// Health hysteresis of one claim: a claim with a health check is advertised only after
// `rise` consecutive successful checks and withdrawn after `fall` consecutive failures, so a
// flapping check can never move a route more often than once per rise (or fall) checks.
// Pure: the daemon runs the checks and feeds their results in; the simulator does the same.
//
// A claim with a check starts unhealthy (not advertised): a service that is not up yet must
// not attract traffic at start-up. Defaults follow keepalived and HAProxy: rise 2, fall 2.

export const DEFAULT_HEALTH_RISE = 2;
export const DEFAULT_HEALTH_FALL = 2;

export interface HealthThresholds {
  /** Consecutive successes before an unhealthy claim is advertised (again). */
  rise: number;
  /** Consecutive failures before a healthy claim is withdrawn. */
  fall: number;
}

export class HealthGate {
  healthy = false;
  /** Consecutive results that disagree with `healthy` (toward a change). */
  private streak = 0;
  /** Checks seen so far, and the latest result's detail (for status). */
  checks = 0;
  lastOk: boolean | null = null;
  lastDetail = '';

  constructor(private readonly t: HealthThresholds) {
    if (!(t.rise >= 1 && t.fall >= 1)) throw new RangeError('health rise and fall must be at least 1');
  }

  /** One check result; true if the health state changed. */
  observe(ok: boolean, detail = ''): boolean {
    this.checks++;
    this.lastOk = ok;
    this.lastDetail = detail;
    if (ok === this.healthy) {
      this.streak = 0;
      return false;
    }
    this.streak++;
    if (this.streak < (ok ? this.t.rise : this.t.fall)) return false;
    this.healthy = ok;
    this.streak = 0;
    return true;
  }
}
