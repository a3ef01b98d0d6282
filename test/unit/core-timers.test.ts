// Timers by deadline: the heap itself against a sorted reference, and the engine's promise
// that a wake-up touches only the peers that are due, however many there are.
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/core/engine.js';
import { Timer, TimerHeap, withTimer } from '../../src/core/timer-heap.js';
import { MsgKind } from '../../src/core/types.js';
import { parsePrefix } from '../../src/wire/addr.js';
import { SimRng } from '../sim/rng.js';
import { FakeChannel, info } from './core-fake-channel.js';

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

describe('engine timers', () => {
  it('a wake-up runs only the peers that are due: 200 peers, keepalives still go to each', () => {
    const K = 100;
    let ch!: FakeChannel;
    const engine = createEngine({
      // a long peer timeout: the peers here never answer, and must not die during the test
      // and a full mesh (every peer kept, with keepalives) of them all
      config: { claims: [parsePrefix('10.0.0.1')], bootTimeMs: 1_000_000, seeds: [], keepaliveMs: K, peerTimeoutMs: 600_000, fullMeshMax: 1_000 },
      makeChannel: (sink) => (ch = new FakeChannel(sink)),
      recordAuth: simRecordAuth('self'),
      send: () => {},
      deliver: () => {},
      rng: new SimRng(1),
    });
    engine.start(0);
    const N = 200;
    const ids = Array.from({ length: N }, (_, i) => `p${i}`);
    // peers come up 0.5 ms apart, so their timers fall due at different times
    ids.forEach((id, i) => {
      const t = 1 + i / 2;
      ch.up(t, id, `192.0.2.${(i % 250) + 1}:${4000 + i}`);
      ch.control(t, id, `192.0.2.${(i % 250) + 1}:${4000 + i}`, info(5, 1, []));
    });
    let now = 0;
    while (now < 1_000) engine.handleTimeout((now = engine.nextDeadline())); // settle: NodeInfo rounds

    let lookups = 0; // how many peers the wake-ups look at: the engine asks the channel once per peer it runs
    const isEstablished = ch.isEstablished.bind(ch);
    ch.isEstablished = (peer) => {
      lookups++;
      return isEstablished(peer);
    };
    const sentBefore = ch.sent.length;
    let wakeups = 0;
    while (now < 3_000) {
      engine.handleTimeout((now = engine.nextDeadline()));
      wakeups++;
    }
    const keepalives = ch.sent.slice(sentBefore).filter((s) => s.kind === MsgKind.Keepalive);
    // every peer still gets a keepalive every K (2 s: about 20 each)
    for (const id of ids) expect(keepalives.filter((s) => s.peer === id).length).toBeGreaterThanOrEqual(18);
    // It looked at a peer only when it had something to send it (the old full scan looked at
    // all 200 on each of the hundreds of wake-ups: some 90 000 lookups).
    expect(wakeups).toBeGreaterThan(100);
    expect(lookups).toBeLessThanOrEqual(ch.sent.length - sentBefore);
  });
});
