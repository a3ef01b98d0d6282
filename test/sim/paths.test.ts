// Issue 12 in the simulator: nodes that cannot reach each other directly (NATs, firewalls) talk
// through a relay peer, end to end encrypted; the relay fails over; a path that opens later
// takes the traffic back; cone NATs are punched, symmetric ones relayed; and a shared IP
// fails over between claimants that are reachable only through relays.
import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../src/core/status.js';
import type { PeerId } from '../../src/core/types.js';
import { runSeeded, Sim, simChannel, type ChannelFactory, type NodeSpec } from './harness.js';
import type { NatKind } from './nat.js';
import { SimRng } from './rng.js';
import { secureChannel } from './secure-channel.js';

const IP = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3', d: '10.0.0.4' };

/** MsgKind.Relay (origin -> relay) and MsgKind.Relayed (relay -> destination). */
const RELAY_KINDS = [3, 4];

/** The design's status.peers[].path (PATHS-DESIGN.md). */
type PathView = { kind: 'direct'; endpoint: string } | { kind: 'relay'; via: PeerId };

/** The path `from` uses to `to` by its status: 'direct', 'via <relay>', or 'none' (not a peer). */
function pathOf(sim: Sim, from: string, to: string): string {
  const n = sim.node(from);
  if (!n.running) return 'down';
  const peer = n.mustEngine().status(sim.clock(n)).peers.find((p) => p.id === sim.node(to).id);
  if (!peer) return 'none';
  const path = (peer as PeerStatus & { path?: PathView }).path;
  if (!path) return 'unknown';
  return path.kind === 'direct' ? 'direct' : `via ${sim.nameOf(path.via)}`;
}

/** Both sides use `path` to each other. */
const agree = (sim: Sim, x: string, y: string, path: string): boolean => pathOf(sim, x, y) === path && pathOf(sim, y, x) === path;

/**
 * Relay frames on the wire, per hop "from>to" (host names): SimChannel data frames of kind
 * Relay or Relayed (SimChannel sends the kind in the clear; see sim-channel.ts).
 */
function countRelayFrames(sim: Sim): Map<string, number> {
  const byHost = new Map(sim.all.map((n) => [n.endpoint, n.name]));
  const frames = new Map<string, number>();
  sim.net.tap((from, to, d) => {
    if (d.length < 6 || d[0] !== 3 || !RELAY_KINDS.includes(d[5]!)) return;
    const key = `${byHost.get(from) ?? from}>${byHost.get(to) ?? to}`;
    frames.set(key, (frames.get(key) ?? 0) + 1);
  });
  return frames;
}

/** Datagrams on the wire that carry the IP header of a ping between `x` and `y` in the clear. */
function countPlaintext(sim: Sim, x: string, y: string): { count: number } {
  const ip = (s: string): number[] => s.split('.').map(Number);
  const needles = [[...ip(x), ...ip(y)], [...ip(y), ...ip(x)]];
  const found = { count: 0 };
  sim.net.tap((_from, _to, d) => {
    for (const n of needles) if (indexOf(d, n) >= 0) found.count++;
  });
  return found;
}

function indexOf(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function peerDowns(sim: Sim, node: string, peer: string, after: number) {
  return sim.events((e) => e.node === node && e.t > after && e.event.type === 'peer-down' && e.event.peer === sim.node(peer).id);
}

const SETTLE_MS = 10_000;

/** Public introducers `relays`, and a and c behind their own NATs (or firewalls), each seeding every relay. */
function triangle(seed: number, a: Partial<NodeSpec>, c: Partial<NodeSpec>, relays = ['b'], channel: ChannelFactory = simChannel): Sim {
  const sim = new Sim({ seed, channel });
  sim.add(...relays.map((name) => ({ name, ip: IP[name as keyof typeof IP] })));
  sim.add({ name: 'a', ip: IP.a, seeds: relays, ...a }, { name: 'c', ip: IP.c, seeds: relays, ...c });
  sim.start(...relays);
  sim.run(50);
  sim.start('a', 'c');
  return sim;
}

const SYMMETRIC = { nat: { kind: 'symmetric' as NatKind } };

describe('relaying', () => {
  for (const which of ['sim', 'secure'] as const) {
    it(`A and C reach only B: A↔C traffic flows through B, end to end encrypted (${which} channel)`, () =>
      runSeeded(`relay through B (${which})`, 71, (seed) => {
        const psk = new Uint8Array(32);
        new SimRng(seed).fill(psk);
        const sim = triangle(seed, SYMMETRIC, SYMMETRIC, ['b'], which === 'secure' ? secureChannel(psk) : simChannel);
        const relayed = countRelayFrames(sim);
        const plaintext = countPlaintext(sim, IP.a, IP.c);
        // both on the relay, and A has C's claims (its NodeInfo follows the handshake by a hop)
        expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', 'via b') && sim.routeOf('a', IP.c) === 'c', SETTLE_MS), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
        const ping = sim.ping('a', IP.c, 20);
        sim.run(2_000);
        ping.stopped = true;
        sim.run(100);
        expect(ping.replies.length).toBeGreaterThanOrEqual(0.95 * ping.sent.size);
        expect(ping.replies.every((r) => r.server === 'c')).toBe(true);
        // b carried it but never had it in the clear: nothing reached its TUN, and no datagram
        // on any wire held the packet unencrypted (the relay hops carry A–C ciphertext)
        expect(sim.node('b').tunPackets).toBe(0);
        if (which === 'secure') expect(plaintext.count).toBe(0);
        else {
          // over SimChannel (no encryption) the kind byte is visible: count the relay frames
          expect(relayed.get('a>b') ?? 0).toBeGreaterThanOrEqual(ping.sent.size);
          expect(relayed.get('b>c') ?? 0).toBeGreaterThanOrEqual(ping.sent.size);
          expect(relayed.get('c>b') ?? 0).toBeGreaterThanOrEqual(ping.replies.length);
          expect(relayed.get('b>a') ?? 0).toBeGreaterThanOrEqual(ping.replies.length);
        }
        // still relayed after the NAT mappings' timeout: keepalives hold every hop open
        sim.run(35_000);
        expect(agree(sim, 'a', 'c', 'via b')).toBe(true);
      }));
  }

  it('the relay B crashes while D also connects A and C: traffic moves to D within the peer timeout, no peer-down, no failover', () =>
    runSeeded('relay failover', 72, (seed) => {
      const sim = triangle(seed, SYMMETRIC, SYMMETRIC, ['b', 'd']);
      const relayed = (): boolean => ['b', 'd'].some((r) => agree(sim, 'a', 'c', `via ${r}`));
      expect(sim.runUntilTrue(relayed, SETTLE_MS), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
      const used = pathOf(sim, 'a', 'c').slice('via '.length);
      const other = used === 'b' ? 'd' : 'b';
      const ping = sim.ping('a', IP.c, 10);
      sim.run(500);
      const t0 = sim.now;
      sim.crash(used);
      expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', `via ${other}`), 2 * sim.peerTimeoutMs), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
      sim.run(500);
      const first = ping.firstReplyAfter(t0 + 20); // requests already past the relay may still come back
      expect(first).toBeDefined();
      const gap = ping.replies.filter((r) => r.at > t0).reduce((acc, r, i, all) => Math.max(acc, r.at - (i === 0 ? t0 : all[i - 1]!.at)), 0);
      console.log(`relay ${used} crashed: path via ${other} after ${(sim.now - 500 - t0).toFixed(0)} ms; longest reply gap ${gap.toFixed(0)} ms`);
      expect(gap).toBeLessThanOrEqual(sim.peerTimeoutMs);
      expect(peerDowns(sim, 'a', 'c', t0)).toEqual([]);
      expect(peerDowns(sim, 'c', 'a', t0)).toEqual([]);
      expect(sim.events((e) => e.t > t0 && e.event.type === 'route-change' && e.event.prefixText !== `${IP[used as 'b' | 'd']}/32`)).toEqual([]);
    }));

  for (const opening of ['the firewall in front of C is lifted', "A's NAT becomes a full cone"] as const) {
    it(`a direct path opens (${opening}): traffic leaves the relay`, () =>
      runSeeded(`direct path opens: ${opening}`, 73, (seed) => {
        const lift = opening.startsWith('the firewall');
        const sim = triangle(seed, SYMMETRIC, lift ? { firewall: true } : SYMMETRIC);
        const relayed = countRelayFrames(sim);
        expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', 'via b'), SETTLE_MS), `a->c: ${pathOf(sim, 'a', 'c')}`).toBe(true);
        const ping = sim.ping('a', IP.c, 20);
        sim.run(1_000);
        const t0 = sim.now;
        if (lift) sim.setFirewall('c', false);
        else sim.setNat('a', { kind: 'full-cone' });
        expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', 'direct'), 30_000), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
        console.log(`${opening}: direct after ${(sim.now - t0).toFixed(0)} ms`);
        const switched = sim.now;
        sim.run(200);
        const framesAt = (): number => (relayed.get('a>b') ?? 0) + (relayed.get('c>b') ?? 0);
        const before = framesAt();
        sim.run(2_000);
        expect(framesAt() - before).toBe(0); // b relays nothing any more
        expect(ping.between(switched + 200).length).toBeGreaterThanOrEqual(95);
        expect(sim.events((e) => e.t > t0 && e.event.type === 'peer-down')).toEqual([]);
      }));
  }
});

/** Two nodes behind NATs of these kinds, introduced by a public node: the path they end with. */
const NAT_CASES: [NatKind, NatKind, 'direct' | 'via b'][] = [
  ['full-cone', 'full-cone', 'direct'],
  ['address-restricted', 'address-restricted', 'direct'],
  ['port-restricted', 'port-restricted', 'direct'],
  // a symmetric side is punched only by a peer whose NAT admits a port it never saw
  ['symmetric', 'full-cone', 'direct'],
  ['symmetric', 'address-restricted', 'direct'],
  ['symmetric', 'port-restricted', 'via b'],
  ['symmetric', 'symmetric', 'via b'],
];

describe('NAT types', () => {
  for (const [ka, kc, want] of NAT_CASES) {
    it(`${ka} and ${kc} behind separate NATs end ${want === 'direct' ? 'punched direct' : 'relayed'}`, () =>
      runSeeded(`NAT ${ka}/${kc}`, 74, (seed) => {
        const sim = triangle(seed, { nat: { kind: ka } }, { nat: { kind: kc } });
        const t0 = sim.now;
        expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', want), SETTLE_MS), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
        console.log(`${ka}/${kc}: ${want} after ${(sim.now - t0).toFixed(0)} ms from start`);
        // and it stays so, past the NAT mappings' timeout
        const ping = sim.ping('c', IP.a, 50);
        sim.run(35_000);
        expect(agree(sim, 'a', 'c', want), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
        expect(ping.between(sim.now - 5_000).length).toBeGreaterThanOrEqual(95);
        if (want === 'direct') {
          // punched: each sees the other at its NAT's public address, not its private one
          expect(sim.seenAt('a', 'c')!.startsWith('203.0.113.')).toBe(true);
          expect(sim.seenAt('c', 'a')!.startsWith('203.0.113.')).toBe(true);
        }
      }));
  }

  it('two nodes behind one NAT talk directly on their LAN', () =>
    runSeeded('one NAT, two nodes', 75, (seed) => {
      const home = { kind: 'port-restricted' as NatKind, id: 'home' };
      const sim = triangle(seed, { nat: home }, { nat: home });
      expect(sim.runUntilTrue(() => agree(sim, 'a', 'c', 'direct'), SETTLE_MS), `a->c: ${pathOf(sim, 'a', 'c')}, c->a: ${pathOf(sim, 'c', 'a')}`).toBe(true);
      sim.run(1_000);
      expect(sim.seenAt('c', 'a')).toBe(sim.node('c').endpoint);
      expect(sim.seenAt('a', 'c')).toBe(sim.node('a').endpoint);
    }));
});

describe('HA through relays', () => {
  const SHARED = '10.0.0.1';

  /** s1 and s2 share 10.0.0.1 behind symmetric NATs, a client behind another; public relays. */
  function cluster(seed: number, relays: string[]): Sim {
    const sim = new Sim({ seed });
    sim.add(...relays.map((name, i) => ({ name, ip: `10.0.0.${50 + i}` })));
    sim.add(
      { name: 's1', ip: SHARED, seeds: relays, ...SYMMETRIC },
      { name: 's2', ip: SHARED, seeds: relays, ...SYMMETRIC },
      { name: 'client', ip: '10.0.0.100', seeds: relays, ...SYMMETRIC },
    );
    sim.start(...relays);
    sim.run(50);
    sim.start('s1');
    sim.run(100);
    sim.start('s2', 'client');
    const relayedAll = (): boolean => ['s1', 's2'].every((s) => relays.some((r) => agree(sim, 'client', s, `via ${r}`)));
    expect(sim.runUntilTrue(relayedAll, SETTLE_MS), `client->s1: ${pathOf(sim, 'client', 's1')}, client->s2: ${pathOf(sim, 'client', 's2')}`).toBe(true);
    sim.run(1_000);
    return sim;
  }

  const routes = (sim: Sim): Record<string, string | null> =>
    Object.fromEntries(sim.live().filter((n) => n.name.startsWith('s') || n.name === 'client').map((n) => [n.name, sim.routeOf(n.name, SHARED)]));

  it('kill -9 of the active server: the client reaches the other through a relay within the peer timeout + one keepalive', () =>
    runSeeded('HA through relays', 76, (seed) => {
      const sim = cluster(seed, ['r']);
      expect(routes(sim)).toEqual({ s1: 's1', s2: 's1', client: 's1' });
      const ping = sim.ping('client', SHARED, 10);
      sim.run(500);
      expect(ping.between(sim.now - 400).length).toBeGreaterThan(30);
      expect(ping.between(sim.now - 400).every((r) => r.server === 's1')).toBe(true);
      const t0 = sim.now;
      sim.crash('s1');
      expect(sim.runUntilTrue(() => Object.values(routes(sim)).every((r) => r === 's2'), 5_000)).toBe(true);
      expect(sim.now - t0).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs);
      sim.run(300);
      const first = ping.firstReplyAfter(t0, 's2')!;
      expect(first).toBeDefined();
      expect(first.at - t0).toBeLessThanOrEqual(sim.peerTimeoutMs + sim.keepaliveMs + 20);
      expect(ping.between(first.at).every((r) => r.server === 's2')).toBe(true);
      expect(pathOf(sim, 'client', 's2')).toBe('via r');
      for (const name of ['s2', 'client']) {
        const changes = sim.events((e) => e.node === name && e.t > t0 && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`);
        expect(changes.map((e) => e.event.type === 'route-change' && e.event.cause)).toEqual(['timeout']);
      }
    }));

  it('a dead relay is not a dead claimant: the relay in use crashes, the claimant keeps the IP', () =>
    runSeeded('dead relay, live claimant', 77, (seed) => {
      const sim = cluster(seed, ['r1', 'r2']);
      expect(routes(sim)).toEqual({ s1: 's1', s2: 's1', client: 's1' });
      const used = pathOf(sim, 'client', 's1').slice('via '.length);
      const ping = sim.ping('client', SHARED, 10);
      sim.run(500);
      const t0 = sim.now;
      sim.crash(used);
      sim.run(3 * sim.peerTimeoutMs);
      expect(routes(sim)).toEqual({ s1: 's1', s2: 's1', client: 's1' });
      expect(pathOf(sim, 'client', 's1')).toBe(`via ${used === 'r1' ? 'r2' : 'r1'}`);
      expect(sim.events((e) => e.t > t0 && e.event.type === 'route-change' && e.event.prefixText === `${SHARED}/32`)).toEqual([]);
      for (const [x, y] of [['client', 's1'], ['s1', 'client'], ['s2', 's1'], ['s1', 's2']] as const) expect(peerDowns(sim, x, y, t0)).toEqual([]);
      expect(ping.between(t0).every((r) => r.server === 's1')).toBe(true);
      expect(ping.between(t0 + sim.peerTimeoutMs).length).toBeGreaterThan(100);
    }));
});
