// Timers by deadline: the heap itself against a sorted reference.
import { describe, expect, it } from 'vitest';
import { Timer, TimerHeap, withTimer } from '../../src/core/timer-heap.js';
import { SimRng } from '../sim/rng.js';

interface Item {
  id: number;
  timer: Timer<Item>;
}

const item = (id: number): Item => withTimer({ id, timer: new Timer<Item>() });

describe('TimerHeap', () => {
  it('pops what is due in deadline order, ties in first-scheduled order, across random reschedules and cancels', () => {
    const rng = new SimRng(42);
    const heap = new TimerHeap<Item>();
    const items: Item[] = Array.from({ length: 300 }, (_, id) => item(id));
    const want = new Map<Item, number>(); // the reference: item -> deadline
    const firstScheduled = new Map<Item, number>();
    let now = 0;
    for (let round = 0; round < 3_000; round++) {
      const x = rng.pick(items);
      const op = rng.next();
      if (op < 0.6) {
        const at = now + rng.int(50); // many ties on purpose
        heap.schedule(x.timer, at);
        want.set(x, at);
        if (!firstScheduled.has(x)) firstScheduled.set(x, round);
      } else if (op < 0.7) {
        const at = now + rng.int(50);
        heap.runBy(x.timer, at);
        want.set(x, Math.min(want.get(x) ?? Infinity, at));
        if (!firstScheduled.has(x)) firstScheduled.set(x, round);
      } else if (op < 0.8) {
        heap.cancel(x.timer);
        want.delete(x);
      } else {
        now += rng.int(20);
        const got = heap.popDue(now).map((i) => i.id);
        const due = [...want].filter(([, at]) => at <= now)
          .sort(([a, x1], [b, x2]) => x1 - x2 || firstScheduled.get(a)! - firstScheduled.get(b)!)
          .map(([i]) => i);
        for (const i of due) want.delete(i);
        expect(got).toEqual(due.map((i) => i.id));
      }
      expect(heap.size).toBe(want.size);
      expect(heap.next()).toBe(Math.min(Infinity, ...want.values()));
    }
  });

  it('runBy() only ever brings a deadline forward; Infinity takes an item out', () => {
    const heap = new TimerHeap<Item>();
    const a = item(1);
    heap.runBy(a.timer, 50);
    heap.runBy(a.timer, 80);
    expect(heap.next()).toBe(50);
    heap.runBy(a.timer, 10);
    expect(heap.next()).toBe(10);
    heap.schedule(a.timer, Infinity);
    expect(heap.size).toBe(0);
    expect(a.timer.pos).toBe(-1);
  });
});
