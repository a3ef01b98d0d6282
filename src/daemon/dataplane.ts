// Binds the sans-IO engine to the real world: TUN batches and UDP datagrams go in with the
// monotonic time, and one timer is kept armed for the engine's next deadline. Re-arming after
// packets only compares the engine's (cached) next deadline with the armed one, and touches
// the timer only when the deadline moved earlier. It is done in the same callback rather than
// deferred with setImmediate: a deferred check costs every wake-up an extra event-loop turn.
// The transport may queue sends (sendmmsg) and the TUN device writes: each is corked while a
// batch of the other side (or a timer run) is handled and flushed right after it, so neither
// schedules a flush microtask of its own (queueMicrotask allocates ~230 bytes per call).
// Per packet nothing is allocated: packet views are reused per buffer offset (views.ts), and the
// clock is read once per TUN batch and once per datagram batch, because performance.now()
// returns a freshly boxed number (16 bytes) on every call.
import { performance } from 'node:perf_hooks';
import type { Engine } from '../core/engine.js';
import type { TunDevice } from '../io/tun.js';
import type { Transport } from '../io/udp.js';
import { ViewCache } from '../io/views.js';

/** Timers fire at least this late after their deadline: coalesces bursts of deadlines. */
const TIMER_SLACK_MS = 1;

export function monotonicMs(): number {
  return performance.now();
}

export class DataPlane {
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;
  private readonly views = new ViewCache();
  /**
   * Time of the datagrams of the current receive batch; null between batches. Holding null at
   * times also keeps V8 storing the field as a reference to one boxed number, so handing it
   * to the engine per datagram boxes nothing (a double-only field is re-boxed on every read).
   */
  private datagramNow: number | null = null;
  /** After each receive batch: its TUN writes leave, the next batch reads the clock afresh, and the timer follows. */
  private readonly datagramsDone = (): void => {
    this.datagramNow = null;
    this.tun.flush();
    this.rearm();
  };

  constructor(
    private readonly engine: Engine,
    private readonly tun: TunDevice,
    private readonly transport: Transport,
  ) {}

  start(): void {
    const engine = this.engine;
    const views = this.views;
    this.tun.onPackets((batch) => {
      const now = monotonicMs();
      const { buffer, meta } = batch;
      this.transport.cork?.();
      try {
        for (let i = 0; i < batch.count; i++) {
          engine.handleTunPacket(now, views.view(buffer, meta[2 * i]!, meta[2 * i + 1]!));
        }
      } finally {
        this.transport.flush();
      }
      this.rearm();
    });
    this.transport.onDatagram(
      (from, data) => engine.handleDatagram(this.datagramClock(), from, data),
      this.datagramsDone,
    );
    engine.start(monotonicMs());
    this.rearm();
  }

  /** Let the engine act now (after a call made outside the packet handlers). */
  poke(): void {
    this.rearm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The monotonic time, read at the first datagram of a receive batch (which also corks the TUN device). */
  private datagramClock(): number {
    let now = this.datagramNow;
    if (now === null) {
      now = this.datagramNow = monotonicMs();
      this.tun.cork?.();
    }
    return now;
  }

  private rearm(): void {
    if (this.stopped) return;
    const deadline = this.engine.nextDeadline();
    if (deadline >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = deadline;
    if (!Number.isFinite(deadline)) {
      this.timer = null;
      return;
    }
    const delay = Math.max(0, deadline - monotonicMs()) + TIMER_SLACK_MS;
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    if (this.stopped) return;
    this.transport.cork?.();
    try {
      this.engine.handleTimeout(monotonicMs());
    } finally {
      this.transport.flush();
    }
    this.rearm();
  }
}
