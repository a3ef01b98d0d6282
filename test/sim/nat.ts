// NAT boxes and stateful firewalls for the simulator, in RFC 4787's terms: how a box maps an
// inside endpoint to a public one, and which inbound datagrams it lets through that mapping.
//
//   kind                mapping                       filtering
//   full-cone           endpoint-independent          endpoint-independent (anyone)
//   address-restricted  endpoint-independent          address-dependent (hosts it sent to)
//   port-restricted     endpoint-independent          address+port-dependent (endpoints it sent to)
//   symmetric           address+port-dependent        address+port-dependent
//   firewall            none (no translation)         address+port-dependent (only replies)
//
// Endpoint-independent mappings preserve the inside port when it is free on the public address
// (as Linux masquerading does), else take the next free one; a symmetric box picks a fresh
// random port per destination, so what one peer sees is useless to another. A mapping, and each
// permission it grants, lives while outbound traffic refreshes it (inbound does not refresh).
import { hostOf } from '../../src/core/endpoint-policy.js';
import type { Endpoint } from '../../src/core/types.js';
import type { SimRng } from './rng.js';

export type NatKind = 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';
export const NAT_KINDS: readonly NatKind[] = ['full-cone', 'address-restricted', 'port-restricted', 'symmetric'];

/**
 * Idle time after which a UDP mapping is gone: 30 s, the common home-router and Linux
 * conntrack (nf_conntrack_udp_timeout) value, shorter than RFC 4787's 2 min recommendation.
 */
export const DEFAULT_MAPPING_TIMEOUT_MS = 30_000;

/** Permissions of one mapping beyond which the expired ones are swept out. */
const PRUNE_AT = 64;

/** Ports a symmetric box draws its mappings from. */
const SYMMETRIC_PORTS = { min: 20_000, count: 40_000 };

export interface NatOptions {
  kind: NatKind | 'firewall';
  mappingTimeoutMs?: number;
  /** Let inside hosts reach each other through the public address (RFC 4787 REQ-9); off by default. */
  hairpin?: boolean;
}

export interface MappingView {
  inside: Endpoint;
  outside: Endpoint;
  /** Symmetric boxes: the one destination this mapping serves. */
  destination: Endpoint | null;
}

export interface NatStats {
  mappings: number;
  expired: number;
  /** Inbound datagrams refused: no live mapping, or the filter said no. */
  filtered: number;
}

interface Mapping {
  readonly key: string;
  readonly inside: Endpoint;
  readonly outside: Endpoint;
  readonly destination: Endpoint | null;
  lastOutboundMs: number;
  /** What the filter admits (a host, or host:port) -> when the inside last sent to it. */
  readonly sentTo: Map<string, number>;
}

export class NatBox {
  kind: NatKind | 'firewall';
  mappingTimeoutMs: number;
  hairpin: boolean;
  readonly stats: NatStats = { mappings: 0, expired: 0, filtered: 0 };
  private readonly byKey = new Map<string, Mapping>();
  private readonly byOutside = new Map<Endpoint, Mapping>();
  /** Reboots so far: port-preserving mappings start this many ports × 7 higher. */
  private portShift = 0;

  /** `publicHost`: the box's public address; a firewall translates nothing and ignores it. */
  constructor(readonly publicHost: string, options: NatOptions, private readonly rng: SimRng) {
    this.kind = options.kind;
    this.mappingTimeoutMs = options.mappingTimeoutMs ?? DEFAULT_MAPPING_TIMEOUT_MS;
    this.hairpin = options.hairpin ?? false;
  }

  get translates(): boolean {
    return this.kind !== 'firewall';
  }

  /** Change its behaviour; a new kind starts from an empty table (a reconfigured router). */
  reconfigure(options: Partial<NatOptions>): void {
    if (options.kind !== undefined && options.kind !== this.kind) {
      this.kind = options.kind;
      this.byKey.clear();
      this.byOutside.clear();
    }
    if (options.mappingTimeoutMs !== undefined) this.mappingTimeoutMs = options.mappingTimeoutMs;
    if (options.hairpin !== undefined) this.hairpin = options.hairpin;
  }

  /**
   * The router reboots: every mapping is gone, and new ones get other ports (as after a reboot
   * that does not preserve ports, or a CGNAT that reassigns them).
   */
  reboot(): void {
    this.byKey.clear();
    this.byOutside.clear();
    this.portShift += 1;
  }

  /** `inside` sends to `to`: create or refresh its mapping; returns the source the world sees. */
  outbound(now: number, inside: Endpoint, to: Endpoint): Endpoint {
    const destination = this.kind === 'symmetric' ? to : null;
    const key = destination === null ? inside : `${inside}>${destination}`;
    let m = this.live(now, this.byKey.get(key));
    if (!m) {
      m = { key, inside, outside: this.allocate(now, inside), destination, lastOutboundMs: now, sentTo: new Map() };
      this.byKey.set(key, m);
      this.byOutside.set(m.outside, m);
      this.stats.mappings++;
    }
    m.lastOutboundMs = now;
    if (m.sentTo.size >= PRUNE_AT) for (const [k, t] of m.sentTo) if (now - t >= this.mappingTimeoutMs) m.sentTo.delete(k);
    m.sentTo.set(this.kind === 'address-restricted' ? hostOf(to) : to, now);
    return m.outside;
  }

  /** A datagram from `from` reaches public endpoint `to`: the inside endpoint it goes to, or null (dropped). */
  inbound(now: number, from: Endpoint, to: Endpoint): Endpoint | null {
    const m = this.live(now, this.byOutside.get(to));
    if (!m || !this.admits(now, m, from)) {
      this.stats.filtered++;
      return null;
    }
    return m.inside;
  }

  /** Who `outside` leads to right now, without filtering (to tell which host a datagram is for). */
  peek(now: number, outside: Endpoint): Endpoint | null {
    return this.live(now, this.byOutside.get(outside))?.inside ?? null;
  }

  /** The live mappings (for tests and failure messages). */
  mappings(now: number): MappingView[] {
    return [...this.byKey.values()]
      .filter((m) => this.live(now, m))
      .map((m) => ({ inside: m.inside, outside: m.outside, destination: m.destination }));
  }

  private admits(now: number, m: Mapping, from: Endpoint): boolean {
    if (this.kind === 'full-cone') return true;
    const sent = m.sentTo.get(this.kind === 'address-restricted' ? hostOf(from) : from);
    return sent !== undefined && now - sent < this.mappingTimeoutMs;
  }

  /** `m` if it has not timed out; an expired mapping is removed and its port freed. */
  private live(now: number, m: Mapping | undefined): Mapping | undefined {
    if (!m) return undefined;
    if (now - m.lastOutboundMs < this.mappingTimeoutMs) return m;
    this.byKey.delete(m.key);
    this.byOutside.delete(m.outside);
    this.stats.expired++;
    return undefined;
  }

  private allocate(now: number, inside: Endpoint): Endpoint {
    if (!this.translates) return inside;
    const free = (port: number): boolean => !this.live(now, this.byOutside.get(`${this.publicHost}:${port}`));
    if (this.kind === 'symmetric') {
      for (;;) {
        const port = SYMMETRIC_PORTS.min + this.rng.int(SYMMETRIC_PORTS.count);
        if (free(port)) return `${this.publicHost}:${port}`;
      }
    }
    const wanted = Number(inside.slice(inside.lastIndexOf(':') + 1)) + 7 * this.portShift;
    for (let i = 0; i < 65_536; i++) {
      const port = 1_024 + ((wanted - 1_024 + i + 64_512) % 64_512);
      if (free(port)) return `${this.publicHost}:${port}`;
    }
    throw new Error(`NAT ${this.publicHost}: no free port`);
  }
}
