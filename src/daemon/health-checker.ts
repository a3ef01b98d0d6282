// Runs the health checks of this node's claims off the data path: one timer per claim, at
// most one check in flight per claim (the next starts `interval` after the previous one
// started, or right after it ended if it took longer), each bounded by its timeout. Results
// go to `onResult`; the engine applies the rise/fall hysteresis (core/health.ts).
import { runProbe, type HealthProbeSpec, type ProbeResult } from './health-probe.js';

export interface ClaimHealthCheck {
  /** The claim's prefix text (the key results are reported under). */
  claim: string;
  probe: HealthProbeSpec;
  intervalMs: number;
  timeoutMs: number;
}

export type ProbeRunner = (p: HealthProbeSpec, timeoutMs: number, env: Record<string, string>) => Promise<ProbeResult>;

export class HealthChecker {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly checks: readonly ClaimHealthCheck[],
    private readonly onResult: (claim: string, r: ProbeResult) => void,
    private readonly env: Record<string, string> = {},
    private readonly run: ProbeRunner = runProbe,
  ) {}

  start(): void {
    for (const c of this.checks) this.schedule(c, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(c: ClaimHealthCheck, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => void this.once(c), Math.max(0, delayMs));
    timer.unref();
    this.timers.set(c.claim, timer);
  }

  private async once(c: ClaimHealthCheck): Promise<void> {
    const started = Date.now();
    let r: ProbeResult;
    try {
      r = await this.run(c.probe, c.timeoutMs, { ...this.env, PREFIX: c.claim });
    } catch (e) {
      r = { ok: false, detail: `check failed: ${(e as Error).message}` };
    }
    if (this.stopped) return;
    this.onResult(c.claim, r);
    this.schedule(c, started + c.intervalMs - Date.now());
  }
}
