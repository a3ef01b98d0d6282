// The daemon's HA plumbing around the engine: runs the health checks of our claims and feeds
// their results in, turns engine events into event-hook runs, and serves drain/undrain on the
// control socket. Everything here is off the data path.
import type { Config } from '../config/types.js';
import { ownClaims } from '../config/resolve.js';
import type { Engine } from '../core/engine.js';
import type { EngineEvent } from '../core/events.js';
import type { PeerId } from '../core/types.js';
import type { Logger } from '../log/logger.js';
import { controlDrain, type DrainReply } from '../status/control-commands.js';
import { EventHooks } from './event-hooks.js';
import { HealthChecker } from './health-checker.js';
import { describeProbe } from './health-probe.js';
import { monotonicMs } from './dataplane.js';
import { formatPrefix } from '../wire/addr.js';

/** At shutdown, event hooks still running or queued get this long. */
const HOOKS_AT_EXIT_MS = 2_000;

export class HaPlumbing {
  readonly hooks: EventHooks;
  private checker: HealthChecker | null = null;
  private engine: Engine | null = null;

  constructor(private readonly config: Config, ifname: string, private readonly nodeId: PeerId, private readonly log: Logger) {
    this.hooks = new EventHooks(config.hooks, ifname, nodeId, log);
  }

  /** Every engine event passes here (after logging). */
  onEvent(e: EngineEvent): void {
    if (!this.hooks.enabled) return;
    const who = (id: PeerId | null) => (id === null ? '' : id === this.nodeId ? 'self' : id);
    switch (e.type) {
      case 'peer-up':
        return this.hooks.emit({ event: 'peer-up', peer: e.peer, endpoint: e.endpoint });
      case 'peer-down':
        return this.hooks.emit({ event: 'peer-down', peer: e.peer, reason: e.reason });
      case 'claim-state':
        return this.hooks.emit({ event: `claim-${e.role}`, prefix: e.prefix, ...(e.reason ? { reason: e.reason } : {}) });
      case 'route-change':
        if (e.from === null || e.to === null || e.from === e.to) return;
        return this.hooks.emit({ event: 'failover', prefix: e.prefixText, from: who(e.from), to: who(e.to), reason: e.cause, gapMs: e.gapMs });
      default:
    }
  }

  /** The engine runs: start the health checks; `poke` re-arms the engine's timer after a result. */
  start(engine: Engine, poke: () => void): void {
    this.engine = engine;
    const checks = ownClaims(this.config).flatMap((c) => c.health
      ? [{ claim: formatPrefix(c.prefix), probe: c.health.probe, intervalMs: c.health.intervalMs, timeoutMs: c.health.timeoutMs }]
      : []);
    if (checks.length === 0) return;
    for (const c of checks) this.log.info(`health check for ${c.claim}: ${describeProbe(c.probe)} every ${c.intervalMs} ms`);
    this.checker = new HealthChecker(checks, (claim, r) => {
      engine.healthResult(monotonicMs(), claim, r.ok, r.detail);
      poke();
    }, { NODE_ID: this.nodeId });
    this.checker.start();
  }

  /** drain/undrain from the control socket. */
  control(cmd: string, args: Record<string, unknown>, poke: () => void): Promise<DrainReply> | null {
    const engine = this.engine;
    if (!engine || (cmd !== 'drain' && cmd !== 'undrain')) return null;
    return controlDrain({
      drain: (p) => { const r = engine.drain(monotonicMs(), p); poke(); return r; },
      undrain: (p) => { const r = engine.undrain(monotonicMs(), p); poke(); return r; },
      drainProgress: (p) => engine.drainProgress(p),
    }, args, cmd === 'undrain');
  }

  /** Stop checking; give hook scripts still queued a moment to finish (not the whole timeout). */
  async close(): Promise<void> {
    this.checker?.stop();
    await Promise.race([this.hooks.close(), new Promise((r) => setTimeout(r, HOOKS_AT_EXIT_MS).unref())]);
  }
}
