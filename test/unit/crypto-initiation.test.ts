// Message 1 in key mode and its freshness (issue 10, finding 6): no answer to strangers, no
// answer to a replayed or stale message 1, duplicates answered only where the original came
// from, and every endpoint-keyed table bounded.
import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/crypto/bounded-map.js';
import { MAX_CONNECTS } from '../../src/crypto/channel.js';
import { InitiationReplayCache, TIMESTAMP_WINDOW_MS, capacityFor, ephemeralKey } from '../../src/crypto/initiation-cache.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE } from '../../src/wire/header.js';
import { Net, PSK, forgeInitiation, msgType, pair, type Packet } from './crypto-harness.js';

function keyModeNet(seed: number) {
  const net = new Net(seed);
  const ids = [generateKeyPair(net.rng), generateKeyPair(net.rng)];
  const trusted = ids.map((k) => k.id);
  const a = net.addNode('10.0.0.1:3210', { trustedPeers: trusted }, ids[0]);
  const b = net.addNode('10.0.0.2:3210', { trustedPeers: trusted }, ids[1]);
  return { net, a, b };
}

const responsesFrom = (net: Net, from: string): Packet[] =>
  net.log.filter((p) => p.from === from && msgType(p) === MSG_HANDSHAKE_RESPONSE);

describe('key mode does not answer strangers', () => {
  it("a scanner that does not know a node's key gets no reply (before: message 2 with the node's identity)", () => {
    const { net, b } = keyModeNet(80);
    const scanner = net.addNode('198.51.100.9:3210', { trustedPeers: [generateKeyPair(net.rng).id] });
    scanner.channel.connect(0, b.endpoint);
    net.advance(5_000);
    expect(net.log.filter((p) => p.from === b.endpoint)).toHaveLength(0);
    expect(b.dropCount('mac')).toBeGreaterThan(0);
  });

  it('dials a seed with one mac1 per trusted key and remembers who answered there', () => {
    const net = new Net(81);
    const ids = Array.from({ length: 5 }, () => generateKeyPair(net.rng));
    const trusted = ids.map((k) => k.id);
    const a = net.addNode('10.0.0.1:3210', { trustedPeers: trusted }, ids[0]);
    const b = net.addNode('10.0.0.2:3210', { trustedPeers: trusted }, ids[3]);
    a.channel.connect(0, b.endpoint);
    net.advance(100);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    expect(net.log.filter((p) => p.from === a.endpoint && msgType(p) === MSG_HANDSHAKE_INIT)).toHaveLength(4);
    expect(b.dropCount('mac')).toBe(3); // the copies for the other keys
    a.channel.forget(b.id);
    b.channel.forget(a.id);
    const before = net.log.length;
    a.channel.connect(net.now, b.endpoint);
    net.advance(100);
    expect(net.log.slice(before).filter((p) => p.from === a.endpoint && msgType(p) === MSG_HANDSHAKE_INIT)).toHaveLength(1);
    expect(a.channel.isEstablished(b.id)).toBe(true);
  });

  it('with the expected peer given, sends one copy keyed to it', () => {
    const net = new Net(82);
    const ids = Array.from({ length: 5 }, () => generateKeyPair(net.rng));
    const trusted = ids.map((k) => k.id);
    const a = net.addNode('10.0.0.1:3210', { trustedPeers: trusted }, ids[0]);
    const b = net.addNode('10.0.0.2:3210', { trustedPeers: trusted }, ids[4]);
    a.channel.connect(0, b.endpoint, b.id);
    net.advance(100);
    expect(net.log.filter((p) => p.from === a.endpoint && msgType(p) === MSG_HANDSHAKE_INIT)).toHaveLength(1);
    expect(a.channel.isEstablished(b.id)).toBe(true);
  });
});

describe('message 1 freshness', () => {
  function captureInit(seed: number) {
    const { net, a, b } = keyModeNet(seed);
    let m1: Uint8Array | null = null;
    net.intercept = (p) => { if (!m1 && msgType(p) === MSG_HANDSHAKE_INIT) m1 = p.data.slice(); return 'pass'; };
    a.channel.connect(0, b.endpoint);
    net.advance(100);
    net.intercept = null;
    expect(a.channel.isEstablished(b.id)).toBe(true);
    return { net, a, b, m1: m1! };
  }

  it('never answers a captured message 1 again, however late (before: answered forever)', () => {
    const { net, a, b, m1 } = captureInit(83);
    net.nodes.delete(a.endpoint); // a goes quiet: whatever b sends to it now answers the replays
    const evil = '203.0.113.5:3210';
    const answeredBefore = responsesFrom(net, b.endpoint).length;
    for (const wait of [10, 30_000, TIMESTAMP_WINDOW_MS + 60_000]) {
      net.advance(wait);
      b.channel.receive(net.now, evil, m1);
      b.channel.receive(net.now, '10.0.0.1:3210', m1);
    }
    expect(responsesFrom(net, b.endpoint).filter((p) => p.to === evil)).toHaveLength(0);
    expect(responsesFrom(net, b.endpoint)).toHaveLength(answeredBefore); // nothing after the capture
    expect(b.dropCount('replay') + b.dropCount('stale')).toBe(6);
  });

  it('refuses a message 1 stamped outside the window (stale), and accepts one inside it', () => {
    const { net, b } = keyModeNet(84);
    net.now = 1_000_000; // the harness's channels use `now` as their wall clock
    const skew = TIMESTAMP_WINDOW_MS + 1_000;
    b.channel.receive(net.now, '203.0.113.1:1', forgeInitiation(net.rng, b, { wallMs: net.now - skew }));
    b.channel.receive(net.now, '203.0.113.1:1', forgeInitiation(net.rng, b, { wallMs: net.now + skew }));
    expect(b.dropCount('stale')).toBe(2);
    b.channel.receive(net.now, '203.0.113.1:1', forgeInitiation(net.rng, b, { wallMs: net.now - 10_000 }));
    expect(responsesFrom(net, b.endpoint)).toHaveLength(1);
  });

  it('answers a retransmitted message 1 from its own source only (no reflector)', () => {
    const { net, b } = keyModeNet(85);
    const m1 = forgeInitiation(net.rng, b, { wallMs: 0 });
    b.channel.receive(0, '203.0.113.1:1', m1);
    b.channel.receive(200, '203.0.113.1:1', m1); // retransmission: answered again
    b.channel.receive(400, '192.0.2.200:53', m1); // same bytes from elsewhere: not answered
    for (let t = 600; t < 5_000; t += 200) b.channel.receive(t, '203.0.113.1:1', m1);
    const answers = responsesFrom(net, b.endpoint);
    expect(answers.filter((p) => p.to === '192.0.2.200:53')).toHaveLength(0);
    expect(answers.length).toBe(1 + 4); // the answer and at most MAX_RESENDS repeats
    expect(b.dropCount('replay')).toBe(1 + 1 + 22);
  });

  it('the replay cache never forgets into accepting a replay: a full cache shrinks the window', () => {
    const c = new InitiationReplayCache(3, 60_000);
    const wall = 1_000_000;
    c.remember(wall, wall - 30_000, 1);
    c.remember(wall, wall - 10_000, 2);
    c.remember(wall, wall, 3);
    c.remember(wall, wall + 1, 4); // full: the oldest slot goes, and its timestamps are refused now
    expect(c.size).toBe(3);
    expect(c.check(wall, wall - 30_000, 1)).toBe('stale');
    expect(c.check(wall, wall - 26_000, 8)).toBe('stale'); // its whole 5 s slot
    expect(c.check(wall, wall - 10_000, 2)).toBe('replay');
    expect(c.check(wall, wall - 20_000, 9)).toBe('fresh'); // outside what was dropped
    c.remember(wall + 100_000, wall + 100_000, 5); // the rest expired: forgotten, and still refused
    expect(c.size).toBe(1);
    expect(c.check(wall, wall + 1, 4)).toBe('stale'); // even with the clock stepped back
  });

  it('future-stamped message 1s cannot push the refusal floor up to now', () => {
    const c = new InitiationReplayCache(100, 60_000);
    const wall = 1_000_000;
    for (let i = 0; i < 500; i++) c.remember(wall, wall + 59_000, 1000 + i); // an attacker's, all "from the future"
    expect(c.size).toBeLessThanOrEqual(100);
    expect(c.check(wall, wall - 1_000, 7)).toBe('fresh'); // a genuine one stamped just now
  });

  it('is sized for everything the rate limits let through in a window', () => {
    expect(capacityFor(1200)).toBeGreaterThanOrEqual(1200 * 2 * TIMESTAMP_WINDOW_MS / 1000);
    expect(ephemeralKey(new Uint8Array([1, 0, 0, 0, 0, 0, 9]))).toBe(1);
    expect(ephemeralKey(new Uint8Array(6).fill(255))).toBe(2 ** 48 - 1);
  });
});

describe('bounded endpoint tables', () => {
  it('connect() to more endpoints than MAX_CONNECTS keeps the table bounded', () => {
    const { net, a } = pair(86);
    for (let i = 0; i < MAX_CONNECTS + 500; i++) a.channel.connect(net.now, `198.51.${i >> 8}.${i & 255}:3210`);
    expect(a.channel.tableSizes().connects).toBe(MAX_CONNECTS);
    net.intercept = () => 'drop';
    net.advance(60_000);
    expect(Object.values(a.channel.tableSizes()).every((n) => n <= MAX_CONNECTS + 16)).toBe(true);
  });

  it('BoundedMap forgets its oldest entries', () => {
    const m = new BoundedMap<string, number>(3);
    for (let i = 0; i < 10; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
    expect([...m.entries()].map(([k]) => k)).toEqual(['k7', 'k8', 'k9']);
  });

  it('a responder remembers strangers in bounded tables only', () => {
    const { net, b } = pair(87);
    for (let i = 0; i < 6000; i++) {
      b.channel.receive(net.now, `198.51.${(i >> 8) & 255}.${i & 255}:9`, forgeInitiation(net.rng, b, { psk: PSK, wallMs: net.now }));
      net.now += 1;
    }
    const sizes = b.channel.tableSizes();
    expect(sizes.responders).toBeLessThanOrEqual(4096);
    expect(sizes.rateLimitSources).toBeLessThanOrEqual(2 * 4096 + 2);
  });
});
