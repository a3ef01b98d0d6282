// When queued writes leave: the adapters that queue (native TUN writes, native UDP sends)
// promise a flush at the latest at the end of the current event-loop callback. The first
// write of a callback schedules it as a microtask, unless the caller corked the adapter,
// i.e. promised to call flush() itself before returning (the data plane does, around each
// batch), which saves the microtask and its ~230 bytes of allocation.

export class FlushGate {
  private pending = false;
  private readonly task = (): void => this.flush();

  constructor(private readonly flush: () => void) {}

  /** Something was queued: make sure a flush comes. */
  queued(): void {
    if (!this.pending) {
      this.pending = true;
      queueMicrotask(this.task);
    }
  }

  /** The caller will flush before it returns to the event loop. */
  cork(): void {
    this.pending = true;
  }

  /** A flush is happening: the next queued write needs a new one. */
  flushed(): void {
    this.pending = false;
  }
}
