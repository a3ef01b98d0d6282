// Keys that fall due in the order they were set: for timers with one interval for every key
// (a grave's stay, a Leave retransmit, a self mark), where setting a key again moves it to the
// end. Then the oldest entry is the next due, and a wake-up looks only at what is due. The
// next deadline is cached, so reading it (after every batch of packets) allocates nothing.
// Keys set with times out of order are still handled, just no earlier than those before them.
import { DeadlineChanges } from './timer-heap.js';

export class DueQueue<K> {
  private readonly at = new Map<K, number>();
  private head = Infinity;
  private headKnown = true;

  constructor(private readonly changes: DeadlineChanges = new DeadlineChanges()) {}

  get size(): number {
    return this.at.size;
  }

  has(key: K): boolean {
    return this.at.has(key);
  }

  get(key: K): number | undefined {
    return this.at.get(key);
  }

  keys(): IterableIterator<K> {
    return this.at.keys();
  }

  /** `key` falls due at `at`; it goes to the end of the queue. */
  set(key: K, at: number): void {
    this.delete(key);
    this.changes.n++;
    this.at.set(key, at);
    if (this.at.size === 1) this.head = at;
  }

  delete(key: K): boolean {
    if (!this.at.delete(key)) return false;
    this.changes.n++;
    this.headKnown = false;
    return true;
  }

  clear(): void {
    this.changes.n++;
    this.at.clear();
    this.head = Infinity;
    this.headKnown = true;
  }

  /** The oldest key (the next to fall due), if any. */
  oldest(): K | undefined {
    return this.at.keys().next().value;
  }

  /** When the oldest key falls due (Infinity: none). */
  next(): number {
    if (!this.headKnown) {
      const first = this.at.values().next();
      this.head = first.done ? Infinity : first.value;
      this.headKnown = true;
    }
    return this.head;
  }

  /** Take out the keys due by `now` from the front, oldest first. */
  popDue(now: number): K[] {
    const out: K[] = [];
    for (const [key, at] of this.at) {
      if (now < at) break;
      out.push(key);
    }
    for (const key of out) this.delete(key);
    return out;
  }
}
