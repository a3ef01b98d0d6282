// The engine against a scripted fake channel: each rule of the data path, NodeInfo handling,
// liveness and leave, observed through what it sends, delivers, counts and reports.
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { deriveTiming, RECORD_VERSIONS_PER_MS, TimingError } from '../../src/core/constants.js';
import { createEngine, type Engine } from '../../src/core/engine.js';
import type { EngineEvent } from '../../src/core/events.js';
import { MsgKind, type PeerId } from '../../src/core/types.js';
import { formatPrefix, parseIPv4, parsePrefix } from '../../src/wire/addr.js';
import { decodeControl, type ControlMessage } from '../../src/wire/control.js';
import { SimRng } from '../sim/rng.js';
import { FakeChannel, info, ipv4Packet, recordFor } from './core-fake-channel.js';
import { decodeRecord, encodeRecordBody, joinRecord, type NodeRecord } from '../../src/wire/record.js';

const SELF_BOOT = 1_000_000;
const K = 100;
const T = 800;

let ch: FakeChannel;
let engine: Engine;
let events: EngineEvent[];
let delivered: Uint8Array[];

const route = (ip: string): PeerId | null => engine.routeFor(parseIPv4(ip)!);
const ofType = <T extends EngineEvent['type']>(t: T) => events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === t);

beforeEach(() => {
  events = [];
  delivered = [];
  engine = createEngine({
    config: { claims: [parsePrefix('10.0.0.1'), parsePrefix('192.168.7.0/24')], bootTimeMs: SELF_BOOT, seeds: ['192.0.2.9:3210'], keepaliveMs: K, peerTimeoutMs: T },
    makeChannel: (sink) => (ch = new FakeChannel(sink)),
    recordAuth: simRecordAuth('self'),
    send: () => {},
    deliver: (p) => delivered.push(p.slice()),
    onEvent: (e) => events.push(e),
    rng: new SimRng(1),
  });
  engine.start(0);
});

describe('engine: start and data path', () => {
  it('announces its own claims and connects to its seeds', () => {
    expect(route('10.0.0.1')).toBe('self');
    expect(ofType('route-change').map((e) => [e.prefixText, e.toSelf])).toEqual([['10.0.0.1/32', true], ['192.168.7.0/24', true]]);
    expect(ch.connects).toEqual(['192.0.2.9:3210']);
  });

  it('counts every TUN packet it cannot send under one reason', () => {
    engine.handleTunPacket(1, new Uint8Array([0x45, 0, 0]));
    engine.handleTunPacket(1, ipv4Packet('10.9.9.9'));
    engine.handleTunPacket(1, ipv4Packet('10.0.0.1')); // ours: straight back to the TUN
    ch.up(2, 'p', '192.0.2.2:3210');
    ch.control(3, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.50']));
    ch.established.delete('p'); // session lost
    engine.handleTunPacket(4, ipv4Packet('10.0.0.50'));
    const st = engine.status(5);
    expect(st.drops['bad-packet']).toBe(1);
    expect(st.drops['no-route']).toBe(1);
    expect(st.drops['no-session']).toBe(1);
    expect(delivered).toHaveLength(1);
  });

  it('sends packets for a peer claim to that peer and counts them', () => {
    ch.up(1, 'p', '192.0.2.2:3210');
    ch.control(2, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.0/24']));
    const pkt = ipv4Packet('10.0.0.77');
    engine.handleTunPacket(3, pkt);
    const data = ch.sent.filter((s) => s.kind === MsgKind.Data);
    expect(data.map((s) => [s.peer, s.payload])).toEqual([['p', pkt]]);
    expect(engine.status(4).peers[0]!.tx).toEqual({ packets: 1, bytes: 24 });
  });

  it('lists the prefixes another node is active for (what kernel routes are made of)', () => {
    expect(engine.prefixesRoutedToOthers()).toEqual([]); // only its own claims so far
    ch.up(1, 'p', '192.0.2.2:3210');
    ch.control(2, 'p', '192.0.2.2:3210', info(SELF_BOOT + 1, 1, ['10.0.0.0/24', '192.168.7.0/24']));
    // 192.168.7.0/24 is claimed by both; this node booted first (longer uptime) and stays active
    expect(engine.prefixesRoutedToOthers().map(formatPrefix)).toEqual(['10.0.0.0/24']);
  });

  it('delivers incoming Data only for destinations it claims', () => {
    ch.up(1, 'p', '192.0.2.2:3210');
    ch.control(1, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.100'])); // its source address
    ch.data(2, 'p', '192.0.2.2:3210', ipv4Packet('192.168.7.20'));
    ch.data(2, 'p', '192.0.2.2:3210', ipv4Packet('10.0.0.2'));
    ch.data(2, 'p', '192.0.2.2:3210', new Uint8Array([0x60, 1]));
    expect(delivered.map((p) => p[19])).toEqual([20]);
    const st = engine.status(3);
    expect(st.drops['not-claimed']).toBe(1);
    expect(st.drops['bad-packet']).toBe(1);
    expect(st.peers[0]!.rx.packets).toBe(3);
  });
});

describe('engine: NodeInfo', () => {
  it('applies claims, acknowledges, ignores stale infos and handles a restart', () => {
    ch.up(10, 'p', '192.0.2.2:3210');
    expect(ch.controlsTo('p')[0]).toMatchObject({ type: 'node-info', bootTimeMs: SELF_BOOT });
    ch.control(11, 'p', '192.0.2.2:3210', info(500, 3, ['10.0.0.1']));
    expect(route('10.0.0.1')).toBe('p'); // it started earlier than us
    expect(ch.controlsTo('p').at(-1)).toEqual({ type: 'info-ack', bootTimeMs: 500, seq: 3 });
    ch.control(12, 'p', '192.0.2.2:3210', info(500, 2, [])); // older seq: ignored
    ch.control(13, 'p', '192.0.2.2:3210', info(400, 9, [])); // earlier incarnation: ignored
    expect(route('10.0.0.1')).toBe('p');
    expect(ch.renewals).toEqual([]);
    ch.control(14, 'p', '192.0.2.2:3210', info(2_000_000, 1, ['10.0.0.1'])); // it restarted
    expect(ofType('peer-restart')).toEqual([{ type: 'peer-restart', peer: 'p', bootTimeMs: 2_000_000, previousBootTimeMs: 500 }]);
    // the new process may not have our session (its record can come from anyone): shake hands anew
    expect(ch.renewals).toEqual(['p']);
    expect(route('10.0.0.1')).toBe('self'); // a restarted node does not keep the IP
    expect(ofType('route-change').at(-1)).toMatchObject({ from: 'p', to: 'self', cause: 'restart', toSelf: true });
  });

  it('after a restart with the clock stepped back, shows the peer its newer record so it signs past it', () => {
    const EP = '192.0.2.2:3210';
    ch.up(0, 'p', EP);
    ch.control(1, 'p', EP, info(500, 3, ['10.0.0.9']));
    ch.up(3, 'p', EP); // its new process shook hands
    ch.control(4, 'p', EP, info(300, 1, ['10.0.0.8'])); // a lower version than the one we hold
    expect(route('10.0.0.8')).toBeNull();
    const back = ch.controlsTo('p').filter((m) => m.type === 'records').at(-1) as Extract<ControlMessage, { type: 'records' }>;
    expect(back.sync).toBe(true);
    const shown = decodeRecord(back.records[0]!);
    expect(shown.ok && shown.record.version).toBe(500 * RECORD_VERSIONS_PER_MS + 3);
    // it signs past it (own-record.ts supersede)
    ch.control(5, 'p', EP, info(300, 2, ['10.0.0.8'], [], { version: 500 * RECORD_VERSIONS_PER_MS + 4 }));
    expect(ofType('peer-restart')).toEqual([{ type: 'peer-restart', peer: 'p', bootTimeMs: 300, previousBootTimeMs: 500 }]);
    expect(route('10.0.0.8')).toBe('p');
    expect(route('10.0.0.9')).toBeNull();
  });

  it('applies a newer record of a peer passed on by another, and refuses forged or foreign ones', () => {
    const P = '192.0.2.2:3210';
    const Q = '192.0.2.3:3210';
    ch.up(0, 'p', P);
    ch.up(0, 'q', Q);
    ch.control(1, 'p', P, info(500, 1, ['10.0.0.50']));
    expect(route('10.0.0.50')).toBe('p');
    // q passes on p's next record: applied at once (a failover need not wait for p itself)
    ch.control(2, 'q', Q, { type: 'records', records: [recordFor('p', { bootTimeMs: 500, seq: 2, claims: ['10.0.0.51'] })], sync: false });
    expect(route('10.0.0.51')).toBe('p');
    expect(route('10.0.0.50')).toBeNull();
    // q forges p's record (another key) and tampers with one: both dropped, nothing applied
    const forged = recordFor('q', { bootTimeMs: 500, seq: 3, claims: ['10.0.0.52'] });
    const asP = encodeRecordBody({ ...(decodeRecord(forged) as { record: NodeRecord }).record, id: 'p' });
    ch.control(3, 'q', Q, { type: 'records', records: [joinRecord(asP, forged.subarray(-64))], sync: false });
    const tampered = recordFor('p', { bootTimeMs: 500, seq: 4, claims: ['10.0.0.53'] });
    tampered[10]! ^= 1;
    ch.control(3, 'q', Q, { type: 'records', records: [tampered], sync: false });
    expect(route('10.0.0.52')).toBeNull();
    expect(route('10.0.0.53')).toBeNull();
    expect(route('10.0.0.51')).toBe('p');
    // and an older one (a rollback) changes nothing
    ch.control(4, 'q', Q, { type: 'records', records: [recordFor('p', { bootTimeMs: 500, seq: 1, claims: ['10.0.0.50'] })], sync: false });
    expect(route('10.0.0.50')).toBeNull();
    // q's NodeInfo carrying p's record instead of its own
    ch.control(5, 'q', Q, { type: 'node-info', bootTimeMs: 5, seq: 1, record: recordFor('p', { bootTimeMs: 500, seq: 9, claims: ['10.0.0.54'] }), peers: [] });
    expect(route('10.0.0.54')).toBeNull();
    expect(engine.status(6).drops.record).toBe(3);
  });

  it('passes a record new to it on to a few peers, but not back to the sender nor to its owner', () => {
    for (const [i, id] of ['p', 'q', 'r', 's', 't'].entries()) ch.up(0, id, `192.0.2.${i + 2}:3210`);
    const before = ch.sent.length;
    const rec = recordFor('p', { bootTimeMs: 500, seq: 1, claims: ['10.0.0.50'] });
    ch.control(1, 'q', '192.0.2.3:3210', { type: 'records', records: [rec], sync: false });
    const pushed = ch.sent.slice(before).map((x) => ({ to: x.peer, msg: decodeControl(x.payload) }))
      .filter((x) => x.msg.ok && x.msg.msg.type === 'records');
    expect(pushed.map((x) => x.to).sort()).toEqual(['r', 's', 't']);
    // the same record again is no news: nothing more goes out
    const after = ch.sent.length;
    ch.control(2, 'r', '192.0.2.4:3210', { type: 'records', records: [rec], sync: false });
    expect(ch.sent.slice(after).filter((x) => { const m = decodeControl(x.payload); return m.ok && m.msg.type === 'records'; })).toEqual([]);
  });

  it('retransmits its NodeInfo until acknowledged', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    const infos = () => ch.controlsTo('p').filter((m) => m.type === 'node-info').length;
    const before = infos();
    // past one retransmit (150 ms) and the coalesced NodeInfo for the new peer list (200 ms)
    for (let now = 0; now < 250; ) engine.handleTimeout((now = engine.nextDeadline()));
    expect(infos()).toBeGreaterThan(before);
    const last = ch.controlsTo('p').filter((m) => m.type === 'node-info').at(-1) as Extract<ControlMessage, { type: 'node-info' }>;
    ch.control(engine.nextDeadline(), 'p', '192.0.2.2:3210', { type: 'info-ack', bootTimeMs: SELF_BOOT, seq: last.seq });
    const acked = infos();
    for (let i = 0; i < 5; i++) engine.handleTimeout(engine.nextDeadline());
    expect(infos()).toBe(acked);
  });

  it('asks a peer for its NodeInfo while it has none, and answers such a request', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.control(0, 'p', '192.0.2.2:3210', { type: 'info-ack', bootTimeMs: SELF_BOOT, seq: 1 });
    const sentInfos = () => ch.controlsTo('p').filter((m) => m.type === 'node-info').length;
    let now = 0;
    while (now < 60) engine.handleTimeout((now = engine.nextDeadline()));
    expect(ch.controlsTo('p').filter((m) => m.type === 'info-request').length).toBeGreaterThan(0);
    const before = sentInfos();
    ch.control(now, 'p', '192.0.2.2:3210', { type: 'info-request' }); // p lost our NodeInfo
    expect(sentInfos()).toBe(before + 1);
    ch.control(now, 'p', '192.0.2.2:3210', info(5, 1, []));
    const requests = ch.controlsTo('p').filter((m) => m.type === 'info-request').length;
    for (let i = 0; i < 5; i++) engine.handleTimeout(engine.nextDeadline());
    expect(ch.controlsTo('p').filter((m) => m.type === 'info-request').length).toBe(requests);
  });

  it('connects to peers learned from gossip, never to its own endpoints', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.control(1, 'p', '192.0.2.2:3210', info(5, 1, [], [
      { id: 'self', endpoints: ['192.0.2.1:3210'] },
      { id: 'q', endpoints: ['192.0.2.3:3210'] },
      { id: 'p', endpoints: ['192.0.2.2:3210'] },
    ]));
    engine.handleTimeout(2);
    expect(ch.connects).toContain('192.0.2.3:3210');
    expect(ch.connects).not.toContain('192.0.2.1:3210');
    ch.sink.onSelf('192.0.2.9:3210');
    expect(ofType('self-detected')).toEqual([{ type: 'self-detected', endpoint: '192.0.2.9:3210' }]);
    expect(engine.status(3).selfEndpoints).toEqual(['192.0.2.9:3210']);
  });

  it('counts undecodable control messages and rate-limits their events', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    for (let i = 0; i < 6; i++) ch.control(1 + i, 'p', '192.0.2.2:3210', Uint8Array.from([99]));
    ch.control(1_500, 'p', '192.0.2.2:3210', Uint8Array.from([1, 0]));
    expect(engine.status(1_500).drops.control).toBe(7);
    expect(ofType('drop').map((e) => [e.reason, e.count, e.total])).toEqual([['control', 1, 1], ['control', 6, 7]]);
  });
});

describe('engine: liveness', () => {
  it('suspects a silent peer, probes it fast, then drops it and fails over', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.control(0, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.1']));
    expect(route('10.0.0.1')).toBe('p');
    let now = 0;
    while (now < T + 50) {
      now = engine.nextDeadline();
      engine.handleTimeout(now);
    }
    const timing = deriveTiming({ keepaliveMs: K, peerTimeoutMs: T });
    expect(ofType('peer-suspect')[0]!.silentMs).toBe(timing.suspectAfterMs);
    const probes = ch.controlsTo('p').filter((m) => m.type === 'probe');
    expect(probes.length).toBeGreaterThanOrEqual(20); // the suspicion phase, plus RTT probes
    expect(ofType('peer-down')).toEqual([{ type: 'peer-down', peer: 'p', reason: 'timeout', silentMs: T }]);
    expect(route('10.0.0.1')).toBe('self');
    expect(ch.forgotten).toEqual(['p']);
    const fo = engine.status(now).failovers;
    expect(fo).toHaveLength(1);
    expect(fo[0]).toMatchObject({ prefix: '10.0.0.1/32', from: 'p', to: 'self', cause: 'timeout', gapMs: T });
  });

  it('any authenticated packet keeps a peer alive, and probes are answered and measured', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    for (let t = 50; t < 5_000; t += 500) ch.sink.onMessage(t, 'p', '192.0.2.2:3210', MsgKind.Keepalive, new Uint8Array(0), '192.0.2.2:3210');
    ch.control(5_000, 'p', '192.0.2.2:3210', { type: 'probe', id: 7, sentAtMs: 123.5 });
    expect(ch.controlsTo('p').at(-1)).toEqual({ type: 'probe-ack', id: 7, sentAtMs: 123.5 });
    ch.control(5_010, 'p', '192.0.2.2:3210', { type: 'probe-ack', id: 1, sentAtMs: 4_990 });
    expect(engine.status(5_010).peers[0]!.rttMs).toBe(20);
    expect(ofType('peer-down')).toEqual([]);
  });

  it('a different identity handshaking from a live peer\'s endpoint replaces it', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.control(1, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.1']));
    ch.up(100, 'p2', '192.0.2.2:3210');
    expect(ofType('peer-down')).toEqual([{ type: 'peer-down', peer: 'p', reason: 'replaced', silentMs: 99, replacedBy: 'p2' }]);
    expect(route('10.0.0.1')).toBe('self');
    expect(engine.status(101).peers.map((p) => p.id)).toEqual(['p2']);
  });

  it('a stall longer than the timeout is not counted as silence', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    engine.handleTimeout(50);
    engine.handleTimeout(60_000); // the process slept for a minute
    expect(ofType('stall')).toEqual([{ type: 'stall', gapMs: 59_950 }]);
    expect(ofType('peer-down')).toEqual([]);
    let now = 60_000;
    while (ofType('peer-down').length === 0) engine.handleTimeout((now = engine.nextDeadline()));
    expect(now - 60_000).toBeGreaterThan(T - K - 51);
  });
});

describe('engine: leave', () => {
  it('a Leave from the current incarnation drops the peer at once; a stale one is ignored', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.control(1, 'p', '192.0.2.2:3210', info(5, 1, ['10.0.0.1']));
    ch.control(2, 'p', '192.0.2.2:3210', { type: 'leave', bootTimeMs: 4 });
    expect(ofType('peer-down')).toEqual([]);
    ch.control(3, 'p', '192.0.2.2:3210', { type: 'leave', bootTimeMs: 5 });
    expect(ofType('peer-down')).toEqual([{ type: 'peer-down', peer: 'p', reason: 'leave', silentMs: 0 }]);
    expect(ch.controlsTo('p').at(-1)).toEqual({ type: 'leave-ack', bootTimeMs: 5 });
    expect(route('10.0.0.1')).toBe('self');
    ch.control(4, 'p', '192.0.2.2:3210', { type: 'leave', bootTimeMs: 5 }); // a retransmit: answered again
    expect(ch.controlsTo('p').filter((m) => m.type === 'leave-ack')).toHaveLength(2);
    expect(ch.forgotten).toEqual([]); // the session lingers briefly for those retransmits
    engine.handleTimeout(10_000);
    expect(ch.forgotten).toEqual(['p']);
  });

  it('leave() tells every peer until each acknowledges', () => {
    ch.up(0, 'p', '192.0.2.2:3210');
    ch.up(0, 'q', '192.0.2.3:3210');
    engine.leave(10);
    expect(engine.leaveSettled).toBe(false);
    expect(ch.controlsTo('p').filter((m) => m.type === 'leave').length).toBeGreaterThanOrEqual(1);
    engine.handleTimeout(engine.nextDeadline());
    ch.control(20, 'p', '192.0.2.2:3210', { type: 'leave-ack', bootTimeMs: SELF_BOOT });
    expect(engine.leaveSettled).toBe(false);
    ch.control(21, 'q', '192.0.2.3:3210', { type: 'leave-ack', bootTimeMs: SELF_BOOT });
    expect(engine.leaveSettled).toBe(true);
    expect(ofType('left')).toHaveLength(1);
  });
});

describe('timing', () => {
  it('derives the probe phase from keepalive and timeout, and refuses keepalive >= timeout', () => {
    expect(deriveTiming({ keepaliveMs: 100, peerTimeoutMs: 800 })).toMatchObject({ suspectAfterMs: 300, probeIntervalMs: 25 });
    expect(deriveTiming({ keepaliveMs: 2_000, peerTimeoutMs: 5_000 })).toMatchObject({ suspectAfterMs: 2_500, probeIntervalMs: 125 });
    expect(() => deriveTiming({ keepaliveMs: 800, peerTimeoutMs: 800 })).toThrow(TimingError);
    expect(() => deriveTiming({ keepaliveMs: 0, peerTimeoutMs: 800 })).toThrow(/positive/);
  });
});
