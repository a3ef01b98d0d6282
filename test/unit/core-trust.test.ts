// Members are authenticated, not trusted (issue 10): what one member's NodeInfo and data can
// make another node do. Claims are screened (claim rights, route safety, a cap), data must
// come from the sender's own claims, boot times far in the future are clamped, gossip cannot
// make a node dial much or dial special addresses, and every table fed by peers is bounded.
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { describe, expect, it } from 'vitest';
import {
  DIAL_BURST, GOSSIP_TARGET_RETRY_MS, MAX_BOOT_TIME_AHEAD_MS, MAX_CLAIMS_PER_PEER, MAX_GOSSIP_PEERS_PER_INFO,
  MAX_PEER_ENDPOINTS, MAX_SELF_ENDPOINTS, MAX_TARGETS_PER_HOST, MAX_TARGETS_PER_INFORMANT,
} from '../../src/core/constants.js';
import { createEngine, type Engine, type EngineConfig } from '../../src/core/engine.js';
import type { EngineEvent } from '../../src/core/events.js';
import type { PeerId } from '../../src/core/types.js';
import { parseIPv4, parseIPv6, parsePrefix } from '../../src/wire/addr.js';
import { SimRng } from '../sim/rng.js';
import { FakeChannel, info, ipv4Packet } from './core-fake-channel.js';

const SELF_BOOT = 1_700_000_000_000;
const P = '192.0.2.2:3210';

interface Harness {
  engine: Engine;
  ch: FakeChannel;
  events: EngineEvent[];
  delivered: Uint8Array[];
}

function setup(extra: Partial<EngineConfig> = {}): Harness {
  const events: EngineEvent[] = [];
  const delivered: Uint8Array[] = [];
  let ch!: FakeChannel;
  const engine = createEngine({
    config: {
      claims: [parsePrefix('10.0.0.100')],
      bootTimeMs: SELF_BOOT,
      seeds: [],
      keepaliveMs: 100,
      peerTimeoutMs: 800,
      ...extra,
    },
    makeChannel: (sink) => (ch = new FakeChannel(sink)),
    recordAuth: simRecordAuth('self'),
    send: () => {},
    deliver: (p) => delivered.push(p.slice()),
    onEvent: (e) => events.push(e),
    rng: new SimRng(7),
  });
  engine.start(0);
  return { engine, ch, events, delivered };
}

/** Distinct endpoints dialled in the gossip test range (not the informants, which time out and are retried). */
const gossipDials = (h: Harness): string[] => [...new Set(h.ch.connects.filter((e) => e.startsWith('198.51.')))];
const routeOf = (h: Harness, ip: string): PeerId | null => h.engine.routeFor(parseIPv4(ip) ?? parseIPv6(ip)!);
const ofType = <T extends EngineEvent['type']>(h: Harness, t: T) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === t);

/** Run the engine's timers up to `until` (peers stay alive: the fake channel answers nothing). */
function runTo(h: Harness, until: number): void {
  for (let i = 0; i < 1_000_000; i++) {
    const next = h.engine.nextDeadline();
    if (next > until) return;
    h.engine.handleTimeout(next);
  }
  throw new Error('engine timers did not settle');
}

describe('claims: route safety', () => {
  it('ignores a peer claim outside the private ranges: no route, counted, shown, logged once', () => {
    const h = setup();
    h.ch.up(1, 'p', P);
    const claims = ['10.0.0.1', '8.8.8.8/32', '0.0.0.0/1', '192.168.4.0/24'];
    h.ch.control(2, 'p', P, info(SELF_BOOT - 1000, 1, claims));
    h.ch.control(3, 'p', P, info(SELF_BOOT - 1000, 2, claims)); // the same again: counted, not logged again
    expect(routeOf(h, '10.0.0.1')).toBe('p');
    expect(routeOf(h, '192.168.4.9')).toBe('p');
    expect(routeOf(h, '8.8.8.8')).toBeNull();
    expect(routeOf(h, '1.1.1.1')).toBeNull();
    expect(h.engine.prefixesRoutedToOthers().map((p) => `${p.bytes.join('.')}/${p.len}`)).toEqual(['10.0.0.1/32', '192.168.4.0/24']);
    const st = h.engine.status(4);
    expect(st.drops['claim-denied']).toBe(4);
    expect(st.peers[0]!.claims).toEqual(['10.0.0.1/32', '192.168.4.0/24']);
    expect(st.peers[0]!.deniedClaims).toEqual([
      { prefix: '8.8.8.8/32', reason: 'outside-allowed-routes' },
      { prefix: '0.0.0.0/1', reason: 'outside-allowed-routes' },
    ]);
    expect(ofType(h, 'claim-denied').map((e) => e.prefix)).toEqual(['8.8.8.8/32', '0.0.0.0/1']);
  });

  it('accepts what allowed-routes covers; a very broad prefix needs an entry that covers it', () => {
    const h = setup({ allowedRoutes: [parsePrefix('8.8.8.0/24'), parsePrefix('2001:db8::/32')] });
    h.ch.up(1, 'p', P);
    h.ch.control(2, 'p', P, info(5, 1, ['8.8.8.8/32', '8.8.0.0/16', 'fc00::/7', 'fd00:1::/32', '2001:db8:1::/48']));
    expect(routeOf(h, '8.8.8.8')).toBe('p');
    expect(routeOf(h, 'fd00:1::5')).toBe('p');
    expect(routeOf(h, '2001:db8:1::1')).toBe('p');
    expect(h.engine.status(3).peers[0]!.deniedClaims).toEqual([
      { prefix: '8.8.0.0/16', reason: 'outside-allowed-routes' },
      { prefix: 'fc00::/7', reason: 'too-broad' },
    ]);
    const open = setup({ allowedRoutes: [parsePrefix('0.0.0.0/0')] }); // the explicit permission
    open.ch.up(1, 'p', P);
    open.ch.control(2, 'p', P, info(5, 1, ['0.0.0.0/1']));
    expect(routeOf(open, '1.2.3.4')).toBe('p');
  });

  it('keeps the first claims of a NodeInfo up to the cap and counts the rest', () => {
    const h = setup();
    h.ch.up(1, 'p', P);
    const claims = Array.from({ length: MAX_CLAIMS_PER_PEER + 36 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    h.ch.control(2, 'p', P, info(5, 1, [...claims, claims[0]!])); // a duplicate is not a second claim
    expect(routeOf(h, `10.1.0.${MAX_CLAIMS_PER_PEER - 1}`)).toBe('p');
    expect(routeOf(h, `10.1.0.${MAX_CLAIMS_PER_PEER}`)).toBeNull();
    const st = h.engine.status(3);
    expect(st.peers[0]!.claims).toHaveLength(MAX_CLAIMS_PER_PEER);
    expect(st.drops['claim-limit']).toBe(36);
  });
});

describe('claims: claim rights', () => {
  const rights = new Map<PeerId, readonly ReturnType<typeof parsePrefix>[]>([
    ['a', [parsePrefix('10.0.0.1/32')]],
    ['b', [parsePrefix('10.0.0.0/24'), parsePrefix('192.168.0.0/16')]],
    ['rogue', [parsePrefix('10.0.0.3/32')]],
  ]);

  it('a member without a right cannot take a prefix over, not even with boot time 0', () => {
    const h = setup({ claimRights: rights });
    h.ch.up(1, 'a', '192.0.2.2:3210');
    h.ch.up(1, 'b', '192.0.2.3:3210');
    h.ch.up(1, 'rogue', '192.0.2.4:3210');
    h.ch.control(2, 'a', '192.0.2.2:3210', info(SELF_BOOT - 5000, 1, ['10.0.0.1']));
    h.ch.control(2, 'b', '192.0.2.3:3210', info(SELF_BOOT - 4000, 1, ['10.0.0.1', '192.168.9.0/24']));
    h.ch.control(2, 'rogue', '192.0.2.4:3210', info(0, 1, ['10.0.0.1', '10.0.0.3', '10.0.0.0/24']));
    expect(routeOf(h, '10.0.0.1')).toBe('a'); // the longest uptime among those with a right
    expect(routeOf(h, '10.0.0.3')).toBe('rogue');
    expect(routeOf(h, '10.0.0.9')).toBeNull();
    expect(routeOf(h, '192.168.9.1')).toBe('b');
    const rogue = h.engine.status(3).peers.find((p) => p.id === 'rogue')!;
    expect(rogue.claims).toEqual(['10.0.0.3/32']);
    expect(rogue.deniedClaims).toEqual([{ prefix: '10.0.0.1/32', reason: 'no-right' }, { prefix: '10.0.0.0/24', reason: 'no-right' }]);
    expect(h.engine.status(3).drops['claim-denied']).toBe(2);
  });

  it('a peer with no right at all gets nothing; our own claims are not screened', () => {
    const h = setup({ claimRights: rights });
    h.ch.up(1, 'stranger', P);
    h.ch.control(2, 'stranger', P, info(5, 1, ['10.0.0.200']));
    expect(routeOf(h, '10.0.0.200')).toBeNull();
    expect(routeOf(h, '10.0.0.100')).toBe('self');
  });
});

describe('data: the source address must be one of the sender\'s claims', () => {
  it('drops a packet from an address the sender does not claim (bad-source)', () => {
    const h = setup();
    h.ch.up(1, 'p', P);
    h.ch.control(2, 'p', P, info(5, 1, ['10.0.0.1', '192.168.5.0/24', '8.8.8.8']));
    h.ch.data(3, 'p', P, ipv4Packet('10.0.0.100', '10.0.0.1'));
    h.ch.data(3, 'p', P, ipv4Packet('10.0.0.100', '192.168.5.77'));
    h.ch.data(3, 'p', P, ipv4Packet('10.0.0.100', '10.0.0.77')); // spoofed
    h.ch.data(3, 'p', P, ipv4Packet('10.0.0.100', '8.8.8.8')); // its denied claim gives no right to send
    expect(h.delivered.map((p) => [...p.subarray(12, 16)].join('.'))).toEqual(['10.0.0.1', '192.168.5.77']);
    expect(h.engine.status(4).drops['bad-source']).toBe(2);
  });

  it('checks IPv6 sources too, and drops everything from a peer that claims nothing', () => {
    const h = setup({ claims: [parsePrefix('fd00::100')] });
    h.ch.up(1, 'p', P);
    const v6 = (src: string): Uint8Array => {
      const p = new Uint8Array(40);
      p[0] = 0x60;
      p.set(parseIPv6(src)!, 8);
      p.set(parseIPv6('fd00::100')!, 24);
      return p;
    };
    h.ch.data(2, 'p', P, v6('fd00::1')); // no NodeInfo yet: no claims
    h.ch.control(3, 'p', P, info(5, 1, ['fd00::/64']));
    h.ch.data(4, 'p', P, v6('fd00::1'));
    h.ch.data(4, 'p', P, v6('fd00:1::1'));
    expect(h.delivered).toHaveLength(1);
    expect(h.engine.status(5).drops['bad-source']).toBe(2);
  });
});

describe('boot times', () => {
  it('clamps a boot time far ahead of our clock, once per incarnation', () => {
    const h = setup();
    h.ch.up(1, 'p', P);
    h.ch.up(1, 'q', '192.0.2.3:3210');
    const far = SELF_BOOT + 3_600_000;
    h.ch.control(2, 'p', P, info(far, 1, ['10.0.0.1']));
    h.ch.control(500, 'p', P, info(far, 2, ['10.0.0.1']));
    // q started 1 s after our start: it is younger than p announced, but p's lie is clamped.
    h.ch.control(2, 'q', '192.0.2.3:3210', info(SELF_BOOT + MAX_BOOT_TIME_AHEAD_MS + 1000, 1, ['10.0.0.1']));
    expect(ofType(h, 'boot-time-clamped')).toEqual([
      { type: 'boot-time-clamped', peer: 'p', announcedMs: far, usedMs: SELF_BOOT + 2 + MAX_BOOT_TIME_AHEAD_MS },
      { type: 'boot-time-clamped', peer: 'q', announcedMs: SELF_BOOT + MAX_BOOT_TIME_AHEAD_MS + 1000, usedMs: SELF_BOOT + 2 + MAX_BOOT_TIME_AHEAD_MS },
    ]);
    expect(ofType(h, 'peer-restart')).toEqual([]); // the clamp did not look like a new boot time
    expect(h.engine.status(600).peers.find((x) => x.id === 'p')!.bootTimeMs).toBe(far); // status shows what it said
  });
});

describe('gossip: what a NodeInfo can make us dial', () => {
  it('never dials special-purpose addresses, and looks at most at a few endpoints per entry', () => {
    const h = setup();
    h.ch.up(0, 'p', P);
    const bad = ['127.0.0.1:3210', '0.0.0.0:3210', '224.0.0.1:3210', '255.255.255.255:3210', '169.254.1.1:3210',
      '[::1]:3210', '[::]:3210', '[fe80::1]:3210', '[ff02::1]:3210', '[::ffff:7f00:1]:3210', '[::7f00:1]:3210'];
    h.ch.control(1, 'p', P, info(5, 1, [], [
      ...bad.map((ep, i) => ({ id: `bad${i}`, endpoints: [ep] })),
      { id: 'many', endpoints: ['198.51.100.1:1', '198.51.100.2:1', '198.51.100.3:1', '198.51.100.4:1', '198.51.100.5:1'] },
      { id: 'v6', endpoints: ['[2001:db8::5]:3210'] },
    ]));
    runTo(h, 2);
    expect(h.ch.connects.sort()).toEqual(['198.51.100.1:1', '198.51.100.2:1', '198.51.100.3:1', '[2001:db8::5]:3210']);
    expect(h.engine.status(3).drops['gossip-limit']).toBe(bad.length + 2);
  });

  it('caps entries per NodeInfo, targets per host and per informant; passes the expected identity', () => {
    const h = setup();
    h.ch.up(0, 'p', P);
    const entries = Array.from({ length: MAX_GOSSIP_PEERS_PER_INFO + 10 }, (_, i) => ({
      id: `g${i}`,
      endpoints: [`198.51.${100 + (i % 2)}.${i < 20 ? 7 : i}:${1000 + i}`],
    }));
    h.ch.control(1, 'p', P, info(5, 1, [], entries));
    runTo(h, 5_000);
    const hosts = new Map<string, number>();
    for (const ep of gossipDials(h)) hosts.set(ep.split(':')[0]!, (hosts.get(ep.split(':')[0]!) ?? 0) + 1);
    expect(hosts.get('198.51.100.7')).toBe(MAX_TARGETS_PER_HOST);
    expect(hosts.get('198.51.101.7')).toBe(MAX_TARGETS_PER_HOST);
    expect(gossipDials(h)).toHaveLength(MAX_TARGETS_PER_INFORMANT);
    const i = h.ch.connects.indexOf('198.51.100.7:1000');
    expect(h.ch.connectPeers[i]).toBe('g0');
    // 10 entries over the cap, 16 endpoints over the per-host caps, the rest over the informant's cap
    expect(h.engine.status(5_000).drops['gossip-limit']).toBe(MAX_GOSSIP_PEERS_PER_INFO + 10 - MAX_TARGETS_PER_INFORMANT);
  });

  it('in key mode dials only identities the channel would accept', () => {
    const h = setup();
    h.ch.trusted = new Set(['p', 'friend']);
    h.ch.up(0, 'p', P);
    h.ch.control(1, 'p', P, info(5, 1, [], [{ id: 'friend', endpoints: ['192.0.2.7:3210'] }, { id: 'stranger', endpoints: ['192.0.2.8:3210'] }]));
    runTo(h, 2);
    expect(h.ch.connects).toEqual(['192.0.2.7:3210']);
    expect(h.engine.status(3).drops['gossip-limit']).toBe(1);
  });

  it('rate-limits first contacts to new endpoints', () => {
    const h = setup();
    h.ch.up(0, 'p', P);
    h.ch.up(0, 'q', '192.0.2.3:3210');
    const some = (from: number) => Array.from({ length: 20 }, (_, i) => ({ id: `n${from + i}`, endpoints: [`198.51.100.${from + i}:3210`] }));
    h.ch.control(1, 'p', P, info(5, 1, [], some(0)));
    h.ch.control(1, 'q', '192.0.2.3:3210', info(5, 1, [], some(20)));
    runTo(h, 1);
    expect(gossipDials(h)).toHaveLength(DIAL_BURST);
    expect(h.engine.status(1).drops['dial-limit']).toBeGreaterThan(0);
    runTo(h, 3_000);
    expect(gossipDials(h)).toHaveLength(40); // the rest follow at the bucket's rate
  });

  it('gives up gossip targets that never connected much sooner than lost peers', () => {
    const h = setup();
    h.ch.up(0, 'p', P);
    h.ch.control(1, 'p', P, info(5, 1, ['10.0.0.1'], [{ id: 'ghost', endpoints: ['198.51.100.9:3210'] }]));
    runTo(h, GOSSIP_TARGET_RETRY_MS + 1);
    const ghostTries = h.ch.connects.filter((e) => e === '198.51.100.9:3210').length;
    expect(ghostTries).toBeGreaterThan(3);
    const lostTries = h.ch.connects.filter((e) => e === P).length; // p timed out at 0.8 s: it is lost
    runTo(h, 5 * 60_000);
    expect(h.ch.connects.filter((e) => e === '198.51.100.9:3210').length).toBe(ghostTries);
    expect(h.ch.connects.filter((e) => e === P).length).toBeGreaterThan(lostTries + 10);
    const i = h.ch.connects.lastIndexOf(P);
    expect(h.ch.connectPeers[i]).toBe('p'); // a lost peer is dialled expecting its identity
  });
});

describe('bounded tables', () => {
  it('self marks expire, so a forged "that was you" cannot blacklist an endpoint forever', () => {
    const h = setup({ seeds: ['192.0.2.9:3210'] });
    h.ch.sink.onSelf('192.0.2.9:3210');
    expect(h.engine.status(1).selfEndpoints).toEqual(['192.0.2.9:3210']);
    const before = h.ch.connects.length;
    runTo(h, 60_000);
    expect(h.ch.connects.length).toBe(before); // not dialled while marked
    runTo(h, h.engine.timing.lostPeerRetryMs + 1_000);
    expect(h.engine.status(h.engine.timing.lostPeerRetryMs + 1_000).selfEndpoints).toEqual([]);
    expect(h.ch.connects.length).toBeGreaterThan(before); // the seed is tried again
  });

  it('remembers at most a few self endpoints and a few endpoints per peer', () => {
    const h = setup();
    for (let i = 0; i < MAX_SELF_ENDPOINTS + 5; i++) h.ch.sink.onSelf(`192.0.2.${100 + i}:3210`);
    expect(h.engine.status(1).selfEndpoints).toHaveLength(MAX_SELF_ENDPOINTS);
    h.ch.up(1, 'p', P);
    for (let i = 0; i < 10; i++) h.ch.control(2 + i, 'p', `198.51.100.1:${2000 + i}`, { type: 'probe', id: i, sentAtMs: 0 });
    const peer = h.engine.status(20).peers[0]!;
    expect(peer.endpoint).toBe('198.51.100.1:2009');
    expect(peer.endpoints).toEqual(['198.51.100.1:2006', '198.51.100.1:2007', '198.51.100.1:2008', '198.51.100.1:2009']);
    expect(peer.endpoints).toHaveLength(MAX_PEER_ENDPOINTS);
  });
});
