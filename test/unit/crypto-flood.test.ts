// Handshake floods (issue 10, finding 4): junk must cost nothing, many sources must not starve
// one, IPv6 must not give a sender unlimited sources, spoofed floods get cookies not work,
// live peers keep their sessions, and pending-responder slots are shared fairly.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { HandshakeRateLimiter, sourceKey } from '../../src/crypto/ratelimit.js';
import { ResponderTable } from '../../src/crypto/responders.js';
import type { ResponderEntry } from '../../src/crypto/session.js';
import { MSG_COOKIE_REPLY, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, PROTOCOL_VERSION } from '../../src/wire/header.js';
import { Net, PSK, forgeInitiation, msgType, pair } from './crypto-harness.js';

describe('handshake flood defence', () => {
  it('junk from many sources drains nothing: a legitimate message 1 right after is answered', () => {
    // the original finding: 1000 two-byte packets from 50 addresses made message 1 'rate-limited'
    const { net, a, b } = pair(60);
    a.channel.connect(0, b.endpoint); // message 1 arrives at t=1, right after the junk
    for (let i = 0; i < 1000; i++) net.enqueue({ at: 1, seq: -2000 + i, from: `192.0.2.${i % 50}:4000`, to: b.endpoint, data: Uint8Array.of(MSG_HANDSHAKE_INIT, PROTOCOL_VERSION) });
    net.advance(100); // before any retransmission
    expect(b.dropCount('malformed')).toBe(1000);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    expect(b.dropCount('rate-limited')).toBe(0);
  });

  it('counts an IPv6 /64 as one source', () => {
    expect(sourceKey('[2001:db8:0:1::5]:3210')).toBe(sourceKey('[2001:db8:0:1:ffff:1:2:3]:1'));
    expect(sourceKey('[2001:db8:0:1::5]:3210')).not.toBe(sourceKey('[2001:db8:0:2::5]:3210'));
    expect(sourceKey('[::ffff:192.0.2.1]:3210')).toBe('192.0.2.1');
    expect(sourceKey('192.0.2.1:3210')).toBe('192.0.2.1');
    const limiter = new HandshakeRateLimiter({
      globalPerSec: 1000, perSourcePerSec: 20, establishedPerSec: 10, cookiesPerSourcePerSec: 4, cookiesPerSec: 100,
    });
    let allowed = 0;
    for (let i = 0; i < 500; i++) if (limiter.allow(0, `[2001:db8:0:1::${i.toString(16)}]:3210`, false)) allowed++;
    expect(allowed).toBe(20);
  });

  it('gives a source its fair share even when many others spend the global budget', () => {
    const limiter = new HandshakeRateLimiter({
      globalPerSec: 100, perSourcePerSec: 20, establishedPerSec: 10, cookiesPerSourcePerSec: 4, cookiesPerSec: 100,
    });
    for (let i = 0; i < 2000; i++) limiter.allow(0, `198.51.100.${i % 50}:1`, false); // 50 busy sources
    expect(limiter.allow(1, '203.0.113.9:3210', false)).toBe(true); // a newcomer still gets in
    expect(limiter.allow(2, '203.0.113.10:3210', true)).toBe(true); // and a live peer from its reserve
    // cookie replies: a few per source, and a global cap
    expect(Array.from({ length: 10 }, () => limiter.allowCookie(3, '198.51.100.1:1')).filter(Boolean)).toHaveLength(4);
    let cookies = 0;
    for (let i = 0; i < 500; i++) if (limiter.allowCookie(3, `192.0.2.${i % 250}:${i}`)) cookies++;
    expect(cookies).toBe(100 - 4);
    expect(limiter.busy(3)).toBe(true);
  });

  it('answers a spoofed flood with cookies, not asymmetric work, and a real node still connects', () => {
    const { net, a, b } = pair(61, { latencyMs: 2 });
    const rng = net.rng;
    let forged = 0;
    const flood = (): void => {
      for (let i = 0; i < 40; i++, forged++) {
        b.channel.receive(net.now, `198.51.${(forged >> 8) & 255}.${forged & 255}:9`, forgeInitiation(rng, b, { psk: PSK, wallMs: net.now }));
      }
    };
    for (let t = 0; t < 2000; t += 10) {
      flood();
      if (t === 500) a.channel.connect(net.now, b.endpoint);
      net.advance(10);
    }
    const responses = net.log.filter((p) => p.from === b.endpoint && msgType(p) === MSG_HANDSHAKE_RESPONSE).length;
    const cookies = net.log.filter((p) => p.from === b.endpoint && msgType(p) === MSG_COOKIE_REPLY).length;
    // 8000 valid-looking message 1s in 2 s: message 2 (the asymmetric work) stays near half the
    // budget per second; the rest got cookies (which spoofed sources never see)
    expect(forged).toBe(8000);
    expect(responses).toBeLessThanOrEqual(2 * 250 + 20);
    expect(cookies).toBeGreaterThan(3000); // at most cookiesPerSec (2000) a second
    expect(b.dropCount('cookie')).toBe(cookies);
    expect(responses + cookies + b.dropCount('rate-limited')).toBeGreaterThanOrEqual(forged);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    expect(b.channel.isEstablished(a.id)).toBe(true);
  });

  it('keeps live peers: a rekey during a spoofed flood completes', () => {
    const { net, a, b } = pair(62, { latencyMs: 2 }, { timing: { rekeyAfterMs: 3_000 } });
    a.channel.connect(0, b.endpoint);
    net.advance(100);
    const before = a.channel.sendSessionIndices(b.id)!.local;
    let forged = 0;
    for (let t = 0; t < 4_000; t += 10) {
      for (let i = 0; i < 30; i++, forged++) {
        b.channel.receive(net.now, `198.51.${(forged >> 8) & 255}.${forged & 255}:9`, forgeInitiation(net.rng, b, { psk: PSK, wallMs: net.now }));
      }
      net.advance(10);
    }
    expect(a.channel.sendSessionIndices(b.id)!.local).not.toBe(before);
    expect(a.channel.isEstablished(b.id) && b.channel.isEstablished(a.id)).toBe(true);
  });

  it('answers a key-mode flood from one IPv6 /64 at the per-source rate only', () => {
    const net = new Net(63);
    const ids = [generateKeyPair(net.rng), generateKeyPair(net.rng)];
    const trusted = ids.map((k) => k.id);
    const b = net.addNode('10.0.0.2:3210', { trustedPeers: trusted }, ids[1]);
    for (let i = 0; i < 1000; i++) {
      // anyone may write a key-mode message 1 with a valid mac1: the key is public
      b.channel.receive(net.now, `[2001:db8:0:1::${i.toString(16)}]:3210`, forgeInitiation(net.rng, b, { wallMs: net.now }));
      net.now += 0.5;
    }
    const answered = net.log.filter((p) => msgType(p) === MSG_HANDSHAKE_RESPONSE).length;
    expect(answered).toBeLessThanOrEqual(20);
    expect(b.dropCount('rate-limited')).toBeGreaterThan(900);
    expect(b.channel.tableSizes().responders).toBeLessThanOrEqual(20);
  });
});

describe('pending responder slots', () => {
  const entry = (source: string, n: number): ResponderEntry =>
    ({ kind: 'responder', source, ephemeral: `${source}#${n}` }) as unknown as ResponderEntry;

  it('caps slots per source, and a full table takes the slot from the source holding the most', () => {
    const t = new ResponderTable(10, 4);
    for (let i = 0; i < 4; i++) t.add(entry('a', i));
    expect(t.victimFor('a')).toBe(t.get('a#0')); // a's fifth evicts a's oldest
    for (let i = 0; i < 3; i++) t.add(entry('b', i));
    for (let i = 0; i < 3; i++) t.add(entry('c', i));
    expect(t.size).toBe(10);
    const victim = t.victimFor('d');
    expect(victim?.source).toBe('a');
    t.remove(victim!);
    t.add(entry('d', 0));
    expect(t.size).toBe(10);
    expect(t.victimFor('b')).toBe(t.get('a#1'));
  });
});
