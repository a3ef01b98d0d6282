// Fuzz the receive path of a SecureChannel that has a live session with a real peer:
// >= 100 000 random and mutated datagrams (seeded; set FUZZ_SEED to replay another run).
// Every datagram must end in exactly one counted drop, nothing may throw, and the real
// peer must still be served afterwards.
import { describe, expect, it } from 'vitest';
import { DROP_REASONS, type DropReason } from '../../src/core/types.js';
import { MSG_COOKIE_REPLY, PROTOCOL_VERSION, readU32, writeU32 } from '../../src/wire/header.js';
import { Net, PSK, SeededRng, text } from './crypto-harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const COUNT = 100_000;

describe('channel fuzz', () => {
  it(`survives ${COUNT} random and mutated datagrams and accounts for each (seed ${SEED})`, () => {
    const net = new Net(SEED, { latencyMs: 1 });
    const generous = { perSourcePerSec: 1e9, perSourceBurst: 1e9, globalPerSec: 1e9, globalBurst: 1e9 };
    const a = net.addNode('10.0.0.1:3210', { psk: PSK, algorithms: ['chacha20', 'aes256'] });
    const b = net.addNode('10.0.0.2:3210', { psk: PSK, rateLimit: generous });
    const c = net.addNode('10.0.0.3:3210', { psk: PSK, algorithms: ['aes256'] });
    const e = net.addNode('10.0.0.5:3210', { psk: PSK });

    // live sessions a<->b (chacha20) and c<->b (aes256), with traffic of every kind
    a.channel.connect(0, b.endpoint);
    c.channel.connect(0, b.endpoint);
    net.advance(100);
    for (let i = 0; i < 20; i++) {
      a.channel.send(net.now, b.id, 0, text(`data ${i}`.repeat(i)));
      c.channel.send(net.now, b.id, 2, text(`control ${i}`));
      a.channel.send(net.now, b.id, 1, new Uint8Array(0));
    }
    net.advance(100);
    // b is also mid-handshake in both roles: an initiation to a silent endpoint, and a
    // responder waiting for message 3 from e (whose message 3 we swallow)
    b.channel.connect(net.now, '10.0.0.9:3210');
    net.intercept = (p) => (p.from === e.endpoint && p.data[0] === 3 ? 'drop' : 'pass');
    e.channel.connect(net.now, b.endpoint);
    net.advance(50);
    net.intercept = null;
    expect(b.channel.isEstablished(a.id)).toBe(true);
    expect(b.channel.isEstablished(c.id)).toBe(true);

    // the corpus: everything on the wire except the datagrams that would legitimately make
    // progress at b: e's swallowed message 3, and b's own message 1 (b would answer itself)
    const captured = net.log
      .filter((p) => !(p.from === e.endpoint && p.data[0] === 3) && !(p.from === b.endpoint && p.data[0] === 1))
      .map((p) => p.data);
    const byType = (t: number) => captured.filter((d) => d[0] === t);
    for (const t of [1, 2, 3, 4]) expect(byType(t).length).toBeGreaterThan(0);
    // every index b would recognise: its sessions, its initiation, its pending responder
    const indices = new Set<number>();
    for (const d of captured) {
      if (d[0] === 4) indices.add(readU32(d, 4)); // receiver indices of packets to b and to its peers
      if (d[0] === 1 || d[0] === 2) indices.add(readU32(d, 4)); // sender indices
      if (d[0] === 2) indices.add(readU32(d, 8));
    }
    const knownIndices = [...indices];

    const rng = new SeededRng(SEED ^ 0x5eed);
    const sources = ['10.0.0.1:3210', '10.0.0.3:3210', '10.0.0.66:4000', '[2001:db8::1]:3210', '10.9.9.9:1'];
    const randomBytes = (n: number) => { const d = new Uint8Array(n); rng.fill(d); return d; };
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;

    function mutate(src: Uint8Array): Uint8Array {
      let d = src.slice();
      const ops = 1 + rng.int(3);
      for (let k = 0; k < ops; k++) {
        switch (rng.int(9)) {
          case 0: if (d.length) d[rng.int(d.length)]! ^= 1 << rng.int(8); break;
          case 1: if (d.length) d[rng.int(d.length)] = rng.int(256); break;
          case 2: d = d.slice(0, rng.int(d.length + 1)); break;
          case 3: { const x = new Uint8Array(d.length + 1 + rng.int(40)); x.set(d); rng.fill(x.subarray(d.length)); d = x; break; }
          case 4: { // aim at a real session/handshake so the bytes reach the crypto
            const off = d[0] === 2 ? 8 : 4;
            if (d.length >= off + 4) writeU32(d, off, pick(knownIndices));
            break;
          }
          case 5: if (d.length) d[0] = 1 + rng.int(MSG_COOKIE_REPLY); break;
          case 6: { const o = pick(captured); const cut = rng.int(Math.min(d.length, o.length) + 1); const x = new Uint8Array(cut + o.length - cut); x.set(d.subarray(0, cut)); x.set(o.subarray(cut), cut); d = x; break; }
          case 7: if (d[0] === 4 && d.length >= 16) { writeU32(d, 8, rng.int(2) ? rng.int(64) : rng.u32()); writeU32(d, 12, rng.int(4) ? 0 : rng.u32()); } break;
          case 8: if (d.length > 2) { const s = 2 + rng.int(d.length - 2); d.fill(0, s, s + rng.int(16)); } break;
        }
      }
      return d;
    }

    function datagram(): Uint8Array {
      const r = rng.next();
      if (r < 0.12) return randomBytes(rng.int(rng.int(10) ? 200 : 1600));
      if (r < 0.25) { // plausible header, random body
        const d = randomBytes([2, 8, 16, 32, 60, 81, 121, 132, 200][rng.int(9)]!);
        d[0] = 1 + rng.int(MSG_COOKIE_REPLY); d[1] = PROTOCOL_VERSION; if (d.length > 3) { d[2] = rng.int(3); d[3] = 0; }
        if (d.length >= 8 && rng.int(2)) writeU32(d, d[0] === 2 && d.length >= 12 ? 8 : 4, pick(knownIndices));
        return d;
      }
      if (r < 0.35) return pick(captured).slice(); // exact replays
      return mutate(pick(captured));
    }

    const dropsBefore = b.dropCount();
    const receivedBefore = b.received.length;
    const establishedBefore = b.established.length;
    for (let i = 0; i < COUNT; i++) {
      net.now += 0.05;
      if (b.channel.nextDeadline() <= net.now) b.channel.timeout(net.now);
      const d = datagram();
      try {
        b.channel.receive(net.now, pick(sources), d);
      } catch (err) {
        throw new Error(`receive() threw on datagram ${i} (seed ${SEED}): ${String(err)}`);
      }
      const accounted = b.dropCount() - dropsBefore + (b.received.length - receivedBefore);
      if (accounted !== i + 1) {
        throw new Error(`datagram ${i} (seed ${SEED}) not accounted exactly once: ${Buffer.from(d).toString('hex')}`);
      }
    }

    const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, b.dropCount(r)])) as Record<DropReason, number>;
    if (process.env.FUZZ_VERBOSE) console.log(drops);
    expect(b.received.length - receivedBefore, `seed ${SEED}: fuzz produced valid messages`).toBe(0);
    expect(b.established.length).toBe(establishedBefore);
    expect(b.dropCount() - dropsBefore).toBe(COUNT);
    expect(b.errors).toEqual([]);
    // the fuzz reached every layer
    for (const r of ['malformed', 'auth', 'unknown-session', 'replay', 'handshake-state', 'mac'] as const) {
      expect(drops[r], `${r} drops`).toBeGreaterThan(100);
    }

    // the real peers are still served, both ways
    net.advance(10);
    for (const peer of [a, c]) {
      expect(peer.channel.send(net.now, b.id, 0, text('still there?'))).toBe(true);
      expect(b.channel.send(net.now, peer.id, 0, text('yes'))).toBe(true);
    }
    net.advance(50);
    expect(b.dataPayloads(a.id)).toContain('still there?');
    expect(b.dataPayloads(c.id)).toContain('still there?');
    expect(a.dataPayloads(b.id)).toContain('yes');
    expect(c.dataPayloads(b.id)).toContain('yes');
  });
});
