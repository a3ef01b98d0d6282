// A seeded in-memory UDP network: per-link latency and jitter, loss, duplication, reordering,
// partitions (symmetric or one-way), and NAT boxes or firewalls in front of hosts (nat.ts).
// Datagrams are copied when sent, as a socket would.
//
// Addresses: public hosts are 192.0.2.x, then 198.18.0.0/15 (the harness numbers them); NAT number n has the
// public address 203.0.113.n and the site 192.168.n.0/24 behind it. A host behind a NAT is
// known by its private endpoint; only hosts behind the same NAT reach it there, everyone else
// sees the mapped public endpoint. Partitions and per-link profiles name hosts (a NATed host
// by its private endpoint), whatever address a datagram carries.
import { hostOf } from '../../src/core/endpoint-policy.js';
import type { Endpoint } from '../../src/core/types.js';
import { NatBox, type NatOptions } from './nat.js';
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
/** Sees every datagram that leaves its site, between hosts (a NATed one by its private endpoint), before loss and filtering. */
export type Tap = (fromHost: Endpoint, toHost: Endpoint, data: Uint8Array) => void;

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

/** "192.168.n" for an endpoint in a NAT site's subnet (other addresses give something no site has). */
function subnetOf(ep: Endpoint): string {
  return ep.slice(0, ep.lastIndexOf('.'));
}

function before(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export interface NetworkStats {
  sent: number;
  /** Bytes of the datagrams sent (UDP payload). */
  sentBytes: number;
  lost: number;
  blocked: number;
  duplicated: number;
  delivered: number;
  /** Arrived at an endpoint nobody listens on (a crashed node). */
  unreachable: number;
  /** Refused by a NAT or firewall: no mapping, the filter, or hairpinning while it is off. */
  filtered: number;
  /** Sent to a private address of another site. */
  noRoute: number;
}

interface Site {
  readonly box: NatBox;
  readonly subnet: string;
  hosts: number;
}

export class SimNetwork {
  private readonly queue = new Queue();
  private seq = 0;
  private readonly receivers = new Map<Endpoint, Receiver>();
  private readonly links = new Map<string, Partial<LinkProfile>>();
  private readonly blocked = new Set<string>();
  private profile: LinkProfile;
  readonly stats: NetworkStats = { sent: 0, sentBytes: 0, lost: 0, blocked: 0, duplicated: 0, delivered: 0, unreachable: 0, filtered: 0, noRoute: 0 };
  /** Datagrams and bytes sent to each watched host address (see watchHost). */
  private readonly watched = new Map<string, { datagrams: number; bytes: number }>();
  /** The NAT or firewall in front of each host that has one (by its host endpoint). */
  private readonly boxOf = new Map<Endpoint, NatBox>();
  /** NAT sites by id, by public address and by private subnet ("192.168.n"). */
  private readonly sites = new Map<string, Site>();
  private readonly siteByPublicHost = new Map<string, Site>();
  private readonly siteBySubnet = new Map<string, Site>();
  private readonly taps: Tap[] = [];

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

  /** Datagrams from every host in `a` to every one in `b` are dropped (and back, unless oneWay). */
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

  /** A NAT box `id` with its own public address (203.0.113.n) and site (192.168.n.0/24). */
  addNat(id: string, options: NatOptions): NatBox {
    if (this.sites.has(id)) throw new Error(`duplicate NAT ${id}`);
    if (options.kind === 'firewall') throw new Error(`NAT ${id}: a firewall is set per host (setFirewall)`);
    const n = this.sites.size + 1;
    const site: Site = { box: new NatBox(`203.0.113.${n}`, options, this.rng.fork()), subnet: `192.168.${n}`, hosts: 0 };
    this.sites.set(id, site);
    this.siteByPublicHost.set(site.box.publicHost, site);
    this.siteBySubnet.set(site.subnet, site);
    return site.box;
  }

  hasNat(id: string): boolean {
    return this.sites.has(id);
  }

  nat(id: string): NatBox {
    const site = this.sites.get(id);
    if (!site) throw new Error(`no NAT ${id}`);
    return site.box;
  }

  /** A new host behind NAT `id`: returns its private endpoint (192.168.n.k:port). */
  addHostBehind(id: string, port = 3210): Endpoint {
    const site = this.sites.get(id);
    if (!site) throw new Error(`no NAT ${id}`);
    const host: Endpoint = `${site.subnet}.${++site.hosts + 1}:${port}`;
    this.boxOf.set(host, site.box);
    return host;
  }

  /** A stateful firewall in front of public `host` (only replies to what it sent get in), or none. */
  setFirewall(host: Endpoint, on: boolean, mappingTimeoutMs?: number): void {
    const box = this.boxOf.get(host);
    if (box?.translates) throw new Error(`${host} is behind a NAT`);
    if (!on) this.boxOf.delete(host);
    else if (!box) this.boxOf.set(host, new NatBox(hostOf(host), { kind: 'firewall', ...(mappingTimeoutMs ? { mappingTimeoutMs } : {}) }, this.rng));
  }

  /** The NAT or firewall in front of `host`, if any. */
  boxFor(host: Endpoint): NatBox | undefined {
    return this.boxOf.get(host);
  }

  /**
   * The address `host` is known by from `viewer`'s side: itself on the same site or when
   * public, else its NAT's public address with its own port (what an operator would
   * configure; it works once the NAT preserved the port and its filter admits the sender).
   */
  addressOf(host: Endpoint, viewer: Endpoint): Endpoint {
    const box = this.boxOf.get(host);
    if (!box?.translates || this.boxOf.get(viewer) === box) return host;
    return `${box.publicHost}:${host.slice(host.lastIndexOf(':') + 1)}`;
  }

  /** Watch every datagram sent from now on (`data` is only valid during the call). */
  tap(fn: Tap): void {
    this.taps.push(fn);
  }

  /** Count what is sent to `host` (any port) from now on; the returned object keeps counting. */
  watchHost(host: string): { datagrams: number; bytes: number } {
    const counter = { datagrams: 0, bytes: 0 };
    this.watched.set(host, counter);
    return counter;
  }

  send(now: number, from: Endpoint, to: Endpoint, data: Uint8Array): void {
    this.stats.sent++;
    this.stats.sentBytes += data.length;
    if (this.watched.size > 0) {
      const w = this.watched.get(to.slice(0, to.lastIndexOf(':')));
      if (w) {
        w.datagrams++;
        w.bytes += data.length;
      }
    }
    let source = from;
    let dest = to;
    if (this.boxOf.size > 0) {
      const s = this.translateOut(now, from, to);
      if (s === null) return;
      source = s;
      dest = this.hostAt(now, to);
    }
    for (const fn of this.taps) fn(from, dest, data);
    const key = this.blocked.size > 0 || this.links.size > 0 ? `${from}>${dest}` : '';
    if (this.blocked.size > 0 && this.blocked.has(key)) {
      this.stats.blocked++;
      return;
    }
    const link = this.links.size > 0 ? this.links.get(key) : undefined;
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
      this.queue.push({ at: now + delay, seq: this.seq++, from: source, to, data: data.slice() });
    }
  }

  /** The source address a datagram from `from` to `to` leaves its site with; null: it goes nowhere (counted). */
  private translateOut(now: number, from: Endpoint, to: Endpoint): Endpoint | null {
    const box = this.boxOf.get(from);
    const toSite = this.siteBySubnet.get(subnetOf(to));
    if (toSite && toSite.box !== box) {
      this.stats.noRoute++;
      return null;
    }
    if (!box || toSite) return from; // a public sender, or within its own site
    if (!box.translates) {
      box.outbound(now, from, to);
      return from;
    }
    if (!box.hairpin && this.siteByPublicHost.get(hostOf(to))?.box === box) {
      this.stats.filtered++;
      box.stats.filtered++;
      return null;
    }
    return box.outbound(now, from, to);
  }

  /** The host a datagram to `to` is for: a NAT's public endpoint leads to its mapped inside host. */
  private hostAt(now: number, to: Endpoint): Endpoint {
    const site = this.siteByPublicHost.get(hostOf(to));
    return site?.box.peek(now, to) ?? to;
  }

  /** Where an arriving datagram goes after the NAT or firewall at its destination; null: filtered (counted). */
  private translateIn(now: number, from: Endpoint, to: Endpoint): Endpoint | null {
    const site = this.siteByPublicHost.get(hostOf(to));
    if (site) return site.box.inbound(now, from, to);
    const box = this.boxOf.get(to);
    if (!box || box.translates) return to;
    return box.inbound(now, from, to);
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
    const to = this.boxOf.size > 0 ? this.translateIn(now, head.from, head.to) : head.to;
    if (to === null) {
      this.stats.filtered++;
      return true;
    }
    const rx = this.receivers.get(to);
    if (!rx) {
      this.stats.unreachable++;
      return true;
    }
    this.stats.delivered++;
    rx(head.from, head.data);
    return true;
  }
}
