// Reflection and spoofed sources (issue 10, finding 5): reflected handshake messages never
// mark a real peer as "self", and a member that spoofs the source of its message 3 cannot make
// the channel report another peer's endpoint as its own.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESPONSE } from '../../src/wire/header.js';
import { Net, PSK, msgType, pair } from './crypto-harness.js';

describe('reflection', () => {
  it("our message 1 (and any message 2) bounced back never marks the endpoint we dial as self", () => {
    const { net, a, b } = pair(70);
    const reflector = '203.0.113.66:3210';
    // the reflector sees a's message 1 to b, sends it back to a, and bounces whatever a answers
    net.intercept = (p) => {
      if (p.from === a.endpoint && p.to === b.endpoint && msgType(p) === MSG_HANDSHAKE_INIT) {
        net.enqueue({ ...p, seq: p.seq + 0.5, from: reflector, to: a.endpoint, at: net.now + 1 });
      }
      if (p.from === a.endpoint && p.to === reflector) {
        net.enqueue({ ...p, seq: p.seq + 0.5, from: reflector, to: a.endpoint, at: net.now + 1 });
      }
      return 'pass';
    };
    a.channel.connect(0, b.endpoint);
    net.advance(2_000);
    expect(a.selfEndpoints).toEqual([]);
    expect(a.dropCount('self')).toBe(0);
    expect(a.dropCount('reflected')).toBeGreaterThan(0);
    expect(net.log.filter((p) => p.from === a.endpoint && p.to === reflector)).toHaveLength(0); // never answered
    expect(a.channel.isEstablished(b.id)).toBe(true);
  });

  it('a message 2 carrying our own static is reflected, not self', () => {
    // two processes with one key (a restarted node, a copied key): b answers with a's identity
    const net = new Net(71);
    const id = generateKeyPair(net.rng);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK }, id);
    const twin = net.addNode('10.0.0.2:3210', { psk: PSK }, id);
    a.channel.connect(0, twin.endpoint);
    net.advance(2_000);
    expect(a.dropCount('reflected')).toBeGreaterThan(0);
    expect(a.selfEndpoints).toEqual([]);
    expect(a.dropCount('self')).toBe(0);
  });

  it('still detects a real connection to itself (the packet comes from where it was sent)', () => {
    const net = new Net(72);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK });
    net.nodes.set('127.0.0.1:3210', a);
    a.channel.connect(0, '127.0.0.1:3210');
    net.advance(1_000);
    expect(a.selfEndpoints).toEqual(['127.0.0.1:3210']);
    expect(a.dropCount('reflected')).toBe(0);
  });
});

describe('spoofed message 3', () => {
  it("a member cannot move a live peer's endpoint by spoofing the source of its message 3", () => {
    const net = new Net(73);
    const a = net.addNode('10.0.0.1:3210', { psk: PSK });
    const b = net.addNode('10.0.0.2:3210', { psk: PSK });
    const m = net.addNode('10.0.0.66:3210', { psk: PSK });
    a.channel.connect(0, b.endpoint);
    net.advance(100);
    expect(a.channel.sessionInfo(b.id)?.endpoint).toBe(b.endpoint);
    // m runs messages 1 and 2 from its own address, then sends message 3 "from" b's endpoint
    net.intercept = (p) => {
      if (p.from === m.endpoint && msgType(p) === MSG_HANDSHAKE_CONFIRM) {
        net.enqueue({ ...p, seq: p.seq + 0.5, from: b.endpoint, at: net.now + 1 });
        return 'drop';
      }
      return 'pass';
    };
    m.channel.connect(net.now, a.endpoint);
    net.advance(100);
    const mEvents = a.established.filter((e) => e.peer === m.id);
    expect(mEvents.length).toBeGreaterThan(0);
    expect(mEvents.every((e) => e.endpoint === m.endpoint)).toBe(true);
    expect(a.established.filter((e) => e.endpoint === b.endpoint).map((e) => e.peer)).toEqual([b.id]);
    expect(a.channel.sessionInfo(m.id)?.endpoint).toBe(m.endpoint);
    expect(a.channel.sessionInfo(b.id)?.endpoint).toBe(b.endpoint);
  });

  it('an initiator uses the endpoint it dialled, not the source of message 2', () => {
    const { net, a, b } = pair(74);
    net.intercept = (p) => {
      if (msgType(p) === MSG_HANDSHAKE_RESPONSE) {
        net.enqueue({ ...p, seq: p.seq + 0.5, from: '198.51.100.1:1', at: net.now + 1 });
        return 'drop';
      }
      return 'pass';
    };
    a.channel.connect(0, b.endpoint);
    net.advance(200);
    expect(a.established).toEqual([expect.objectContaining({ peer: b.id, endpoint: b.endpoint })]);
  });
});
