// A hand-written engine snapshot for the status/metrics/stats tests: a client (self) with two
// servers sharing 10.0.0.1, after server A failed over to server B once.
import { deriveTiming } from '../../src/core/constants.js';
import type { EngineStatus } from '../../src/core/status.js';
import { DROP_REASONS, type DropReason } from '../../src/core/types.js';
import type { DaemonInfo } from '../../src/status/status-json.js';

export const SELF = 'CCCCCCCCclient000000000000000000000000000000';
export const SERVER_A = 'AAAAAAAAserverA00000000000000000000000000000';
export const SERVER_B = 'BBBBBBBBserverB00000000000000000000000000000';

/** 2026-01-02T03:04:05.000Z */
export const NOW_WALL_MS = Date.UTC(2026, 0, 2, 3, 4, 5);

export const INFO: DaemonInfo = {
  version: '0.1.0',
  device: 'hacloud0',
  addresses: ['10.0.0.100/24'],
  listen: '0.0.0.0:3210',
  controlSocket: '/run/hacloud/hacloud.sock',
  nowWallMs: NOW_WALL_MS,
};

/** A native socket after some traffic, 3 datagrams lost in the kernel's receive buffer. */
export const SOCKET = {
  implementation: 'native', sent: 1_200, sendDrops: 1, received: 1_500, receiveDrops: 2, errors: 4, kernelReceiveDrops: 3,
};

export function drops(overrides: Partial<Record<DropReason, number>> = {}): Record<DropReason, number> {
  const out = {} as Record<DropReason, number>;
  for (const r of DROP_REASONS) out[r] = overrides[r] ?? 0;
  return out;
}

export function engineStatus(): EngineStatus {
  return {
    id: SELF,
    bootTimeMs: NOW_WALL_MS - 125_000,
    uptimeMs: 125_000,
    claims: ['10.0.0.100/32'],
    ownClaims: [{
      prefix: '10.0.0.100/32', priority: 100, preempt: false, preemptDelayMs: 0, state: 'up', role: 'active', epoch: 1,
      drained: false, health: null,
    }],
    leaving: false,
    timing: deriveTiming({ keepaliveMs: 100, peerTimeoutMs: 800 }),
    peers: [
      {
        id: SERVER_B,
        endpoint: '172.31.5.11:3210',
        path: { kind: 'direct', endpoint: '172.31.5.11:3210' },
        candidates: [
          { path: { kind: 'direct', endpoint: '172.31.5.11:3210' }, key: '172.31.5.11:3210', state: 'active', rttMs: 0.4567, lastHeardAgoMs: 42.4 },
        ],
        relays: 'on',
        relayed: { rx: { packets: 0, bytes: 0 }, tx: { packets: 0, bytes: 0 } },
        endpoints: ['172.31.5.11:3210'],
        state: 'up',
        session: true,
        kept: true,
        handshakeAgoMs: 5120,
        algorithm: 'aes256',
        connectedForMs: 120_000,
        lastSeenAgoMs: 42.4,
        rttMs: 0.4567,
        bootTimeMs: NOW_WALL_MS - 3_600_000,
        claims: ['10.0.0.1/32', '192.168.77.0/24'],
        deniedClaims: [],
        rx: { packets: 1200, bytes: 1_572_864 },
        tx: { packets: 1100, bytes: 96_000 },
      },
    ],
    connecting: [{ endpoint: '172.31.5.10:3210', kind: 'seed', peer: SERVER_A, attempts: 3, nextAttemptInMs: 1250 }],
    selfEndpoints: [],
    routes: [
      {
        prefix: '10.0.0.1/32',
        family: 4,
        active: SERVER_B,
        activeIsSelf: false,
        reason: 'only claimant',
        claimants: [{ id: SERVER_B, self: false, bootTimeMs: NOW_WALL_MS - 3_600_000, active: true, priority: 100, preempt: false, state: 'up', epoch: 1 }],
      },
      {
        prefix: '10.0.0.100/32',
        family: 4,
        active: SELF,
        activeIsSelf: true,
        reason: 'only claimant',
        claimants: [{ id: SELF, self: true, bootTimeMs: NOW_WALL_MS - 125_000, active: true, priority: 100, preempt: false, state: 'up', epoch: 1 }],
      },
      {
        prefix: '192.168.77.0/24',
        family: 4,
        active: SERVER_B,
        activeIsSelf: false,
        reason: 'only claimant',
        claimants: [{ id: SERVER_B, self: false, bootTimeMs: NOW_WALL_MS - 3_600_000, active: true, priority: 100, preempt: false, state: 'up', epoch: 1 }],
      },
    ],
    failovers: [
      { agoMs: 30_000, prefix: '10.0.0.1/32', from: SERVER_A, to: SERVER_B, cause: 'timeout', gapMs: 790 },
      { agoMs: 30_000, prefix: '192.168.77.0/24', from: SERVER_A, to: SERVER_B, cause: 'timeout', gapMs: 790 },
      { agoMs: 90_000, prefix: '10.0.0.1/32', from: SERVER_B, to: SERVER_A, cause: 'leave', gapMs: 0 },
    ],
    failoversTotal: 3,
    events: [
      { agoMs: 30_000, event: 'failover', prefix: '10.0.0.1/32', from: SERVER_A, to: SERVER_B, reason: 'timeout', gapMs: 790 },
      { agoMs: 30_000, event: 'peer-down', peer: SERVER_A, reason: 'timeout' },
    ],
    handshakesTotal: 4,
    drops: drops({ auth: 2, replay: 5 }),
    candidates: [{ endpoint: '198.51.100.20:3210', kind: 'reflexive', reporter: SERVER_B }],
    relay: { mode: 'on', limit: { packetsPerSec: 2000, bytesPerSec: 2_000_000 }, forwarded: { packets: 0, bytes: 0 }, pairs: 0 },
    members: { fullMesh: true, records: 3, alive: 2, suspect: 0, dead: 0, sessions: 2, kept: 2, verifications: 2 },
  };
}

/** A route with two claimants, the first active by uptime. */
export function twoClaimantStatus(): EngineStatus {
  const s = engineStatus();
  s.routes[0] = {
    prefix: '10.0.0.1/32',
    family: 4,
    active: SERVER_B,
    activeIsSelf: false,
    reason: 'longest uptime',
    claimants: [
      { id: SERVER_B, self: false, bootTimeMs: NOW_WALL_MS - 3_600_000, active: true, priority: 100, preempt: false, state: 'up', epoch: 1 },
      { id: SERVER_A, self: false, bootTimeMs: NOW_WALL_MS - 20_000, active: false, priority: 100, preempt: false, state: 'up', epoch: 0 },
    ],
  };
  return s;
}
