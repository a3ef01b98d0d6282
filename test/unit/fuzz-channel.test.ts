// Fuzz the receive path of a SecureChannel (outer framing, handshake messages, transport)
// that has live sessions in both roles and handshakes pending in both roles. The corpus is
// every datagram real SecureChannels exchanged to get there, so the fuzz follows the wire
// format when it changes; the mutations keep real headers (session indices) in front of
// garbage so they reach the crypto. Every datagram must end in exactly one outcome — one
// counted drop, one delivered message, or handshake progress (an answer sent or a session
// established) — nothing may throw or reach onInternalError, no forged message may be
// delivered, and the real peers must still be served afterwards.
// Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { describe, expect, it } from 'vitest';
import type { DropReason, Endpoint } from '../../src/core/types.js';
import { MSG_HANDSHAKE_CONFIRM, MSG_HANDSHAKE_RESPONSE, MSG_TRANSPORT } from '../../src/wire/header.js';
import { Net, PSK, text, type Packet, type TestNode } from './crypto-harness.js';
import { ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng, VERBOSE } from './fuzz/run.js';

const COUNT = budget(1);
const FILE = 'test/unit/fuzz-channel.test.ts';

/** Drops decided before a datagram's session or handshake was looked up. */
const SHALLOW = new Set<DropReason>(['malformed', 'unknown-session', 'rate-limited']);

const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);

describe('channel fuzz', () => {
  it(`SecureChannel.receive survives ${COUNT} mutated datagrams and accounts for each exactly once (seed ${FUZZ_SEED})`, () => {
    const rng = targetRng('channel');
    const net = new Net(rng.u32(), { latencyMs: 1 });
    const generous = { perSourcePerSec: 1e9, perSourceBurst: 1e9, globalPerSec: 1e9, globalBurst: 1e9 };
    const a = net.addNode('10.0.0.1:3210', { psk: PSK, algorithms: ['chacha20', 'aes256'] });
    const b = net.addNode('10.0.0.2:3210', { psk: PSK, rateLimit: generous });
    const c = net.addNode('10.0.0.3:3210', { psk: PSK, algorithms: ['aes256'] });
    const d = net.addNode('10.0.0.4:3210', { psk: PSK });
    // live sessions: a and c initiated to b, b initiated to d; traffic of every kind
    a.channel.connect(0, b.endpoint);
    c.channel.connect(0, b.endpoint);
    b.channel.connect(0, d.endpoint);
    net.advance(100);
    for (let i = 0; i < 20; i++) {
      a.channel.send(net.now, b.id, 0, text(`data ${i}`.repeat(i)));
      c.channel.send(net.now, b.id, 2, text(`control ${i}`));
      a.channel.send(net.now, b.id, 1, new Uint8Array(0));
      d.channel.send(net.now, b.id, 0, text(`from d ${i}`));
      b.channel.send(net.now, d.id, 0, text(`to d ${i}`));
    }
    net.advance(100);
    b.channel.connect(net.now, '10.0.0.9:3210'); // nobody answers

    // Handshakes pending at b in both roles: b initiates to f, whose answer we swallow; b
    // answers e, whose confirmation we swallow. Mutated (never left as they are), those two
    // messages reach the handshake code behind the index lookup; replayed as they are, now
    // and then, they make progress. New ones are made during the fuzz, as the old expire.
    // f has a tiny handshake budget that w spends first: where the protocol has cookies, f
    // is busy and answers b with one first, so cookie replies are on the wire too.
    const all: Packet[] = [];
    const allData: Uint8Array[] = []; // the same, as splice donors
    const toB: Packet[] = [];
    let held: Packet[] = [];
    let round = 0;
    const addToCorpus = (log: Packet[]): void => {
      for (const p of log) {
        all.push(p);
        allData.push(p.data);
        if (p.to === b.endpoint) toB.push(p);
      }
    };
    const pending = (): void => {
      round++;
      const e = net.addNode(`10.0.${round}.5:3210`, { psk: PSK });
      const f = net.addNode(`[2001:db8::${round}:6]:3210`, { psk: PSK, rateLimit: { globalPerSec: 2 } });
      const w = net.addNode(`10.0.${round}.7:3210`, { psk: PSK });
      const from = net.log.length;
      w.channel.connect(net.now, f.endpoint);
      net.advance(5);
      const swallowed: Packet[] = [];
      net.intercept = (p) => {
        const swallow = (p.from === e.endpoint && p.data[0] === MSG_HANDSHAKE_CONFIRM) || (p.from === f.endpoint && p.data[0] === MSG_HANDSHAKE_RESPONSE);
        if (swallow) swallowed.push(p);
        return swallow ? 'drop' : 'pass';
      };
      b.channel.connect(net.now, f.endpoint);
      e.channel.connect(net.now, b.endpoint);
      net.advance(20);
      net.intercept = null;
      expect(b.channel.isEstablished(e.id) || b.channel.isEstablished(f.id), 'pending handshakes completed').toBe(false);
      expect(swallowed.length, 'swallowed a response and a confirmation').toBeGreaterThanOrEqual(2);
      held = swallowed;
      addToCorpus(net.log.slice(from).filter((p) => !swallowed.includes(p)));
    };
    addToCorpus(net.log);
    pending();
    for (const peer of [a, c, d]) expect(b.channel.isEstablished(peer.id)).toBe(true);

    // the corpus: every datagram on the wire, mostly mutated from those addressed to b
    const types = new Set(all.map((p) => p.data[0]));
    expect(types.size, 'every datagram type on the wire').toBeGreaterThanOrEqual(4);
    const bytes = new ByteMutator(rng, allData);
    const sources = ['10.0.0.1:3210', '10.0.0.3:3210', '10.0.0.4:3210', '10.0.0.66:4000', '[2001:db8::1]:3210', b.endpoint];
    /** A mutation that changed something. */
    const changed = (src: Uint8Array): Uint8Array => {
      const x = bytes.mutate(src);
      if (sameBytes(x, src) && x.length) x[x.length - 1]! ^= 1;
      return x;
    };

    // outcomes of one receive(), counted through b's sink
    let drops = 0;
    let lastDrop: DropReason | null = null;
    let sent = 0;
    const onDrop = b.onDrop.bind(b);
    b.onDrop = (reason) => { drops++; lastDrop = reason; onDrop(reason); };
    const realSend = b.send.bind(b);
    const countSend = (): void => { sent++; }; // answers go nowhere: the fuzz is not a conversation
    b.send = countSend;
    // fresh datagrams from the real peers: counters b has not seen, so mutations reach the AEAD
    let captured = new Uint8Array(0);
    const senders: [TestNode, (to: Endpoint, dgram: Uint8Array) => void][] = [a, c, d].map((n) => [n, n.send.bind(n)]);
    const capture = (_to: Endpoint, dgram: Uint8Array): void => { captured = dgram.slice(); };
    for (const [n] of senders) n.send = capture;
    let freshFrom: Endpoint = '';
    const fresh = (): Uint8Array => {
      const n = bytes.pick(senders)[0];
      freshFrom = n.endpoint;
      const payload = bytes.random(rng.int(4) ? rng.int(100) : rng.int(1500));
      if (!n.channel.send(net.now, b.id, rng.int(3), payload)) throw new Error(`no session ${n.endpoint} -> b`);
      return captured;
    };

    const run: FuzzRun = new FuzzRun('SecureChannel.receive', FILE);
    const deep = new Array<number>(256).fill(0); // per type byte: drops decided past the index lookup
    const stepMs = Math.min(0.05, 60_000 / COUNT); // stay well inside the sessions' lifetime
    const refreshEvery = Math.max(1, Math.floor(COUNT / 20));
    for (let i = 0; i < COUNT; i++) {
      if (i > 0 && i % refreshEvery === 0) { // new pending handshakes: the wire works as usual meanwhile
        b.send = realSend;
        for (const [n, send] of senders) n.send = send;
        pending();
        b.send = countSend;
        for (const [n] of senders) n.send = capture;
      }
      net.now += stepMs;
      if (b.channel.nextDeadline() <= net.now) b.channel.timeout(net.now);
      const r = rng.int(10);
      let authentic: Uint8Array | null = null;
      let input: Uint8Array;
      let from = bytes.pick(sources);
      const fromOrigin = (p: Packet): Packet => { // half the time from where it came (cookie replies count on that)
        if (rng.int(2)) from = p.from;
        return p;
      };
      if (r === 0) input = bytes.random(rng.int(rng.int(10) ? 200 : 1600));
      else if (r === 1) input = fromOrigin(rng.int(refreshEvery / 4) ? bytes.pick(all) : bytes.pick(held)).data.slice(); // exact replay
      else if (r <= 3) {
        authentic = fresh();
        input = rng.int(5) ? bytes.mutate(authentic) : authentic;
        if (input === authentic) from = freshFrom; // from elsewhere it would move the peer (roaming)
      } else if (r === 4) input = changed(fromOrigin(bytes.pick(held)).data);
      else input = bytes.mutate(fromOrigin(bytes.pick(rng.int(4) ? toB : all)).data);
      drops = 0;
      sent = 0;
      const delivered = b.received.length;
      const established = b.established.length;
      try {
        b.channel.receive(net.now, from, input);
      } catch (err) {
        run.fail(i, input, `receive() threw: ${String(err)}`);
      }
      run.inputs++;
      if (b.errors.length) run.fail(i, input, `onInternalError: ${String(b.errors[0])}`);
      const messages = b.received.length - delivered;
      const progress = sent > 0 || b.established.length > established;
      if (drops === 1 && !SHALLOW.has(lastDrop!)) deep[input[0]!]!++;
      if (VERBOSE) run.detail(`type ${types.has(input[0]) ? input[0] : 'other'} ${drops ? lastDrop : messages ? 'delivered' : 'progress'}`);
      if (drops === 1 && messages === 0) run.count(lastDrop!);
      else if (drops === 0 && messages === 1) {
        if (!authentic || !sameBytes(input, authentic)) run.fail(i, input, 'a forged or mutated datagram was delivered');
        run.count('delivered');
      }
      else if (drops === 0 && messages === 0 && progress) run.count('progress');
      else run.fail(i, input, `${drops} drops, ${messages} messages, progress ${progress}: not exactly one outcome`);
    }
    run.report();
    b.send = realSend;
    for (const [n, send] of senders) n.send = send;

    expect(run.inputs).toBe(COUNT);
    if (COUNT >= 100_000) {
      // the fuzz reached every layer
      for (const reason of ['malformed', 'auth', 'unknown-session', 'replay', 'handshake-state'] as const) {
        expect(run.outcomes.get(reason) ?? 0, `${reason} drops`).toBeGreaterThan(100);
      }
      for (const t of [MSG_HANDSHAKE_RESPONSE, MSG_HANDSHAKE_CONFIRM, MSG_TRANSPORT]) {
        expect(deep[t], `datagrams of type ${t} dropped past the index lookup`).toBeGreaterThan(1000);
      }
      expect(run.outcomes.get('progress') ?? 0, 'replayed pending handshakes progressed').toBeGreaterThan(0);
      expect(run.outcomes.get('delivered') ?? 0, 'fresh authentic datagrams delivered').toBeGreaterThan(100);
    }

    // the real peers are still served, both ways
    net.advance(10);
    for (const peer of [a, c, d]) {
      expect(peer.channel.send(net.now, b.id, 0, text('still there?'))).toBe(true);
      expect(b.channel.send(net.now, peer.id, 0, text('yes'))).toBe(true);
    }
    net.advance(50);
    for (const peer of [a, c, d]) {
      expect(b.dataPayloads(peer.id)).toContain('still there?');
      expect(peer.dataPayloads(b.id)).toContain('yes');
    }
  }, FUZZ_TIMEOUT_MS);
});
