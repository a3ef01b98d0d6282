import { describe, expect, it } from 'vitest';
import { buildStatusJson, STATUS_JSON_FORMAT } from '../../src/status/status-json.js';
import { engineStatus, INFO, NOW_WALL_MS, SELF, SERVER_A, SERVER_B, SOCKET, twoClaimantStatus } from './status-fixture.js';

describe('buildStatusJson', () => {
  it('describes the node from the daemon info and the engine', () => {
    const s = buildStatusJson(INFO, engineStatus());
    expect(s.format).toBe(STATUS_JSON_FORMAT);
    expect(s.format).toBe(1);
    expect(s.time).toBe('2026-01-02T03:04:05.000Z');
    expect(s.node).toEqual({
      id: SELF,
      version: '0.1.0',
      device: 'hacloud0',
      addresses: ['10.0.0.100/24'],
      listen: '0.0.0.0:3210',
      controlSocket: '/run/hacloud/hacloud.sock',
      selfEndpoints: [],
      claims: ['10.0.0.100/32'],
      uptimeMs: 125_000,
      bootTime: '2026-01-02T03:02:00.000Z',
      leaving: false,
      keepaliveMs: 100,
      peerTimeoutMs: 800,
      relay: 'on',
      candidates: [{ endpoint: '198.51.100.20:3210', kind: 'reflexive', reporter: SERVER_B }],
    });
  });

  it('lists peers with ages, rtt, session age and cipher, uptime and traffic', () => {
    const [peer] = buildStatusJson(INFO, engineStatus()).peers;
    expect(peer).toEqual({
      id: SERVER_B,
      endpoint: '172.31.5.11:3210',
      path: { kind: 'direct', endpoint: '172.31.5.11:3210' },
      candidates: [{ path: { kind: 'direct', endpoint: '172.31.5.11:3210' }, state: 'active', rttMs: 0.457, lastHeardAgoMs: 42 }],
      relays: 'on',
      relayed: { rx: { bytes: 0, packets: 0 }, tx: { bytes: 0, packets: 0 } },
      endpoints: ['172.31.5.11:3210'],
      state: 'up',
      session: true,
      kept: true,
      connectedForMs: 120_000,
      lastSeenAgoMs: 42,
      rttMs: 0.457,
      handshakeAgoMs: 5120,
      algorithm: 'aes256',
      bootTime: '2026-01-02T02:04:05.000Z',
      uptimeMs: 3_600_000,
      claims: ['10.0.0.1/32', '192.168.77.0/24'],
      deniedClaims: [],
      rx: { bytes: 1_572_864, packets: 1200 },
      tx: { bytes: 96_000, packets: 1100 },
    });
  });

  it('shows a relayed peer: the relay it goes through, the direct path tried, relayed traffic', () => {
    const e = engineStatus();
    e.peers[0]!.path = { kind: 'relay', via: SERVER_A };
    e.peers[0]!.endpoint = `relay:${SERVER_A}/${SERVER_B}`;
    e.peers[0]!.candidates = [
      { path: { kind: 'relay', via: SERVER_A }, key: `relay:${SERVER_A}/${SERVER_B}`, state: 'active', rttMs: 12.3456, lastHeardAgoMs: 10 },
      { path: { kind: 'direct', endpoint: '203.0.113.7:3210' }, key: '203.0.113.7:3210', state: 'trying', rttMs: null, lastHeardAgoMs: null },
    ];
    e.relay = { mode: 'preferred', limit: { packetsPerSec: 100, bytesPerSec: 50_000 }, forwarded: { packets: 7, bytes: 7000 }, pairs: 1 };
    const s = buildStatusJson(INFO, e);
    expect(s.peers[0]!.path).toEqual({ kind: 'relay', via: SERVER_A });
    expect(s.peers[0]!.candidates).toEqual([
      { path: { kind: 'relay', via: SERVER_A }, state: 'active', rttMs: 12.346, lastHeardAgoMs: 10 },
      { path: { kind: 'direct', endpoint: '203.0.113.7:3210' }, state: 'trying', rttMs: null, lastHeardAgoMs: null },
    ]);
    expect(s.relay).toEqual({ mode: 'preferred', limit: { packetsPerSec: 100, bytesPerSec: 50_000 }, forwarded: { bytes: 7000, packets: 7 }, pairs: 1 });
  });

  it('gives every claimant of every prefix, the active one and why', () => {
    const s = buildStatusJson(INFO, twoClaimantStatus());
    const route = s.routes.find((r) => r.prefix === '10.0.0.1/32')!;
    expect(route.active).toBe(SERVER_B);
    expect(route.reason).toBe('longest uptime');
    expect(route.claimants).toEqual([
      { id: SERVER_B, self: false, active: true, bootTime: '2026-01-02T02:04:05.000Z', uptimeMs: 3_600_000, health: 'up', priority: 100, preempt: false, epoch: 1 },
      { id: SERVER_A, self: false, active: false, bootTime: '2026-01-02T03:03:45.000Z', uptimeMs: 20_000, health: 'up', priority: 100, preempt: false, epoch: 0 },
    ]);
    expect(s.routes.find((r) => r.prefix === '10.0.0.100/32')!.activeIsSelf).toBe(true);
  });

  it('dates failovers in wall-clock time and sums drops and traffic', () => {
    const s = buildStatusJson(INFO, engineStatus());
    expect(s.failovers.total).toBe(3);
    expect(s.failovers.recent[0]).toEqual({
      time: '2026-01-02T03:03:35.000Z', agoMs: 30_000, prefix: '10.0.0.1/32', from: SERVER_A, to: SERVER_B, cause: 'timeout', gapMs: 790,
    });
    expect(s.drops.total).toBe(7);
    expect(s.drops.byReason['replay']).toBe(5);
    expect(Object.keys(s.drops.byReason)).toContain('no-route');
    expect(s.traffic).toEqual({ rx: { bytes: 1_572_864, packets: 1200 }, tx: { bytes: 96_000, packets: 1100 } });
    expect(s.connecting).toEqual([{ endpoint: '172.31.5.10:3210', kind: 'seed', peer: SERVER_A, attempts: 3, nextAttemptInMs: 1250 }]);
  });

  it("passes the socket's counters on, and null when the daemon gives none", () => {
    expect(buildStatusJson({ ...INFO, socket: SOCKET }, engineStatus()).socket).toEqual(SOCKET);
    expect(buildStatusJson(INFO, engineStatus()).socket).toBeNull();
  });

  it('never shows a negative uptime for a claimant whose clock is ahead', () => {
    const e = twoClaimantStatus();
    e.routes[0]!.claimants[1]!.bootTimeMs = NOW_WALL_MS + 5000;
    e.peers[0]!.bootTimeMs = NOW_WALL_MS + 5000;
    const s = buildStatusJson(INFO, e);
    expect(s.routes[0]!.claimants[1]!.uptimeMs).toBe(0);
    expect(s.peers[0]!.uptimeMs).toBe(0);
  });

  it('is plain JSON: a round trip through JSON.stringify changes nothing', () => {
    const s = buildStatusJson(INFO, engineStatus());
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('keeps peers without a known boot time as null', () => {
    const e = engineStatus();
    e.peers[0]!.bootTimeMs = null;
    e.peers[0]!.rttMs = null;
    const [peer] = buildStatusJson(INFO, e).peers;
    expect(peer!.bootTime).toBeNull();
    expect(peer!.uptimeMs).toBeNull();
    expect(peer!.rttMs).toBeNull();
  });
});
