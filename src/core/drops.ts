// Drop counters. Every dropped datagram or packet is counted under exactly one reason; the
// matching event is rate-limited so a flood of garbage cannot flood the log, while the
// counters (for status and metrics) stay exact.
import { DROP_EVENT_INTERVAL_MS } from './constants.js';
import type { EventSink } from './events.js';
import { DROP_REASONS, type DropReason } from './types.js';

export class DropCounters {
  readonly counts: Record<DropReason, number>;
  private readonly unreported: Record<DropReason, number>;
  private readonly nextEventAt: Record<DropReason, number>;

  constructor(private readonly emit: EventSink, private readonly intervalMs = DROP_EVENT_INTERVAL_MS) {
    this.counts = zeroes();
    this.unreported = zeroes();
    this.nextEventAt = zeroes();
  }

  /** Count `n` drops (one event at most, rate-limited). */
  count(reason: DropReason, now: number, detail?: string, n = 1): void {
    this.counts[reason] += n;
    this.unreported[reason] += n;
    if (now < this.nextEventAt[reason]) return;
    const count = this.unreported[reason];
    this.unreported[reason] = 0;
    this.nextEventAt[reason] = now + this.intervalMs;
    this.emit({ type: 'drop', reason, count, total: this.counts[reason], ...(detail === undefined ? {} : { detail }) });
  }

  snapshot(): Record<DropReason, number> {
    return { ...this.counts };
  }
}

function zeroes(): Record<DropReason, number> {
  const out = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) out[r] = 0;
  return out;
}
