// Paths over a small simulated network of real engines with real SecureChannels: A and C reach
// only B (their link is cut both ways), so they must talk through B, end to end encrypted;
// B's limits and --no-relay hold; a dead relay hands its pairs to another; a direct path
// that opens takes the traffic back.
import { fragmentIPv4 } from '../../src/wire/ipv4-fragment.js';
import { describe, expect, it } from 'vitest';
import type { ChannelSink } from '../../src/core/channel.js';
import { MsgKind } from '../../src/core/types.js';
import type { EngineConfig } from '../../src/core/engine.js';
import { runSeeded, Sim, type ChannelFactory, type NodeSpec } from '../sim/harness.js';
import { SimRng } from '../sim/rng.js';
import { secureChannel } from '../sim/secure-channel.js';

const IP = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3', d: '10.0.0.4' } as const;

interface Spy {
  /** Payloads of Relay / Relayed messages node `name` received (copies). */
  relayed: Uint8Array[];
}

/** The secure channel, with a spy on what `spyOn` is handed as relay messages. */
function spying(psk: Uint8Array, spyOn: string, spy: Spy): ChannelFactory {
  const inner = secureChannel(psk);
  const factory: ChannelFactory = (ctx) => {
    if (ctx.name !== spyOn) return inner(ctx);
    const sink: ChannelSink = {
      ...ctx.sink,
      send: (to, d) => ctx.sink.send(to, d),
      onEstablished: (n, p, e) => ctx.sink.onEstablished(n, p, e),
      onSelf: (e) => ctx.sink.onSelf(e),
      onDrop: (r, f) => ctx.sink.onDrop(r, f),
      onMessage: (now, peer, ep, kind, payload, arrival) => {
        if (kind === MsgKind.Relay || kind === MsgKind.Relayed) spy.relayed.push(payload.slice());
        ctx.sink.onMessage(now, peer, ep, kind, payload, arrival);
      },
    };
    return inner({ ...ctx, sink });
  };
  if (inner.recordAuth) factory.recordAuth = inner.recordAuth;
  return factory;
}

function triangle(seed: number, opts: { a?: Partial<EngineConfig>; b?: Partial<EngineConfig>; spy?: Spy; withD?: boolean } = {}): Sim {
  const psk = new Uint8Array(32);
  new SimRng(seed).fill(psk);
  const channel = opts.spy ? spying(psk, 'b', opts.spy) : secureChannel(psk);
  const sim = new Sim({ seed, channel, link: { latencyMs: 1, jitterMs: 0.5 } });
  const specs: NodeSpec[] = [
    { name: 'a', ip: IP.a, seeds: ['b'], ...(opts.a ? { config: opts.a } : {}) },
    { name: 'b', ip: IP.b, ...(opts.b ? { config: opts.b } : {}) },
    { name: 'c', ip: IP.c, seeds: ['b'] },
  ];
  if (opts.withD) specs.push({ name: 'd', ip: IP.d, seeds: ['a', 'c'] });
  sim.add(...specs);
  sim.net.partition([sim.node('a').endpoint], [sim.node('c').endpoint]);
  sim.start(...specs.map((s) => s.name));
  return sim;
}

const status = (sim: Sim, name: string) => sim.node(name).mustEngine().status(sim.clock(sim.node(name)));
const pathOf = (sim: Sim, from: string, to: string): string | undefined =>
  status(sim, from).peers.find((p) => p.id === sim.node(to).id)?.endpoint;
const relayVia = (sim: Sim, via: string, to: string): string => `relay:${sim.node(via).id}/${sim.node(to).id}`;

describe('paths: relaying through a common peer', () => {
  it('A and C that reach only B talk through B, end to end encrypted', () =>
    runSeeded('relay triangle', 7, (seed) => {
      const spy: Spy = { relayed: [] };
      const sim = triangle(seed, { spy });
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c') !== undefined && pathOf(sim, 'c', 'a') !== undefined, 10_000)).toBe(true);
      expect(pathOf(sim, 'a', 'c')).toBe(relayVia(sim, 'b', 'c'));
      expect(pathOf(sim, 'c', 'a')).toBe(relayVia(sim, 'b', 'a'));
      sim.run(500);
      const ping = sim.ping('a', IP.c, 20);
      sim.run(2_000);
      expect(ping.replies.length).toBeGreaterThan(80);
      expect(ping.replies.every((r) => r.server === 'c')).toBe(true);
      // B forwarded what A and C exchanged, but never saw an inner packet in the clear: the
      // ping's IP addresses (10.0.0.1 -> 10.0.0.3) appear in no relayed payload.
      expect(spy.relayed.length).toBeGreaterThan(100);
      const pattern = [10, 0, 0, 1, 10, 0, 0, 3];
      const contains = (b: Uint8Array) => b.some((_, i) => pattern.every((v, j) => b[i + j] === v));
      expect(spy.relayed.filter(contains)).toEqual([]);
      const b = status(sim, 'b');
      const aAtB = b.peers.find((p) => p.id === sim.node('a').id)!;
      expect(aAtB.relayed.rx.packets).toBeGreaterThan(50);
      expect(aAtB.relayed.tx.packets).toBeGreaterThan(50);
      expect(b.relay.forwarded.packets).toBe(spy.relayed.length); // every relay request was served
      expect(status(sim, 'a').drops['relay-denied'] + status(sim, 'c').drops['relay-denied'] + b.drops['relay-denied']).toBe(0);
    }));

  it('a node with --no-relay relays nothing: A and C never meet', () =>
    runSeeded('no relay', 8, (seed) => {
      const sim = triangle(seed, { b: { relay: 0 } });
      sim.run(8_000);
      expect(pathOf(sim, 'a', 'c')).toBeUndefined();
      expect(pathOf(sim, 'a', 'b')).toBe(sim.node('b').endpoint);
      // they never even asked: B announces that it does not relay
      expect(status(sim, 'b').relay.forwarded.packets).toBe(0);
    }));

  it('relayed traffic is limited per pair: beyond it B drops and counts, and forwards nothing more', () =>
    runSeeded('relay limit', 9, (seed) => {
      const sim = triangle(seed, { b: { relayLimit: { packetsPerSec: 50, bytesPerSec: 1_000_000 } } });
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c') !== undefined, 10_000)).toBe(true);
      sim.run(1_000);
      const before = status(sim, 'b').relay.forwarded.packets;
      const ping = sim.ping('a', IP.c, 2); // 500 requests a second, and as many replies
      sim.run(2_000);
      ping.stopped = true;
      const b = status(sim, 'b');
      const forwarded = b.relay.forwarded.packets - before;
      // two pairs (a->c, c->a), 50/s each plus a burst of 12: about 2 * (2 s * 50 + 12)
      expect(forwarded).toBeLessThanOrEqual(2 * (2 * 50 + 13) + 10);
      expect(b.drops['relay-limit']).toBeGreaterThan(500);
    }));

  it('when the relay dies, the pair moves to another relay within the peer timeout', () =>
    runSeeded('relay failover', 10, (seed) => {
      const sim = triangle(seed, { withD: true });
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c')?.startsWith('relay:') === true && pathOf(sim, 'c', 'a')?.startsWith('relay:') === true, 10_000)).toBe(true);
      sim.run(3_000);
      const via = pathOf(sim, 'a', 'c')!.includes(sim.node('b').id) ? 'b' : 'd';
      const other = via === 'b' ? 'd' : 'b';
      const ping = sim.ping('a', IP.c, 10);
      sim.run(500);
      const t0 = sim.now;
      sim.crash(via);
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c') === relayVia(sim, other, 'c') && pathOf(sim, 'c', 'a') === relayVia(sim, other, 'a'), 3_000)).toBe(true);
      sim.run(500);
      const first = ping.firstReplyAfter(t0 + 50);
      expect(first).toBeDefined();
      expect(first!.at - t0).toBeLessThan(sim.peerTimeoutMs);
      // A never declared C dead: a dead relay is not a dead peer
      expect(sim.events((e) => e.event.type === 'peer-down' && (e.event.peer === sim.node('c').id || e.event.peer === sim.node('a').id))).toEqual([]);
    }));

  it('when the direct path opens, the traffic leaves the relay', () =>
    runSeeded('relay to direct', 11, (seed) => {
      const sim = triangle(seed);
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c')?.startsWith('relay:') === true, 10_000)).toBe(true);
      sim.net.heal();
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c') === sim.node('c').endpoint && pathOf(sim, 'c', 'a') === sim.node('a').endpoint, 40_000)).toBe(true);
      const before = status(sim, 'b').relay.forwarded.packets;
      const ping = sim.ping('a', IP.c, 20);
      sim.run(1_000);
      expect(ping.replies.length).toBeGreaterThan(40);
      expect(status(sim, 'b').relay.forwarded.packets - before).toBeLessThan(5);
    }));

  it('a packet too big for the relayed path is answered with ICMP "fragmentation needed" (DF) or cut into fragments that fit (no DF)', () =>
    runSeeded('relay too big', 12, (seed) => {
      const sim = triangle(seed, { a: { relayMtu: 1000 } });
      expect(sim.runUntilTrue(() => pathOf(sim, 'a', 'c')?.startsWith('relay:') === true && pathOf(sim, 'c', 'a')?.startsWith('relay:') === true, 10_000)).toBe(true);
      sim.run(500);
      const a = sim.node('a');
      const c = sim.node('c');
      const packet = (size: number, df: boolean): Uint8Array => {
        const p = new Uint8Array(size);
        p.set([0x45, 0, size >> 8, size & 0xff, 0, 0, df ? 0x40 : 0, 0, 64, 17], 0);
        p.set([10, 0, 0, 1, 10, 0, 0, 3], 12);
        return p;
      };
      const cBefore = c.tunPackets;
      a.mustEngine().handleTunPacket(sim.clock(a), packet(1200, true));
      sim.run(100);
      expect(c.tunPackets).toBe(cBefore);
      expect(status(sim, 'a').drops['too-big']).toBe(1);
      const icmp = a.lastTunPacket!;
      expect([icmp[9], icmp[20], icmp[21], (icmp[26]! << 8) | icmp[27]!]).toEqual([1, 3, 4, 1000]);
      expect([...icmp.subarray(12, 20)]).toEqual([10, 0, 0, 3, 10, 0, 0, 1]);
      // without don't-fragment it goes through the relay in fragments of at most 1000 bytes (as a
      // router cuts it; c's kernel reassembles them), and a packet at the MTU goes whole
      const countFrom = c.tunPackets;
      const big = packet(1200, false);
      const fragments = fragmentIPv4(big, 1000)!;
      expect(fragments.map((f) => f.length)).toEqual([996, 224]);
      a.mustEngine().handleTunPacket(sim.clock(a), big);
      sim.run(100);
      expect(c.tunPackets).toBe(countFrom + 2);
      expect(fragments.some((f) => Buffer.from(f).equals(c.lastTunPacket!))).toBe(true);
      a.mustEngine().handleTunPacket(sim.clock(a), packet(1000, true));
      sim.run(100);
      expect(c.tunPackets).toBe(countFrom + 3);
      expect(c.lastTunPacket!.length).toBe(1000);
      expect(status(sim, 'a').drops['too-big']).toBe(1);
    }));
});
