// Deadlines of many timers (one per peer, session or dial target) in a binary min-heap, so a
// wake-up touches only what is due: O(log n) per timer that runs, however many there are.
//
// Each owner keeps one Timer (its deadline and its place in the heap), so rescheduling
// allocates nothing, and every heap holds objects of one shape, so reading the next deadline
// (after every batch of packets) stays cheap and allocation-free. A timer belongs to one heap.
// Ties run in the order the timers were first scheduled, so a run is deterministic. The
// owner's own code computes what is due and when it is due next in one function (run, then
// return the next deadline); anything else that may make a deadline earlier calls runBy(), and
// a deadline that turns out early is harmless: the owner runs, finds nothing due and returns
// the right one.
//
// Heaps (and due-queue.ts) can count their changes in a shared DeadlineChanges, so whoever
// takes the minimum over several of them (engine.ts, after every batch of packets) can keep it
// until one changes: the data path reads a cached number and computes nothing.

/** Changes of the deadlines in some heaps and queues (each change adds one). */
export class DeadlineChanges {
  n = 0;
}

export class Timer<T> {
  /** When the owner next has something due (Infinity: not in the heap). */
  at = Infinity;
  /** Index in the heap's array; -1 while not in it. */
  pos = -1;
  /** Tie-breaker: order of first scheduling (0: never scheduled). */
  seq = 0;
  /** Set right after the owner is made (owners are often object literals holding their timer). */
  owner!: T;
}

/** Give `owner` its timer's back reference; returns `owner`. */
export function withTimer<T extends { readonly timer: Timer<T> }>(owner: T): T {
  owner.timer.owner = owner;
  return owner;
}

export class TimerHeap<T> {
  private readonly items: Timer<T>[] = [];
  private seq = 0;

  constructor(private readonly changes: DeadlineChanges = new DeadlineChanges()) {}

  get size(): number {
    return this.items.length;
  }

  /** The earliest deadline (Infinity: none). */
  next(): number {
    return this.items.length === 0 ? Infinity : this.items[0]!.at;
  }

  /** Run the timer's owner at `at` (Infinity, or NaN, takes it out). */
  schedule(t: Timer<T>, at: number): void {
    if (!(at < Infinity)) return this.cancel(t);
    this.changes.n++;
    if (t.seq === 0) t.seq = ++this.seq;
    if (t.pos < 0) {
      t.at = at;
      t.pos = this.items.length;
      this.items.push(t);
      this.up(t.pos);
      return;
    }
    const earlier = at < t.at;
    t.at = at;
    if (earlier) this.up(t.pos);
    else this.down(t.pos);
  }

  /** Make sure the owner runs by `at` (a later deadline is brought forward, an earlier one kept). */
  runBy(t: Timer<T>, at: number): void {
    if (t.pos < 0 || at < t.at) this.schedule(t, at);
  }

  cancel(t: Timer<T>): void {
    if (t.pos < 0) return;
    this.changes.n++;
    const i = t.pos;
    const last = this.items.pop()!;
    t.pos = -1;
    t.at = Infinity;
    if (last === t) return;
    this.items[i] = last;
    last.pos = i;
    this.down(i);
    this.up(last.pos);
  }

  /** Take out the owners due by `now`, earliest first (they run, then schedule themselves again). */
  popDue(now: number): T[] {
    const out: T[] = [];
    while (this.items.length > 0 && this.items[0]!.at <= now) {
      const top = this.items[0]!;
      this.cancel(top);
      out.push(top.owner);
    }
    return out;
  }

  private up(i: number): void {
    const a = this.items;
    const t = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p]!;
      if (!before(t, parent)) break;
      a[i] = parent;
      parent.pos = i;
      i = p;
    }
    a[i] = t;
    t.pos = i;
  }

  private down(i: number): void {
    const a = this.items;
    const n = a.length;
    const t = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(a[r]!, a[l]!) ? r : l;
      if (!before(a[c]!, t)) break;
      a[i] = a[c]!;
      a[i]!.pos = i;
      i = c;
    }
    a[i] = t;
    t.pos = i;
  }
}

function before<T>(x: Timer<T>, y: Timer<T>): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
