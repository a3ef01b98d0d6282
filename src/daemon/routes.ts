// Kernel routes for other nodes' claims: `route replace PREFIX dev DEVICE` for every prefix
// claimed by another node that lies outside this node's own networks, removed again when the
// claim disappears, so users need not route claimed subnets through the TUN by hand.
//
// Never routed through the tunnel:
//   - prefixes inside `ownNetworks` (the interface's network is routed by the kernel already;
//     the daemon also passes its own --claim subnets, so a LAN a node serves itself is never
//     hijacked by a route through the TUN);
//   - default routes (/0): they would also capture the UDP traffic that carries the tunnel;
//   - anything a peer may not claim (claim-policy.ts: outside the private and shared ranges
//     and `allowed-routes`). The engine already ignores such claims; this is the second lock.
// One change set is one `ip -force -batch -` process (not one per prefix: a peer with many
// claims must not fork many processes); batches run one after another; errors are logged per
// line, never thrown.
import { execFile } from 'node:child_process';
import type { Logger } from '../log/logger.js';
import { formatPrefix, type Prefix } from '../wire/addr.js';
import { prefixWithin, routeDenial } from '../core/claim-policy.js';
import { errorText } from '../log/text.js';

export { prefixWithin } from '../core/claim-policy.js';

/** A line of a batch that failed, and why (iproute2's message). */
export interface BatchFailure {
  /** 0-based index into the lines given. */
  line: number;
  error: string;
}

/** Runs `ip` batch lines; resolves with the lines that failed, rejects if `ip` could not run. */
export type RunIpBatch = (lines: string[]) => Promise<BatchFailure[]>;

export interface KernelRoutesOptions {
  device: string;
  ownNetworks: Prefix[];
  /** Prefixes peers may claim beyond the private and shared ranges (`allowed-routes`). */
  allowedRoutes?: readonly Prefix[];
  run?: RunIpBatch;
  log: Logger;
}

export interface RoutePlan {
  add: Prefix[];
  /** Prefix texts of installed routes to delete. */
  remove: string[];
}

/** The prefixes that should have a route through the TUN, deduplicated, keyed by their text. */
export function wantedRoutes(claimed: readonly Prefix[], ownNetworks: readonly Prefix[], allowedRoutes: readonly Prefix[] = []): Map<string, Prefix> {
  const out = new Map<string, Prefix>();
  for (const p of claimed) {
    if (p.len === 0) continue;
    if (ownNetworks.some((own) => prefixWithin(p, own))) continue;
    if (routeDenial(p, allowedRoutes) !== null) continue;
    out.set(formatPrefix(p), p);
  }
  return out;
}

/** What to change to go from the installed routes to the wanted ones. */
export function planRoutes(
  installed: Iterable<string>,
  claimed: readonly Prefix[],
  ownNetworks: readonly Prefix[],
  allowedRoutes: readonly Prefix[] = [],
): RoutePlan {
  const wanted = wantedRoutes(claimed, ownNetworks, allowedRoutes);
  const have = new Set(installed);
  return {
    add: [...wanted].filter(([text]) => !have.has(text)).map(([, p]) => p),
    remove: [...have].filter((text) => !wanted.has(text)),
  };
}

export class KernelRoutes {
  private readonly device: string;
  private readonly ownNetworks: Prefix[];
  private readonly allowedRoutes: readonly Prefix[];
  private readonly run: RunIpBatch;
  private readonly log: Logger;
  /** Routes we added (and did not delete yet), by prefix text. */
  private readonly installed = new Map<string, Prefix>();
  /** The latest requested set; applied by the queue, so bursts of changes coalesce. */
  private desired: Prefix[] = [];
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: KernelRoutesOptions) {
    this.device = opts.device;
    this.ownNetworks = [...opts.ownNetworks];
    this.allowedRoutes = [...(opts.allowedRoutes ?? [])];
    this.run = opts.run ?? runIpBatch;
    this.log = opts.log;
  }

  /** Routes currently installed by us (prefix texts), for status and tests. */
  get routes(): string[] {
    return [...this.installed.keys()];
  }

  /** Make the kernel routes match `prefixes` (the prefixes other nodes claim). Resolves when applied. */
  sync(prefixes: Prefix[]): Promise<void> {
    if (this.closed) return this.queue;
    this.desired = [...prefixes];
    return this.enqueue(() => this.apply(this.desired));
  }

  /** Removes every route this instance added; later sync() calls do nothing. */
  close(): Promise<void> {
    this.closed = true;
    return this.enqueue(() => this.apply([]));
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private async apply(claimed: Prefix[]): Promise<void> {
    const plan = planRoutes(this.installed.keys(), claimed, this.ownNetworks, this.allowedRoutes);
    if (plan.add.length === 0 && plan.remove.length === 0) return;
    const added = plan.add.map(formatPrefix);
    const dev = this.device;
    const lines = [...plan.remove.map((text) => `route del ${text} dev ${dev}`), ...added.map((text) => `route replace ${text} dev ${dev}`)];
    const failed = new Map<number, string>();
    try {
      for (const f of await this.run(lines)) failed.set(f.line, f.error);
    } catch (e) {
      lines.forEach((_, i) => failed.set(i, errorText(e)));
    }
    plan.remove.forEach((text, i) => {
      const error = failed.get(i);
      // Usually the route is gone already (the device went down); retrying would not help.
      if (error !== undefined) this.log.warn('cannot remove kernel route', { prefix: text, dev, error });
      else this.log.debug('kernel route removed', { prefix: text, dev });
      this.installed.delete(text);
    });
    added.forEach((text, i) => {
      const error = failed.get(plan.remove.length + i);
      // Not recorded as installed, so the next sync tries again.
      if (error !== undefined) return this.log.warn('cannot add kernel route', { prefix: text, dev, error });
      this.installed.set(text, plan.add[i]!);
      this.log.debug('kernel route added', { prefix: text, dev });
    });
  }
}

/**
 * Which lines of an `ip -force -batch` run failed, from its stderr: each failure is its
 * message line(s) followed by "Command failed -:N" (N counted from 1).
 */
export function parseBatchErrors(stderr: string): BatchFailure[] {
  const out: BatchFailure[] = [];
  let message: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)\s*$/.exec(line.trim());
    if (m) {
      out.push({ line: Number(m[1]) - 1, error: message.join('; ') || 'failed' });
      message = [];
    } else if (line.trim() !== '') {
      message.push(line.trim());
    }
  }
  return out;
}

/** The real `ip` (iproute2): one `ip -force -batch -` process per change set, bounded in time. */
export function runIpBatch(lines: string[]): Promise<BatchFailure[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['-force', '-batch', '-'], { timeout: 10_000 }, (err, _stdout, stderr) => {
      const failures = parseBatchErrors(String(stderr));
      // Exit status 1 with per-line failures is a partial success; anything else is a failure of `ip` itself.
      if (!err || (err.code === 1 && failures.length > 0)) return resolve(failures);
      const why = String(stderr).trim().split('\n').pop() || err.message;
      reject(new Error(`ip -batch: ${why}`));
    });
    child.stdin?.on('error', () => {}); // ip exited early: the callback above reports it
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}
