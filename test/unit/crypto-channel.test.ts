import { describe, expect, it } from 'vitest';
import { MsgKind } from '../../src/core/types.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import {
  MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_TRANSPORT,
} from '../../src/wire/header.js';
import { Net, PSK, SeededRng, pair, text, type Packet, type TestNode } from './crypto-harness.js';

const DATA = 0 as MsgKind;
const CONTROL = 2 as MsgKind;

function sendText(net: Net, from: TestNode, to: TestNode, s: string): boolean {
  return from.channel.send(net.now, to.id, DATA, text(s));
}

/** Both directions carry a fresh message right now. */
function expectTalking(net: Net, a: TestNode, b: TestNode, tag: string): void {
  expect(sendText(net, a, b, `a->b ${tag}`)).toBe(true);
  expect(sendText(net, b, a, `b->a ${tag}`)).toBe(true);
  net.advance(50);
  expect(b.dataPayloads(a.id)).toContain(`a->b ${tag}`);
  expect(a.dataPayloads(b.id)).toContain(`b->a ${tag}`);
}

/** Both ends send on the same session (our local index is their remote index). */
function expectSameSession(a: TestNode, b: TestNode): void {
  const sa = a.channel.sendSessionIndices(b.id);
  const sb = b.channel.sendSessionIndices(a.id);
  expect(sa).toBeDefined();
  expect(sb).toBeDefined();
  expect(sa!.local).toBe(sb!.remote);
  expect(sa!.remote).toBe(sb!.local);
}

const typeOf = (p: Packet): number => p.data[0]!;

describe('SecureChannel handshake', () => {
  it('establishes a session and carries data both ways (happy path)', () => {
    const { net, a, b } = pair(1);
    a.channel.connect(net.now, b.endpoint);
    net.advance(100);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    expect(b.channel.isEstablished(a.id)).toBe(true);
    expect(a.established.map((e) => e.peer)).toEqual([b.id]);
    expect(b.established.map((e) => e.peer)).toEqual([a.id]);
    expect(b.established[0]!.endpoint).toBe(a.endpoint);
    expectTalking(net, a, b, '1');
    expectSameSession(a, b);
    // the three handshake messages plus the responder's confirming keepalive
    expect(net.log.slice(0, 4).map(typeOf)).toEqual([MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_HANDSHAKE_CONFIRM, MSG_TRANSPORT]);
    expect(a.dropCount()).toBe(0);
    expect(b.dropCount()).toBe(0);
    expect(a.channel.sessionInfo(b.id)?.algorithm).toBe('chacha20');
  });

  it('does not hand out the payload of one message to the next', () => {
    const { net, a, b } = pair(2);
    a.channel.connect(net.now, b.endpoint);
    net.advance(100);
    for (let i = 0; i < 20; i++) sendText(net, a, b, `m${i}`.repeat(i + 1));
    net.advance(100);
    expect(b.dataPayloads(a.id)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`.repeat(i + 1)));
  });

  for (const lost of [MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_HANDSHAKE_CONFIRM, MSG_TRANSPORT]) {
    it(`recovers when the first message of type ${lost} is lost`, () => {
      const { net, a, b } = pair(10 + lost);
      let dropped = false;
      net.intercept = (p) => {
        if (!dropped && typeOf(p) === lost) { dropped = true; return 'drop'; }
        return 'pass';
      };
      a.channel.connect(net.now, b.endpoint);
      net.advance(5_000);
      expect(dropped).toBe(true);
      expect(a.channel.isEstablished(b.id)).toBe(true);
      expect(b.channel.isEstablished(a.id)).toBe(true);
      expectTalking(net, a, b, 'after loss');
      expectSameSession(a, b);
      expect(a.channel.sessionInfo(b.id)?.confirmed).toBe(true);
    });
  }

  it('drops a tampered byte in every field of every handshake message, then recovers', () => {
    // expected drop reason per byte offset, as laid out in src/wire/header.ts
    const reasonAt = (type: number, i: number): string | null => {
      if (i < 4) return 'malformed'; // type, version, reserved / kind
      // message 1: mac1 covers everything before it; mac2 is not checked while we are not busy
      if (type === MSG_HANDSHAKE_INIT) return i < 116 ? 'mac' : null;
      if (i < 8) return 'unknown-session'; // receiver index
      if (type === MSG_TRANSPORT && i === 15) return 'malformed'; // counter above 2^53 - 1
      return 'auth'; // keys, ciphertexts, counter, tags
    };
    let runs = 0;
    for (const type of [MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE, MSG_HANDSHAKE_CONFIRM, MSG_TRANSPORT]) {
      for (let i = 0; ; i++) {
        const { net, a, b } = pair(1000 + runs++);
        let tampered: Packet | null = null;
        net.intercept = (p) => {
          if (!tampered && typeOf(p) === type) {
            if (i >= p.data.length) { tampered = p; return 'pass'; } // past the end: done with this type
            p.data[i]! ^= 0x10;
            tampered = p;
            net.enqueue({ ...p, at: net.now + 1 });
            return 'drop';
          }
          return 'pass';
        };
        a.channel.connect(0, b.endpoint);
        net.advance(5_000);
        const t = tampered as Packet | null;
        expect(t).not.toBeNull();
        if (i >= t!.data.length) break;
        const receiver = t!.to === a.endpoint ? a : b;
        const reason = reasonAt(type, i);
        expect([...receiver.drops.entries()], `type ${type} byte ${i}`).toEqual(reason ? [[reason, 1]] : []);
        expect(a.channel.isEstablished(b.id) && b.channel.isEstablished(a.id), `type ${type} byte ${i}`).toBe(true);
        expectSameSession(a, b);
      }
    }
    expect(runs).toBeGreaterThan(250);
  });

  it('handles every handshake message duplicated', () => {
    const { net, a, b } = pair(20);
    net.intercept = (p) => {
      if (typeOf(p) !== MSG_TRANSPORT) net.enqueue({ ...p, seq: p.seq + 0.5, at: net.now + 3 });
      return 'pass';
    };
    a.channel.connect(net.now, b.endpoint);
    net.advance(200);
    expectTalking(net, a, b, 'dup');
    expectSameSession(a, b);
    expect(a.established).toHaveLength(1);
    expect(b.established).toHaveLength(1);
    // every duplicate is accounted for as a replay, nothing else
    expect(a.dropCount()).toBe(a.dropCount('replay'));
    expect(b.dropCount()).toBe(b.dropCount('replay'));
    expect(a.dropCount('replay') + b.dropCount('replay')).toBeGreaterThanOrEqual(3);
  });

  it('handles reordering of handshake and data; the initiator sends only once confirmed', () => {
    const { net, a, b } = pair(21, { latencyMs: 5, jitterMs: 20 });
    a.channel.connect(net.now, b.endpoint);
    // a sends data as soon as it can; reordering may put it ahead of message 3
    let sent = 0;
    for (let t = 0; t < 200; t += 1) {
      net.advance(1);
      if (a.channel.isEstablished(b.id)) { sendText(net, a, b, `d${sent++}`); }
    }
    net.advance(2000);
    expect(sent).toBeGreaterThan(0);
    // nothing can overtake message 3: a waits for b's confirmation before sending
    const got = b.dataPayloads(a.id);
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBe(sent);
    expect(b.dropCount('unknown-session')).toBe(0);
    expectTalking(net, a, b, 'reordered');
  });

  it('resolves simultaneous initiation to one session on both sides (many seeds)', () => {
    for (let seed = 100; seed < 160; seed++) {
      const net = new Net(seed, { latencyMs: 1, jitterMs: 10, dupRate: 0.1 });
      const a = net.addNode('10.0.0.1:3210', { psk: PSK });
      const b = net.addNode('10.0.0.2:3210', { psk: PSK });
      a.channel.connect(0, b.endpoint);
      net.now = net.rng.int(8);
      b.channel.connect(net.now, a.endpoint);
      net.advance(3_000);
      expectSameSession(a, b);
      expectTalking(net, a, b, `sim ${seed}`);
      // still the same after the grace time of any superseded session
      net.advance(30_000);
      expectSameSession(a, b);
      expectTalking(net, a, b, `sim later ${seed}`);
      expect(a.established).toHaveLength(1);
      expect(b.established).toHaveLength(1);
    }
  });

  it('simultaneous initiation under loss still converges', () => {
    for (let seed = 200; seed < 230; seed++) {
      const net = new Net(seed, { latencyMs: 2, jitterMs: 15, lossRate: 0.2 });
      const a = net.addNode('10.0.0.1:3210', { psk: PSK });
      const b = net.addNode('10.0.0.2:3210', { psk: PSK });
      a.channel.connect(0, b.endpoint);
      b.channel.connect(0, a.endpoint);
      net.advance(20_000);
      net.opts.lossRate = 0;
      net.advance(10_000);
      expectSameSession(a, b);
      expectTalking(net, a, b, `lossy ${seed}`);
    }
  });

  it('rejects a node with the wrong password without answering it', () => {
    const net = new Net(30);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK });
    const evil = net.addNode('10.0.0.66:3210', { psk: new Uint8Array(32).fill(8) });
    evil.channel.connect(0, a.endpoint);
    net.advance(10_000);
    expect(a.dropCount('mac')).toBeGreaterThan(0); // mac1 is keyed with the psk
    expect(a.dropCount()).toBe(a.dropCount('mac'));
    // a never sent anything to the stranger
    expect(net.log.filter((p) => p.from === a.endpoint)).toHaveLength(0);
    expect(evil.channel.isEstablished(a.id)).toBe(false);
    expect(a.received).toHaveLength(0);
  });

  it('rejects an untrusted key in key mode, in both roles', () => {
    const net = new Net(31);
    const idA = generateKeyPair(net.rng);
    const idB = generateKeyPair(net.rng);
    const idEvil = generateKeyPair(net.rng);
    const a = net.addNode('10.0.0.1:3210', { trustedPeers: [idA.id, idB.id] }, idA);
    const b = net.addNode('10.0.0.2:3210', { trustedPeers: [idA.id, idB.id] }, idB);
    const evil = net.addNode('10.0.0.66:3210', { trustedPeers: [idA.id, idB.id, idEvil.id] }, idEvil);
    evil.channel.connect(0, a.endpoint); // a is responder: rejects at message 3
    a.channel.connect(0, evil.endpoint); // a keys mac1 for the keys it trusts: evil never answers
    a.channel.connect(0, b.endpoint);
    net.advance(10_000);
    expect(a.dropCount('untrusted')).toBeGreaterThanOrEqual(1);
    expect(evil.dropCount('mac')).toBeGreaterThanOrEqual(1);
    expect(net.log.filter((p) => p.from === evil.endpoint && p.to === a.endpoint && typeOf(p) === MSG_HANDSHAKE_RESPONSE))
      .toHaveLength(0);
    expect(a.channel.isEstablished(evil.id)).toBe(false);
    expect(a.established.map((e) => e.peer)).toEqual([b.id]);
    // evil is never confirmed by a, so it does not even consider itself connected
    expect(evil.channel.isEstablished(a.id)).toBe(false);
    expect(evil.established.filter((e) => e.peer === a.id)).toHaveLength(0);
    expect(evil.channel.send(net.now, a.id, DATA, text('let me in'))).toBe(false);
    net.advance(100);
    expect(a.received.filter((r) => r.peer === evil.id)).toHaveLength(0);
    expectTalking(net, a, b, 'trusted');
  });

  it('refuses to run without a password or trusted keys', () => {
    const net = new Net(32);
    expect(() => net.addNode('10.0.0.1:3210', {})).toThrow(/password or trusted keys/);
  });

  it('detects a handshake with itself and reports the endpoint', () => {
    const net = new Net(33);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK });
    net.nodes.set('127.0.0.1:3210', a); // a second address of the same node
    a.channel.connect(0, '127.0.0.1:3210');
    net.advance(10_000);
    expect(a.selfEndpoints).toEqual(['127.0.0.1:3210']);
    expect(a.dropCount('self')).toBe(1);
    const sentBefore = net.log.length;
    net.advance(30_000);
    expect(net.log.length).toBe(sentBefore); // stopped retrying
    a.channel.connect(net.now, '127.0.0.1:3210'); // and never tries again
    expect(net.log.length).toBe(sentBefore);
  });

  it('keeps retrying an unreachable endpoint with exponential backoff and jitter', () => {
    const sendTimes: number[] = [];
    const net2 = new Net(34);
    const a2 = net2.addNode('10.0.0.1:3210', { psk: PSK });
    net2.intercept = () => { sendTimes.push(net2.now); return 'pass'; };
    a2.channel.connect(0, '10.0.0.9:3210');
    net2.advance(60_000);
    const gaps = sendTimes.slice(1).map((t, i) => t - sendTimes[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(250 * 0.75);
    expect(gaps[0]).toBeLessThan(250 * 1.25);
    expect(gaps[1]).toBeGreaterThanOrEqual(500 * 0.75);
    expect(Math.max(...gaps)).toBeLessThan(4_000 * 1.25);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(4_000 * 0.75);
    expect(sendTimes.length).toBeGreaterThan(12); // still trying after a minute
    a2.channel.cancelConnect('10.0.0.9:3210');
    const n = sendTimes.length;
    net2.advance(60_000);
    expect(sendTimes.length).toBe(n);
  });

  it('rate-limits a handshake flood per source address', () => {
    const net = new Net(35);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK });
    const flooder = net.addNode('10.0.0.66:3210', { psk: PSK });
    // capture one valid message 1 and replay fresh copies of it with a new ephemeral each time
    let flood = 0;
    for (let i = 0; i < 1000; i++) {
      flooder.channel.cancelConnect(`10.0.0.1:3210`);
      flooder.channel.connect(net.now, '10.0.0.1:3210');
      flood++;
      net.now += 1;
      net.advance(0);
    }
    net.advance(10);
    expect(a.dropCount('rate-limited')).toBeGreaterThan(900);
    // a legitimate node from another address is unaffected
    const b = net.addNode('10.0.0.2:3210', { psk: PSK });
    b.channel.connect(net.now, a.endpoint);
    net.advance(200);
    expect(b.channel.isEstablished(a.id)).toBe(true);
    expect(flood).toBe(1000);
  });
});

describe('SecureChannel transport', () => {
  function established(seed: number, opts = {}, chOpts = {}) {
    const { net, a, b } = pair(seed, opts, chOpts);
    a.channel.connect(net.now, b.endpoint);
    net.advance(100);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    return { net, a, b };
  }

  function captureTransport(net: Net, a: TestNode, b: TestNode, msg: string): Uint8Array {
    let captured: Uint8Array | null = null;
    net.intercept = (p) => { if (typeOf(p) === MSG_TRANSPORT && p.from === a.endpoint) captured = p.data; return 'pass'; };
    sendText(net, a, b, msg);
    net.intercept = null;
    net.advance(10);
    return captured!;
  }

  it('drops a replayed packet and accepts reordered ones within the window', () => {
    const { net, a, b } = established(40);
    const pkt = captureTransport(net, a, b, 'once');
    net.enqueue({ at: net.now, seq: 1e9, from: a.endpoint, to: b.endpoint, data: pkt });
    net.advance(10);
    expect(b.dataPayloads(a.id).filter((s) => s === 'once')).toHaveLength(1);
    expect(b.dropCount('replay')).toBe(1);
    // reorder: hold back 50 packets, deliver them after 50 later ones
    const held: Packet[] = [];
    net.intercept = (p) => { if (held.length < 50 && typeOf(p) === MSG_TRANSPORT) { held.push(p); return 'drop'; } return 'pass'; };
    for (let i = 0; i < 100; i++) sendText(net, a, b, `r${i}`);
    net.advance(10);
    for (const p of held) net.enqueue({ ...p, at: net.now });
    net.advance(10);
    const got = b.dataPayloads(a.id).filter((s) => s.startsWith('r'));
    expect(got).toHaveLength(100);
    expect(got.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i + 50}`));
  });

  it('authenticates every header field and the body (tampered byte -> dropped)', () => {
    const { net, a, b } = established(41);
    const pkt = captureTransport(net, a, b, 'original payload');
    const before = b.received.length;
    for (let i = 0; i < pkt.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = pkt.slice();
        bad[i]! ^= flip;
        const drops = b.dropCount();
        b.channel.receive(net.now, a.endpoint, bad);
        expect(b.dropCount()).toBe(drops + 1);
      }
    }
    expect(b.received.length).toBe(before);
    expect(b.dropCount('auth')).toBeGreaterThan(0);
    expect(b.dropCount('malformed')).toBeGreaterThan(0); // type, version, kind, reserved
    expect(b.dropCount('unknown-session')).toBeGreaterThan(0); // receiver index
    expectTalking(net, a, b, 'after tamper');
  });

  it('drops truncated transport packets', () => {
    const { net, a, b } = established(42);
    const pkt = captureTransport(net, a, b, 'truncate me');
    const drops = b.dropCount();
    for (let len = 0; len < pkt.length; len++) b.channel.receive(net.now, a.endpoint, pkt.subarray(0, len));
    expect(b.dropCount()).toBe(drops + pkt.length);
    expect(b.received.filter((r) => new TextDecoder().decode(r.payload) === 'truncate me')).toHaveLength(1);
  });

  it('rekeys on time with packets in flight and loses none', () => {
    const { net, a, b } = established(43, { latencyMs: 5, jitterMs: 30 }, { timing: { rekeyAfterMs: 2_000 } });
    const first = a.channel.sendSessionIndices(b.id)!;
    let i = 0;
    for (let t = 0; t < 10_000; t += 2) {
      sendText(net, a, b, `a${i}`);
      sendText(net, b, a, `b${i}`);
      i++;
      net.advance(2);
    }
    net.advance(1000);
    expect(a.channel.sendSessionIndices(b.id)!.local).not.toBe(first.local); // rekeyed
    expect(b.dataPayloads(a.id)).toHaveLength(i);
    expect(a.dataPayloads(b.id)).toHaveLength(i);
    expect(new Set(b.dataPayloads(a.id)).size).toBe(i);
    expect(a.dropCount()).toBe(0);
    expect(b.dropCount()).toBe(0);
    expect(a.established).toHaveLength(1); // rekeys are not news for the mesh
    expectSameSession(a, b);
  });

  it('rekeys before the message limit with packets in flight and loses none', () => {
    const { net, a, b } = established(44, { latencyMs: 3, jitterMs: 10 }, { timing: { rekeyAfterMessages: 300 } });
    const seen = new Set<number>();
    let i = 0;
    for (let t = 0; t < 3000; t++) {
      sendText(net, a, b, `x${i++}`);
      if (t % 3 === 0) net.advance(1);
      const s = a.channel.sendSessionIndices(b.id)!;
      seen.add(s.local);
    }
    net.advance(1000);
    expect(seen.size).toBeGreaterThanOrEqual(5);
    expect(b.dataPayloads(a.id)).toHaveLength(i);
    expect(b.dropCount()).toBe(0);
  });

  it('loses nothing through frequent and colliding rekeys with reordering and duplication (many seeds)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const net = new Net(seed, { latencyMs: 1, jitterMs: 40, dupRate: 0.05 });
      const timing = {
        rekeyAfterMs: 1000 + (seed % 7) * 300,
        responderRekeyDelayMs: seed % 3 === 0 ? 0 : 200, // 0: both ends rekey at the same moment
        simultaneousGuardMs: 500 + (seed % 5) * 500,
        previousGraceMs: 2000,
      };
      const a = net.addNode('10.0.0.1:3210', { psk: PSK, timing });
      const b = net.addNode('10.0.0.2:3210', { psk: PSK, timing });
      a.channel.connect(0, b.endpoint);
      b.channel.connect(net.rng.int(20), a.endpoint);
      net.advance(1000);
      const ra = a.received.length;
      const rb = b.received.length;
      let sent = 0;
      for (let t = 0; t < 10_000; t += 5) {
        if (a.channel.send(net.now, b.id, DATA, text('a'))) sent++;
        if (b.channel.send(net.now, a.id, DATA, text('b'))) sent++;
        net.advance(5);
      }
      net.advance(200);
      const got = [...a.received.slice(ra), ...b.received.slice(rb)].filter((r) => r.kind === DATA).length;
      expect(sent, `seed ${seed}`).toBe(4000);
      expect(got, `seed ${seed}`).toBe(4000);
      expect(a.established, `seed ${seed}`).toHaveLength(1);
      expectSameSession(a, b);
    }
  });

  it('a session dies after rejectAfterMs when the peer is gone', () => {
    const { net, a, b } = established(45, {}, { timing: { rekeyAfterMs: 1_000, rejectAfterMs: 3_000 } });
    net.nodes.delete(b.endpoint); // b vanishes
    net.advance(2_000);
    expect(a.channel.isEstablished(b.id)).toBe(true);
    net.advance(2_000);
    expect(a.channel.isEstablished(b.id)).toBe(false);
    expect(a.channel.send(net.now, b.id, DATA, text('x'))).toBe(false);
  });

  it('follows a roaming peer and reports its new endpoint', () => {
    const { net, a, b } = established(46);
    net.nodes.delete(a.endpoint);
    a.endpoint = '192.168.7.7:40000';
    net.nodes.set(a.endpoint, a);
    expect(sendText(net, a, b, 'from afar')).toBe(true);
    net.advance(10);
    expect(b.received.at(-1)!.endpoint).toBe('192.168.7.7:40000');
    expect(sendText(net, b, a, 'found you')).toBe(true);
    net.advance(10);
    expect(a.dataPayloads(b.id)).toContain('found you');
  });

  it('does not roam on a control message from another address (a probe of another path), only on data', () => {
    const { net, a, b } = established(49);
    const home = a.endpoint;
    // a's second address (dual stack): it sends a probe there on purpose
    const other = '[2001:db8::7]:3210';
    net.nodes.set(other, a);
    a.endpoint = other;
    expect(a.channel.send(net.now, b.id, CONTROL, text('probe via another path'))).toBe(true);
    net.advance(10);
    expect(b.received.at(-1)!.endpoint).toBe(home); // b keeps sending where it did
    expect(sendText(net, a, b, 'data from the other address')).toBe(true);
    net.advance(10);
    expect(b.received.at(-1)!.endpoint).toBe(other); // data: a really moved
  });

  it('re-handshakes after the peer restarted and tells the mesh', () => {
    const { net, a, b } = established(47);
    const idB = b.identity;
    net.nodes.delete(b.endpoint);
    const b2 = net.addNode(b.endpoint, { psk: PSK }, idB); // same identity, new process
    b2.channel.connect(net.now, a.endpoint);
    net.advance(200);
    expect(a.established.map((e) => e.peer)).toEqual([b.id, b.id]);
    expectTalking(net, a, b2, 'after restart');
  });

  it('renew() shakes hands again with a peer that restarted silently, where connect() does nothing', () => {
    const { net, a, b } = established(50);
    const idB = b.identity;
    net.nodes.delete(b.endpoint);
    const b2 = net.addNode(b.endpoint, { psk: PSK }, idB); // same identity, new process, dials nobody
    expect(sendText(net, a, b2, 'into the void')).toBe(true); // a's session still looks usable
    net.advance(50);
    expect(b2.dropCount('unknown-session')).toBe(1);
    a.channel.connect(net.now, b.endpoint, b.id);
    net.advance(200);
    expect(b2.established).toEqual([]); // connect() is for peers without a session
    a.channel.renew(net.now, b.endpoint, b.id);
    net.advance(200);
    expect(b2.established.map((e) => e.peer)).toEqual([a.id]);
    expectTalking(net, a, b2, 'after renew');
  });

  it('forget() drops all sessions with a peer', () => {
    const { net, a, b } = established(48);
    a.channel.forget(b.id);
    expect(a.channel.isEstablished(b.id)).toBe(false);
    expect(a.channel.send(net.now, b.id, DATA, text('x'))).toBe(false);
    sendText(net, b, a, 'to a forgotten session');
    net.advance(10);
    expect(a.dropCount('unknown-session')).toBe(1);
    a.channel.connect(net.now, b.endpoint);
    net.advance(100);
    expectTalking(net, a, b, 'again');
  });

  it('carries keepalive and control kinds authenticated', () => {
    const { net, a, b } = established(49);
    a.channel.send(net.now, b.id, MsgKind.Control, text('ctl'));
    a.channel.send(net.now, b.id, MsgKind.Keepalive, new Uint8Array(0));
    net.advance(10);
    const kinds = b.received.filter((r) => r.now > 0).map((r) => r.kind);
    expect(kinds).toContain(MsgKind.Control);
    expect(kinds).toContain(MsgKind.Keepalive);
  });

  it('negotiates aes256 when both prefer it, and plain only when both enable it', () => {
    const net = new Net(50);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK, algorithms: ['aes256', 'chacha20'] });
    const b = net.addNode('10.0.0.2:3210', { psk: PSK, algorithms: ['aes256', 'chacha20'] });
    const p1 = net.addNode('10.0.0.3:3210', { psk: PSK, algorithms: ['plain'] });
    const p2 = net.addNode('10.0.0.4:3210', { psk: PSK, algorithms: ['plain'] });
    a.channel.connect(0, b.endpoint);
    p1.channel.connect(0, p2.endpoint);
    a.channel.connect(0, p1.endpoint); // plain vs encrypted: no common algorithm
    net.advance(3_000);
    expect(a.channel.sessionInfo(b.id)?.algorithm).toBe('aes256');
    expectTalking(net, a, b, 'aes');
    expect(p1.channel.sessionInfo(p2.id)?.algorithm).toBe('plain');
    expectTalking(net, p1, p2, 'plain');
    expect(a.channel.isEstablished(p1.id)).toBe(false);
    expect(p1.dropCount('handshake-state')).toBeGreaterThan(0);
    // plain really is plain on the wire
    const wire = net.log.filter((p) => p.from === p1.endpoint && typeOf(p) === MSG_TRANSPORT);
    expect(wire.length).toBeGreaterThan(0);
    const enc = net.log.filter((p) => p.from === a.endpoint && typeOf(p) === MSG_TRANSPORT);
    expect(enc.some((p) => new TextDecoder().decode(p.data).includes('a->b aes'))).toBe(false);
    const plainWire = net.log.filter((p) => p.from === p1.endpoint && typeOf(p) === MSG_TRANSPORT);
    expect(plainWire.some((p) => new TextDecoder().decode(p.data).includes('a->b plain'))).toBe(true);
    // ...but not forgeable: anyone who sees the session index could rewrite a plain packet before
    let held: Uint8Array | null = null;
    net.intercept = (p) => { if (p.from === p1.endpoint && typeOf(p) === MSG_TRANSPORT) held = p.data.slice(); return 'drop'; };
    sendText(net, p1, p2, 'pay 100');
    net.intercept = null;
    const pkt = held! as Uint8Array;
    pkt[Buffer.from(pkt).indexOf('pay 100') + 4] = '9'.charCodeAt(0);
    const before = p2.received.length;
    p2.channel.receive(net.now, p1.endpoint, pkt);
    expect(p2.received.length).toBe(before);
    expect(p2.dropCount('auth')).toBe(1);
  });

  it('never throws out of receive(), even when the sink does', () => {
    const { net, a, b } = established(51);
    b.onMsg = () => { throw new Error('mesh bug'); };
    expect(() => { sendText(net, a, b, 'boom'); net.advance(10); }).not.toThrow();
    expect(b.errors).toHaveLength(1);
    b.onMsg = null;
    const rng = new SeededRng(5);
    for (let i = 0; i < 1000; i++) {
      const d = new Uint8Array(rng.int(200));
      rng.fill(d);
      expect(() => b.channel.receive(net.now, '1.2.3.4:5', d)).not.toThrow();
    }
  });
});
