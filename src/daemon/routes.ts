// Kernel routes for other nodes' claims: `ip route replace PREFIX dev DEVICE` for every prefix
// claimed by another node that lies outside this node's own networks, removed again when the
// claim disappears, so users need not route claimed subnets through the TUN by hand.
//
// Never routed through the tunnel:
//   - prefixes inside `ownNetworks` (the interface's network is routed by the kernel already;
//     the daemon also passes its own --claim subnets, so a LAN a node serves itself is never
//     hijacked by a route through the TUN);
//   - default routes (/0): they would also capture the UDP traffic that carries the tunnel.
// All `ip` invocations run one after another; errors are logged, never thrown.
import { execFile } from 'node:child_process';
import type { Logger } from '../log/logger.js';
import { formatPrefix, prefixContains, type Prefix } from '../wire/addr.js';
import { errorText } from '../log/text.js';

export type RunIp = (args: string[]) => Promise<void>;

export interface KernelRoutesOptions {
  device: string;
  ownNetworks: Prefix[];
  /** Runs `ip` with these arguments; rejects with a one-line message on failure. */
  run?: RunIp;
  log: Logger;
}

export interface RoutePlan {
  add: Prefix[];
  /** Prefix texts of installed routes to delete. */
  remove: string[];
}

/** Is `inner` entirely inside `outer`? */
export function prefixWithin(inner: Prefix, outer: Prefix): boolean {
  return inner.family === outer.family && outer.len <= inner.len && prefixContains(outer, inner.bytes);
}

/** The prefixes that should have a route through the TUN, deduplicated, keyed by their text. */
export function wantedRoutes(claimed: readonly Prefix[], ownNetworks: readonly Prefix[]): Map<string, Prefix> {
  const out = new Map<string, Prefix>();
  for (const p of claimed) {
    if (p.len === 0) continue;
    if (ownNetworks.some((own) => prefixWithin(p, own))) continue;
    out.set(formatPrefix(p), p);
  }
  return out;
}

/** What to change to go from the installed routes to the wanted ones. */
export function planRoutes(installed: Iterable<string>, claimed: readonly Prefix[], ownNetworks: readonly Prefix[]): RoutePlan {
  const wanted = wantedRoutes(claimed, ownNetworks);
  const have = new Set(installed);
  return {
    add: [...wanted].filter(([text]) => !have.has(text)).map(([, p]) => p),
    remove: [...have].filter((text) => !wanted.has(text)),
  };
}

export class KernelRoutes {
  private readonly device: string;
  private readonly ownNetworks: Prefix[];
  private readonly run: RunIp;
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
    this.run = opts.run ?? runIp;
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
    const plan = planRoutes(this.installed.keys(), claimed, this.ownNetworks);
    for (const text of plan.remove) {
      const prefix = this.installed.get(text)!;
      try {
        await this.run([...familyFlag(prefix), 'route', 'del', text, 'dev', this.device]);
        this.log.debug('kernel route removed', { prefix: text, dev: this.device });
      } catch (e) {
        // Usually the route is gone already (the device went down); retrying would not help.
        this.log.warn('cannot remove kernel route', { prefix: text, dev: this.device, error: errorText(e) });
      }
      this.installed.delete(text);
    }
    for (const prefix of plan.add) {
      const text = formatPrefix(prefix);
      try {
        await this.run([...familyFlag(prefix), 'route', 'replace', text, 'dev', this.device]);
        this.installed.set(text, prefix);
        this.log.debug('kernel route added', { prefix: text, dev: this.device });
      } catch (e) {
        // Not recorded as installed, so the next sync tries again.
        this.log.warn('cannot add kernel route', { prefix: text, dev: this.device, error: errorText(e) });
      }
    }
  }
}

function familyFlag(p: Prefix): string[] {
  return p.family === 6 ? ['-6'] : ['-4'];
}

/** The real `ip` (iproute2), bounded in time; rejects with its stderr on failure. */
export function runIp(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = String(stderr).trim().split('\n').pop() || err.message;
      reject(new Error(`ip ${args.join(' ')}: ${why}`));
    });
  });
}
