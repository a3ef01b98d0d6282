// Binds the sans-IO engine to the real world: TUN batches and UDP datagrams go in with the
// monotonic time, and one timer is kept armed for the engine's next deadline. Re-arming is
// batched (once per event-loop turn), so the per-packet path never touches the timer.
// The transport may queue sends (sendmmsg): it is flushed after every TUN batch and timer run.
import { performance } from 'node:perf_hooks';
import type { Engine } from '../core/engine.js';
import type { TunDevice } from '../io/tun.js';
import type { Transport } from '../io/udp.js';

/** Timers fire at least this late after their deadline: coalesces bursts of deadlines. */
const TIMER_SLACK_MS = 1;

export function monotonicMs(): number {
  return performance.now();
}

export class DataPlane {
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private rearmQueued = false;
  private stopped = false;

  constructor(
    private readonly engine: Engine,
    private readonly tun: TunDevice,
    private readonly transport: Transport,
  ) {}

  start(): void {
    const engine = this.engine;
    this.tun.onPackets((batch) => {
      const now = monotonicMs();
      const { buffer, meta } = batch;
      for (let i = 0; i < batch.count; i++) {
        const offset = meta[2 * i]!;
        engine.handleTunPacket(now, buffer.subarray(offset, offset + meta[2 * i + 1]!));
      }
      this.transport.flush();
      this.queueRearm();
    });
    this.transport.onDatagram((from, data) => {
      engine.handleDatagram(monotonicMs(), from, data);
      this.queueRearm();
    });
    engine.start(monotonicMs());
    this.rearm();
  }

  /** Let the engine act now (after a call made outside the packet handlers). */
  poke(): void {
    this.queueRearm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private queueRearm(): void {
    if (this.rearmQueued || this.stopped) return;
    this.rearmQueued = true;
    setImmediate(() => {
      this.rearmQueued = false;
      this.rearm();
    });
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
    this.engine.handleTimeout(monotonicMs());
    this.transport.flush();
    this.rearm();
  }
}
