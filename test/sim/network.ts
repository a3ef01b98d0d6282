// A seeded in-memory UDP network: per-link latency and jitter, loss, duplication, reordering,
// and partitions (symmetric or one-way). Datagrams are copied when sent, as a socket would.
import type { Endpoint } from '../../src/core/types.js';
import type { SimRng } from './rng.js';

export interface LinkProfile {
  latencyMs: number;
  jitterMs: number;
  /** Probability a datagram is lost. */
  loss: number;
  /** Probability a datagram arrives twice. */
  duplicate: number;
  /** Probability a datagram is held back by an extra latency or more (arrives out of order). */
  reorder: number;
}

export const LAN: LinkProfile = { latencyMs: 0.5, jitterMs: 0.5, loss: 0, duplicate: 0, reorder: 0 };

export type Receiver = (from: Endpoint, data: Uint8Array) => void;

interface InFlight {
  at: number;
  seq: number;
  from: Endpoint;
  to: Endpoint;
  data: Uint8Array;
}

/** Binary min-heap on (at, seq): equal times keep send order, so runs are deterministic. */
class Queue {
  private readonly items: InFlight[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): InFlight | undefined {
    return this.items[0];
  }

  push(item: InFlight): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): InFlight | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export interface NetworkStats {
  sent: number;
  lost: number;
  blocked: number;
  duplicated: number;
  delivered: number;
  /** Arrived at an endpoint nobody listens on (a crashed node). */
  unreachable: number;
}

export class SimNetwork {
  private readonly queue = new Queue();
  private seq = 0;
  private readonly receivers = new Map<Endpoint, Receiver>();
  private readonly links = new Map<string, Partial<LinkProfile>>();
  private readonly blocked = new Set<string>();
  private profile: LinkProfile;
  readonly stats: NetworkStats = { sent: 0, lost: 0, blocked: 0, duplicated: 0, delivered: 0, unreachable: 0 };
  /** Datagrams and bytes sent to each watched host address (see watchHost). */
  private readonly watched = new Map<string, { datagrams: number; bytes: number }>();

  constructor(private readonly rng: SimRng, profile: LinkProfile = LAN) {
    this.profile = { ...profile };
  }

  attach(ep: Endpoint, receiver: Receiver): void {
    this.receivers.set(ep, receiver);
  }

  detach(ep: Endpoint): void {
    this.receivers.delete(ep);
  }

  /** Change the profile of every link (per-link overrides still win). */
  setProfile(p: Partial<LinkProfile>): void {
    this.profile = { ...this.profile, ...p };
  }

  /** Override the profile of the link from `a` to `b` (one direction). */
  setLink(a: Endpoint, b: Endpoint, p: Partial<LinkProfile>): void {
    this.links.set(`${a}>${b}`, { ...this.links.get(`${a}>${b}`), ...p });
  }

  clearLinks(): void {
    this.links.clear();
  }

  /** Datagrams from every endpoint in `a` to every one in `b` are dropped (and back, unless oneWay). */
  partition(a: readonly Endpoint[], b: readonly Endpoint[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}>${y}`);
        if (!oneWay) this.blocked.add(`${y}>${x}`);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Count what is sent to `host` (any port) from now on; the returned object keeps counting. */
  watchHost(host: string): { datagrams: number; bytes: number } {
    const counter = { datagrams: 0, bytes: 0 };
    this.watched.set(host, counter);
    return counter;
  }

  send(now: number, from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.stats.sent++;
    if (this.watched.size > 0) {
      const w = this.watched.get(to.slice(0, to.lastIndexOf(':')));
      if (w) {
        w.datagrams++;
        w.bytes += data.length;
      }
    }
    const key = `${from}>${to}`;
    if (this.blocked.has(key)) {
      this.stats.blocked++;
      return;
    }
    const link = this.links.get(key);
    const p = link ? { ...this.profile, ...link } : this.profile;
    if (p.loss > 0 && this.rng.chance(p.loss)) {
      this.stats.lost++;
      return;
    }
    const copies = p.duplicate > 0 && this.rng.chance(p.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = p.latencyMs + this.rng.next() * p.jitterMs;
      if (p.reorder > 0 && this.rng.chance(p.reorder)) delay += p.latencyMs + this.rng.next() * (p.latencyMs + p.jitterMs);
      this.queue.push({ at: now + delay, seq: this.seq++, from, to, data: data.slice() });
    }
  }

  /** Time of the next arrival (Infinity if nothing is in flight). */
  nextTime(): number {
    return this.queue.peek()?.at ?? Infinity;
  }

  get inFlight(): number {
    return this.queue.size;
  }

  /** Deliver the next datagram if it is due by `now`; false when none is. */
  deliverOne(now: number): boolean {
    const head = this.queue.peek();
    if (!head || head.at > now) return false;
    this.queue.pop();
    const rx = this.receivers.get(head.to);
    if (!rx) {
      this.stats.unreachable++;
      return true;
    }
    this.stats.delivered++;
    rx(head.from, head.data);
    return true;
  }
}
