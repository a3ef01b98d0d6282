// The simulator's NAT model on its own: what each kind of box maps and lets in, expiry, two
// hosts behind one box, firewalls, partitions across NATs; then engines behind it.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/core/types.js';
import { runSeeded, Sim } from './harness.js';
import { DEFAULT_MAPPING_TIMEOUT_MS, NAT_KINDS, type NatKind } from './nat.js';
import { SimNetwork } from './network.js';
import { SimRng } from './rng.js';

const P1 = '192.0.2.1:3210';
const P2 = '192.0.2.2:3210';

/** A network with public hosts P1, P2 and whatever the test puts behind NATs; records arrivals. */
class Bench {
  readonly net = new SimNetwork(new SimRng(1));
  now = 0;
  /** Every arrival: the host it reached and the source it carried. */
  readonly arrivals: { host: Endpoint; from: Endpoint }[] = [];

  constructor() {
    this.listen(P1, P2, '192.0.2.1:4000');
  }

  listen(...eps: Endpoint[]): void {
    for (const host of eps) this.net.attach(host, (from) => this.arrivals.push({ host, from }));
  }

  /** Send one datagram and let it arrive; returns the source its receiver saw, or null if it never arrived. */
  send(from: Endpoint, to: Endpoint): Endpoint | null {
    const before = this.arrivals.length;
    this.net.send(this.now, from, to, new Uint8Array([1]));
    this.advance(5);
    return this.arrivals.length > before ? this.arrivals.at(-1)!.from : null;
  }

  advance(ms: number): void {
    this.now += ms;
    while (this.net.deliverOne(this.now)) {
      /* receivers record */
    }
  }

  behind(kind: NatKind, id = 'n', extra: { mappingTimeoutMs?: number; hairpin?: boolean } = {}): Endpoint {
    if (!this.net.hasNat(id)) this.net.addNat(id, { kind, ...extra });
    const h = this.net.addHostBehind(id);
    this.listen(h);
    return h;
  }
}

/** Which inbound datagrams reach the host after it sent one to P1, by kind (RFC 4787 filtering). */
const ADMITS: Record<NatKind, { samePort: boolean; otherPort: boolean; otherHost: boolean }> = {
  'full-cone': { samePort: true, otherPort: true, otherHost: true },
  'address-restricted': { samePort: true, otherPort: true, otherHost: false },
  'port-restricted': { samePort: true, otherPort: false, otherHost: false },
  symmetric: { samePort: true, otherPort: false, otherHost: false },
};

describe('NAT boxes', () => {
  for (const kind of NAT_KINDS) {
    it(`${kind}: mapping and filtering`, () => {
      const b = new Bench();
      const h = b.behind(kind);
      expect(h).toBe('192.168.1.2:3210');
      const seenByP1 = b.send(h, P1)!;
      expect(seenByP1).not.toBeNull();
      expect(seenByP1.startsWith('203.0.113.1:')).toBe(true);
      // endpoint-independent mappings keep the port, a symmetric one picks its own
      if (kind === 'symmetric') expect(seenByP1).not.toBe('203.0.113.1:3210');
      else expect(seenByP1).toBe('203.0.113.1:3210');

      // filtering: before P2 was contacted, and only via the mapping P1 saw
      const admits = ADMITS[kind];
      expect(b.send(P1, seenByP1)).toBe(P1); // the reply always gets in
      expect(b.send('192.0.2.1:4000', seenByP1) !== null).toBe(admits.otherPort);
      expect(b.send(P2, seenByP1) !== null).toBe(admits.otherHost);
      expect(b.send(P1, '203.0.113.1:9999')).toBeNull(); // no mapping there

      // a second destination: the same public endpoint, except behind a symmetric NAT
      const seenByP2 = b.send(h, P2)!;
      if (kind === 'symmetric') expect(seenByP2).not.toBe(seenByP1);
      else expect(seenByP2).toBe(seenByP1);
      expect(b.send(P2, seenByP2)).toBe(P2);
      const box = b.net.nat('n');
      expect(box.mappings(b.now)).toHaveLength(kind === 'symmetric' ? 2 : 1);
      expect(b.net.stats.filtered).toBe(box.stats.filtered);
    });
  }

  it('mappings expire after the timeout without outbound traffic; outbound refreshes them, inbound does not', () => {
    for (const kind of NAT_KINDS) {
      const b = new Bench();
      const h = b.behind(kind);
      const sentAt = b.now;
      const out = b.send(h, P1)!;
      // P1 keeps sending to h every 5 s: that does not keep the mapping alive
      while (b.now + 5_100 < sentAt + DEFAULT_MAPPING_TIMEOUT_MS) {
        b.advance(5_000);
        expect(b.send(P1, out), `${kind} at ${b.now}`).toBe(P1);
      }
      b.advance(sentAt + DEFAULT_MAPPING_TIMEOUT_MS - b.now);
      expect(b.send(P1, out), kind).toBeNull();
      expect(b.net.nat('n').stats.expired).toBe(1);
      // h sending every 20 s keeps a fresh mapping alive for two minutes
      const again = b.send(h, P1)!;
      for (let i = 0; i < 6; i++) {
        b.advance(20_000);
        expect(b.send(P1, again), kind).toBe(P1);
        expect(b.send(h, P1), kind).toBe(again);
      }
      // an endpoint-independent mapping comes back on the same port (Linux keeps the source port)
      if (kind !== 'symmetric') expect(again).toBe(out);
    }
  });

  it('a custom timeout applies to the mapping and to its filter permissions', () => {
    const b = new Bench();
    const h = b.behind('address-restricted', 'n', { mappingTimeoutMs: 1_000 });
    const out = b.send(h, P1)!;
    b.send(h, P2); // keeps the mapping alive, but P1's permission runs out
    b.advance(600);
    b.send(h, P2);
    b.advance(600);
    expect(b.send(P2, out)).toBe(P2);
    expect(b.send(P1, out)).toBeNull();
  });

  it('two hosts behind one NAT: distinct public ports, reachable to each other only at their private endpoints', () => {
    const b = new Bench();
    const h1 = b.behind('port-restricted');
    const h2 = b.behind('port-restricted');
    expect([h1, h2]).toEqual(['192.168.1.2:3210', '192.168.1.3:3210']);
    const o1 = b.send(h1, P1)!;
    const o2 = b.send(h2, P1)!;
    expect([o1, o2]).toEqual(['203.0.113.1:3210', '203.0.113.1:3211']);
    // on their LAN they talk directly, untranslated
    expect(b.send(h1, h2)).toBe(h1);
    expect(b.send(h2, h1)).toBe(h2);
    // through the public address: no hairpinning by default
    b.send(h2, o1);
    expect(b.send(h1, o2)).toBeNull();
    // outsiders cannot reach the private endpoints, and neither can another site
    expect(b.send(P1, h1)).toBeNull();
    const other = b.behind('full-cone', 'm');
    expect(b.send(other, h1)).toBeNull();
    expect(b.net.stats.noRoute).toBe(2);
    expect(b.net.addressOf(h1, P1)).toBe('203.0.113.1:3210');
    expect(b.net.addressOf(h1, h2)).toBe(h1);
  });

  it('hairpinning, when turned on, translates both ways', () => {
    const b = new Bench();
    const h1 = b.behind('full-cone', 'n', { hairpin: true });
    const h2 = b.behind('full-cone');
    const o1 = b.send(h1, P1)!;
    const o2 = b.send(h2, P1)!;
    expect(b.send(h1, o2)).toBe(o1);
  });

  it('a firewall translates nothing and lets in only replies to what its host sent', () => {
    const b = new Bench();
    const f = '192.0.2.9:3210';
    b.listen(f);
    b.net.setFirewall(f, true);
    expect(b.send(P1, f)).toBeNull(); // unsolicited
    expect(b.send(f, P1)).toBe(f); // untranslated
    expect(b.send(P1, f)).toBe(P1);
    expect(b.send('192.0.2.1:4000', f)).toBeNull();
    expect(b.send(P2, f)).toBeNull();
    b.advance(DEFAULT_MAPPING_TIMEOUT_MS);
    expect(b.send(P1, f)).toBeNull(); // conntrack forgot it
    b.net.setFirewall(f, false);
    expect(b.send(P2, f)).toBe(P2);
  });

  it('a new NAT kind starts from an empty table', () => {
    const b = new Bench();
    const h = b.behind('symmetric');
    const out = b.send(h, P1)!;
    b.net.nat('n').reconfigure({ kind: 'full-cone' });
    expect(b.send(P1, out)).toBeNull();
    expect(b.send(h, P1)).toBe('203.0.113.1:3210');
    expect(b.send(P2, '203.0.113.1:3210')).toBe(P2);
  });

  it('partitions name hosts: they cut a NATed host off whatever address its datagrams carry', () => {
    const b = new Bench();
    const h = b.behind('full-cone');
    const out = b.send(h, P1)!;
    b.net.partition([h], [P1]);
    expect(b.send(h, P1)).toBeNull();
    expect(b.send(P1, out)).toBeNull();
    expect(b.send(P2, out)).toBe(P2);
    b.net.heal();
    expect(b.send(P1, out)).toBe(P1);
  });
});

describe('engines behind NATs', () => {
  it('a node behind a NAT dials a public node: they connect, and the public one sees the mapped endpoint', () =>
    runSeeded('NAT dial-out', 61, (seed) => {
      for (const kind of NAT_KINDS) {
        const sim = new Sim({ seed });
        sim.add({ name: 'b', ip: '10.0.0.2' }, { name: 'a', ip: '10.0.0.1', seeds: ['b'], nat: { kind } });
        sim.start('b', 'a');
        sim.run(2_000);
        expect(sim.routeOf('a', '10.0.0.2'), kind).toBe('b');
        expect(sim.routeOf('b', '10.0.0.1'), kind).toBe('a');
        const ping = sim.ping('b', '10.0.0.1', 50);
        // 40 s: keepalives hold the mapping open past its 30 s timeout
        sim.run(40_000);
        expect(ping.between(sim.now - 1_000).length, kind).toBeGreaterThan(15);
        const seen = sim.seenAt('a', 'b')!;
        expect(seen.startsWith('203.0.113.1:'), kind).toBe(true);
        expect(sim.net.nat('a').mappings(sim.now).map((m) => m.outside)).toContain(seen);
      }
    }));

  it('a firewalled node is reached only after it dialled out', () =>
    runSeeded('firewall', 62, (seed) => {
      const sim = new Sim({ seed });
      sim.add({ name: 'a', ip: '10.0.0.1', firewall: true }, { name: 'b', ip: '10.0.0.2', seeds: ['a'] });
      sim.start('a', 'b');
      sim.run(3_000);
      expect(sim.node('b').mustEngine().status(sim.clock(sim.node('b'))).peers).toHaveLength(0);
      expect(sim.net.stats.filtered).toBeGreaterThan(0);
      sim.setFirewall('a', false);
      sim.run(sim.node('b').mustEngine().timing.reconnectMaxMs * 1.25 + 500);
      expect(sim.routeOf('b', '10.0.0.1')).toBe('a');
    }));
});
