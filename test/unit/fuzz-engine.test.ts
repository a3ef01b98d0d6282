// Fuzz the engine behind a real SecureChannel: an authenticated member (the attacker, a
// SecureChannel with a trusted identity) sends it mutated control messages and IP packets,
// and sealed datagrams mutated after sealing; the TUN side gets mutated packets too. This
// is the whole path a datagram takes (handleDatagram → channel → onMessage → decodeControl
// or the data path) and the path of a local packet (handleTunPacket → routing → channel).
// Every input must end in exactly one outcome: a channel drop; handshake progress; or a
// delivered message that the engine then delivers, drops once, or (control, keepalive)
// accepts — a control message is dropped as 'control' exactly when decodeControl rejects
// it. A TUN packet is delivered, sent, or dropped once. Nothing may throw or reach
// onInternalError. Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { OwnRecord } from '../../src/core/own-record.js';
import { identityRecordAuth } from '../../src/crypto/record-auth.js';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/core/engine.js';
import { DROP_REASONS, MsgKind, type DropReason, type Endpoint } from '../../src/core/types.js';
import { SecureChannel } from '../../src/crypto/channel.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { parsePrefix } from '../../src/wire/addr.js';
import { decodeControl, encodeControl } from '../../src/wire/control.js';
import { PSK, SeededRng } from './crypto-harness.js';
import { corpus as makeCorpus } from './fuzz/corpus.js';
import { ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng } from './fuzz/run.js';
import { parseTree, TreeMutator } from './fuzz/tlv.js';

const COUNT = budget(0.2);
const FILE = 'test/unit/fuzz-engine.test.ts';
const A_EP: Endpoint = '10.0.0.1:3210';
const B_EP: Endpoint = '10.0.0.2:3210';
const BOOT_MS = 1_700_000_000_000; // the attacker's boot time: the corpus's Leave matches it
const GENEROUS = { perSourcePerSec: 1e9, perSourceBurst: 1e9, globalPerSec: 1e9, globalBurst: 1e9 };

const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);

interface ChannelCounts { drops: number; messages: number; sends: number; established: number; lastDrop: DropReason | null }

describe('engine fuzz', () => {
  it(`the engine survives ${COUNT} mutated datagrams from a member and TUN packets, each accounted once (seed ${FUZZ_SEED})`, () => {
    const rng = targetRng('engine');
    const nodeRng = new SeededRng(rng.u32());
    const aKeys = generateKeyPair(nodeRng);
    const bKeys = generateKeyPair(nodeRng);
    const { control, controlTypes, packets } = makeCorpus(rng, FUZZ_SEED);
    const ctl = new ByteMutator(rng, control);
    const tree = new TreeMutator(ctl, control.map(parseTree));
    const pkt = new ByteMutator(rng, packets);

    // B: the engine under test, its channel's sink counted
    const ch: ChannelCounts = { drops: 0, messages: 0, sends: 0, established: 0, lastDrop: null };
    const errors: unknown[] = [];
    const toA: Uint8Array[] = [];
    const toB: Uint8Array[] = [];
    let delivered = 0;
    let attackerDown = false;
    const engine: Engine = createEngine({
      config: {
        claims: ['10.0.0.2/32', '10.0.2.0/24', '2001:db8:2::/48'].map((p) => parsePrefix(p)),
        bootTimeMs: BOOT_MS + 1, seeds: [], keepaliveMs: 500, peerTimeoutMs: 3_000,
      },
      makeChannel: (sink) => new SecureChannel({
        identity: bKeys, psk: PSK, rng: nodeRng, rateLimit: GENEROUS, onInternalError: (e) => errors.push(e),
        sink: {
          send: (to, d) => { ch.sends++; sink.send(to, d); },
          onEstablished: (now, peer, ep) => { ch.established++; sink.onEstablished(now, peer, ep); },
          onMessage: (now, peer, ep, kind, payload, arrival) => { ch.messages++; sink.onMessage(now, peer, ep, kind, payload, arrival); },
          onSelf: (ep) => sink.onSelf(ep),
          onDrop: (reason, from) => { ch.drops++; ch.lastDrop = reason; sink.onDrop(reason, from); },
        },
      }),
      recordAuth: identityRecordAuth(bKeys),
      send: (to, d) => { if (to === A_EP) toA.push(d.slice()); }, // dials to gossiped endpoints go nowhere
      deliver: () => { delivered++; },
      onEvent: (ev) => {
        if (ev.type === 'peer-down' && ev.peer === aKeys.id) attackerDown = true;
      },
      rng: nodeRng,
    });

    // A: the attacker, a member with a real identity; a fresh instance after B dropped it
    let attacker!: SecureChannel;
    let now = 1_000;
    const pump = (): void => {
      for (let k = 0; k < 50 && (toA.length || toB.length); k++) {
        for (const d of toB.splice(0)) engine.handleDatagram(now, A_EP, d);
        for (const d of toA.splice(0)) attacker.receive(now, B_EP, d);
      }
      toA.length = 0;
    };
    let connects = 0;
    const attackerRecord = new OwnRecord(identityRecordAuth(aKeys), aKeys.id, BOOT_MS);
    const connect = (): void => {
      connects++;
      attacker = new SecureChannel({
        identity: aKeys, psk: PSK, rng: nodeRng,
        sink: { send: (_to, d) => toB.push(d.slice()), onEstablished() {}, onMessage() {}, onSelf() {}, onDrop() {} },
      });
      attacker.connect(now, B_EP);
      pump();
      attacker.send(now, bKeys.id, MsgKind.Control, encodeControl({
        type: 'node-info', bootTimeMs: BOOT_MS, seq: 1, peers: [],
        record: attackerRecord.sign({
          candidates: [], relay: 0, leaving: false,
          claims: ['10.0.0.1/32', '10.0.1.0/24', '2001:db8:1::/48'].map((p) => ({ prefix: parsePrefix(p) })),
        }),
      }));
      pump();
      if (!attacker.isEstablished(bKeys.id) || engine.routeFor(new Uint8Array([10, 0, 1, 5])) !== aKeys.id) {
        throw new Error(`attacker could not (re)join B (connect ${connects}, seed ${FUZZ_SEED})`);
      }
      attackerDown = false;
    };
    engine.start(now);
    connect();

    // status() builds the whole snapshot, several times dearer than an input; read the live
    // counters of the engine's DropCounters when it has one (status() reports those very counts)
    const counters = (engine as unknown as { drops?: { counts?: Record<DropReason, number> } }).drops?.counts;
    const readDrops = (into: number[]): void => {
      const c = counters ?? engine.status(now).drops;
      for (let k = 0; k < DROP_REASONS.length; k++) into[k] = c[DROP_REASONS[k]!];
    };
    const before: number[] = [];
    const after: number[] = [];
    readDrops(before);
    expect(before).toEqual(DROP_REASONS.map((x) => engine.status(now).drops[x]));
    const CONTROL = DROP_REASONS.indexOf('control');
    const run: FuzzRun = new FuzzRun('engine (handleDatagram, handleTunPacket)', FILE);
    const stepMs = Math.min(0.2, 60_000 / COUNT);
    let rejoinIn = -1;

    for (let i = 0; i < COUNT; i++) {
      now += stepMs;
      if (engine.nextDeadline() <= now) engine.handleTimeout(now);
      toA.length = 0;
      // after B dropped the attacker (it "left", or timed out), rejoin a few inputs later
      if (attackerDown && rejoinIn < 0) rejoinIn = rng.int(4);
      if (rejoinIn >= 0 && rejoinIn-- === 0) connect();

      readDrops(before);
      const deliveredBefore = delivered;
      Object.assign(ch, { drops: 0, messages: 0, sends: 0, established: 0, lastDrop: null });
      const r = rng.int(20);
      let input: Uint8Array;
      let what: 'tun' | 'control' | 'data' | 'keepalive' | 'kind';
      let sealed: Uint8Array | null = null;
      try {
        if (r < 3) { // a local packet from the TUN device
          input = r === 0 ? pkt.pick(packets).slice() : pkt.mutate(pkt.pick(packets));
          what = 'tun';
          engine.handleTunPacket(now, input);
        } else {
          let kind: MsgKind;
          let payload: Uint8Array;
          if (r < 11) {
            what = 'control';
            kind = MsgKind.Control;
            payload = r < 8 ? tree.mutate() : r < 10 ? ctl.mutate(ctl.pick(control)) : ctl.pick(control);
          } else if (r < 17) {
            what = 'data';
            kind = MsgKind.Data;
            payload = r < 16 ? pkt.mutate(pkt.pick(packets)) : pkt.pick(packets);
          } else {
            what = r < 19 ? 'keepalive' : 'kind';
            kind = r < 19 ? MsgKind.Keepalive : (3 + rng.int(253)) as MsgKind;
            payload = ctl.random(rng.int(8) ? 0 : rng.int(32));
          }
          if (!attacker.send(now, bKeys.id, kind, payload)) throw new Error('the attacker lost its session');
          sealed = toB.pop()!;
          toB.length = 0;
          // one in ten mutated after sealing: the channel must drop it (unless the bytes came out the same)
          input = rng.int(10) ? sealed : ctl.mutate(sealed);
          engine.handleDatagram(now, A_EP, input);
          if (ch.messages === 1) {
            if (input !== sealed && !sameBytes(input, sealed)) run.fail(i, input, 'a datagram mutated after sealing was delivered');
            input = payload; // report what reached the engine
          }
        }
      } catch (err) {
        run.fail(i, input!, `threw: ${String(err)}`);
      }
      run.inputs++;
      if (errors.length) run.fail(i, input, `onInternalError: ${String(errors[0])}`);

      readDrops(after);
      let dropped = 0;
      for (let k = 0; k < after.length; k++) dropped += after[k]! - before[k]!;
      const deliveredNow = delivered - deliveredBefore;
      const reasons = DROP_REASONS.filter((_, k) => after[k] !== before[k]).join(',');
      if (what === 'tun') {
        const outcomes = deliveredNow + (ch.sends > 0 ? 1 : 0) + dropped;
        if (outcomes !== 1) run.fail(i, input, `TUN packet: delivered ${deliveredNow}, sent ${ch.sends}, dropped ${dropped} (${reasons})`);
        run.count(deliveredNow ? 'tun:delivered' : ch.sends ? 'tun:sent' : `tun:${reasons}`);
        continue;
      }
      if (ch.drops === 1 && ch.messages === 0) {
        if (dropped !== 1) run.fail(i, input, `channel drop ${ch.lastDrop} counted ${dropped} times by the engine`);
        run.count(`channel:${ch.lastDrop}`);
        continue;
      }
      if (ch.drops !== 0 || ch.messages !== 1) {
        if (ch.drops === 0 && ch.messages === 0 && (ch.sends > 0 || ch.established > 0)) { run.count('progress'); continue; }
        run.fail(i, input, `${what}: ${ch.drops} channel drops, ${ch.messages} messages: not exactly one outcome`);
      }
      // delivered to the engine
      if (what === 'control') {
        const res = decodeControl(input);
        const controlDrops = after[CONTROL]! - before[CONTROL]!;
        if (res.ok ? controlDrops !== 0 : dropped !== 1 || controlDrops !== 1) {
          run.fail(i, input, `control message (${res.ok ? res.msg.type : res.error}): dropped ${dropped} (${reasons})`);
        }
        run.count(res.ok ? `control:${res.msg.type}` : 'control:error');
      } else if (what === 'data') {
        if (deliveredNow + dropped !== 1) run.fail(i, input, `data packet: delivered ${deliveredNow}, dropped ${dropped} (${reasons})`);
        run.count(deliveredNow ? 'data:delivered' : `data:${reasons}`);
      } else {
        // a keepalive is accepted; a kind the engine does not know is dropped once
        if (dropped !== (what === 'kind' ? 1 : 0)) run.fail(i, input, `${what}: dropped ${dropped} (${reasons})`);
        run.count(what === 'kind' ? `kind:${reasons}` : 'keepalive');
      }
    }
    run.outcomes.set('rejoins', connects - 1);
    run.report();
    const st = engine.status(now);
    console.log(`engine tables after the fuzz: ${st.peers.length} peers, ${st.routes.length} routes, ${st.connecting.length} dial targets`);

    expect(run.inputs).toBe(COUNT);
    if (COUNT >= 50_000) {
      for (const t of controlTypes) expect(run.outcomes.get(`control:${t}`) ?? 0, `control:${t}`).toBeGreaterThan(10);
      for (const o of ['control:error', 'data:delivered', 'data:bad-packet', 'data:not-claimed', 'tun:delivered', 'tun:sent',
        'tun:bad-packet', 'tun:no-route', 'channel:auth', 'keepalive']) {
        expect(run.outcomes.get(o) ?? 0, o).toBeGreaterThan(10);
      }
    }
  }, FUZZ_TIMEOUT_MS);
});
