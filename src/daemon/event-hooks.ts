// Event hooks: operator scripts run on HA events (`hooks:` in YAML, `--hook SCRIPT`). Each run
// gets the event as environment variables (HOOK_VARIABLES below). Scripts run asynchronously,
// off the data path, one at a time and in event order per prefix (per peer for peer events),
// each bounded by the hook timeout; a failing or hanging script is logged and the queue moves
// on. A queue that a stuck script lets grow past MAX_QUEUED_PER_KEY drops its oldest events
// (logged), so a slow script can never hold unbounded memory.
import type { EventHookConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { runHook } from './hooks.js';

import { HA_EVENTS, type HaEvent } from '../core/events.js';

export const HOOK_EVENTS = HA_EVENTS;
export type HookEvent = HaEvent;

/** Pending events per prefix (or peer) while a script runs. */
export const MAX_QUEUED_PER_KEY = 64;

/** What a hook script is told. Unset fields are passed as empty strings. */
export interface HookEventData {
  event: HookEvent;
  /** The prefix the event is about (claim and failover events). */
  prefix?: string;
  /** The peer the event is about (peer events; the new active claimant for failover). */
  peer?: string;
  /** Why: peer-down (timeout, leave, replaced), claim-withdrawn (health, drain), failover cause. */
  reason?: string;
  /** failover: previous and new active claimant ("self" for this node). */
  from?: string;
  to?: string;
  /** failover: how long the prefix had no working claimant, in ms. */
  gapMs?: number;
  /** peer-up: the peer's endpoint. */
  endpoint?: string;
}

/** The environment variables every hook run gets (documented in the README). */
export const HOOK_VARIABLES = ['EVENT', 'IFNAME', 'NODE_ID', 'PREFIX', 'PEER', 'REASON', 'FROM', 'TO', 'GAP_MS', 'ENDPOINT'] as const;

export type { EventHookConfig } from '../config/types.js';

export function hookEnv(e: HookEventData, ifname: string, nodeId: string): Record<string, string> {
  return {
    EVENT: e.event,
    IFNAME: ifname,
    NODE_ID: nodeId,
    PREFIX: e.prefix ?? '',
    PEER: e.peer ?? '',
    REASON: e.reason ?? '',
    FROM: e.from ?? '',
    TO: e.to ?? '',
    GAP_MS: e.gapMs === undefined ? '' : String(Math.round(e.gapMs)),
    ENDPOINT: e.endpoint ?? '',
  };
}

type Runner = (kind: string, script: string, env: Record<string, string>, log: Logger, timeoutMs: number) => Promise<void>;

export class EventHooks {
  private readonly queues = new Map<string, HookEventData[]>();
  private readonly running = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly config: EventHookConfig,
    private readonly ifname: string,
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly run: Runner = runHook,
  ) {}

  get enabled(): boolean {
    return this.config.all.length > 0 || Object.values(this.config.byEvent).some((s) => s && s.length > 0);
  }

  /** Queue an event; returns at once. */
  emit(e: HookEventData): void {
    if (this.closed || this.scriptsFor(e.event).length === 0) return;
    const key = e.prefix !== undefined ? `prefix ${e.prefix}` : `peer ${e.peer ?? ''}`;
    let q = this.queues.get(key);
    if (!q) {
      q = [];
      this.queues.set(key, q);
    }
    q.push(e);
    if (q.length > MAX_QUEUED_PER_KEY) {
      const lost = q.shift()!;
      this.log.warn(`hook queue for ${key} is full: dropped the oldest event (${lost.event})`, { limit: MAX_QUEUED_PER_KEY });
    }
    if (!this.running.has(key)) void this.drain(key);
  }

  /** Resolves when no script runs and nothing is queued (tests, shutdown). */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop taking events; what is queued still runs. */
  close(): Promise<void> {
    this.closed = true;
    return this.idle();
  }

  private scriptsFor(event: HookEvent): readonly string[] {
    return [...this.config.all, ...(this.config.byEvent[event] ?? [])];
  }

  private async drain(key: string): Promise<void> {
    this.running.add(key);
    const q = this.queues.get(key)!;
    while (q.length > 0) {
      const e = q.shift()!;
      const env = hookEnv(e, this.ifname, this.nodeId);
      for (const script of this.scriptsFor(e.event)) {
        await this.run(`${e.event} hook`, script, env, this.log, this.config.timeoutMs);
      }
    }
    this.queues.delete(key);
    this.running.delete(key);
    if (this.running.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
