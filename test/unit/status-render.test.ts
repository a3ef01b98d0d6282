import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, renderStatus } from '../../src/status/render.js';
import { buildStatusJson } from '../../src/status/status-json.js';
import { engineStatus, INFO, SELF, SOCKET, twoClaimantStatus } from './status-fixture.js';

function lines(text: string): string[] {
  return text.split('\n');
}

describe('renderStatus', () => {
  const text = renderStatus(buildStatusJson(INFO, twoClaimantStatus()));

  it('starts with the node: id, device, addresses, uptime and timing', () => {
    expect(lines(text).slice(0, 7)).toEqual([
      `node        ${SELF}`,
      'version     0.1.0',
      'device      hacloud0  10.0.0.100/24',
      'listen      0.0.0.0:3210',
      'uptime      2m05s  (since 2026-01-02T03:02:00.000Z)',
      'claims      10.0.0.100/32',
      `candidates  198.51.100.20:3210 (reflexive)`,
    ]);
    expect(lines(text)).toContain('relay       on (2000 packets/s, 1.9 MiB/s per pair); forwarded 0 B/0p');
    expect(lines(text)).toContain('timing      keepalive 100ms, peer timeout 800ms');
  });

  it("ends with the socket's line when the daemon gives one", () => {
    expect(lines(text).some((l) => l.startsWith('SOCKET'))).toBe(false);
    const l = lines(renderStatus(buildStatusJson({ ...INFO, socket: SOCKET }, twoClaimantStatus())));
    expect(l.at(-2)).toBe('SOCKET (native): sent 1200 (1 dropped), received 1500 (2 dropped here, 3 by the kernel (receive buffer full)), errors 4');
    const dgram = { ...SOCKET, implementation: 'dgram', sent: null, sendDrops: null, received: null, receiveDrops: null, errors: null, kernelReceiveDrops: null };
    expect(lines(renderStatus(buildStatusJson({ ...INFO, socket: dgram }, twoClaimantStatus()))).at(-2))
      .toBe('SOCKET (dgram): received datagrams dropped ? by the kernel (receive buffer full)');
  });

  it('has a peer table with aligned columns and short ids', () => {
    const l = lines(text);
    const header = l.indexOf('PEERS (1)');
    expect(header).toBeGreaterThan(0);
    expect(l[header + 1]).toMatch(/^ {2}ID {8}PATH {14}STATE +LAST SEEN +RTT +HANDSHAKE +UPTIME +RX +TX +CLAIMS$/);
    expect(l[header + 2]).toMatch(/^ {2}BBBBBBBB {2}172\.31\.5\.11:3210 {2}up +42ms ago +0\.46ms +5\.1s ago +1h00m +1\.5 MiB\/1200p +94 KiB\/1100p +10\.0\.0\.1\/32, 192\.168\.77\.0\/24$/);
    // Columns line up: every cell of the row starts where its header starts.
    expect(l[header + 2]!.indexOf('172.31')).toBe(l[header + 1]!.indexOf('PATH'));
    expect(l[header + 2]!.indexOf('1h00m')).toBe(l[header + 1]!.indexOf('UPTIME'));
  });

  it('names the relay of a relayed peer and lists its paths', () => {
    const e = twoClaimantStatus();
    const relay = e.peers[0]!.id;
    e.peers.push({
      ...e.peers[0]!, id: 'C'.repeat(43) + 'A', endpoint: `relay:${relay}/${'C'.repeat(43)}A`, path: { kind: 'relay', via: relay },
      candidates: [
        { path: { kind: 'relay', via: relay }, key: 'r', state: 'active', rttMs: 12.5, lastHeardAgoMs: 20 },
        { path: { kind: 'direct', endpoint: '203.0.113.7:3210' }, key: '203.0.113.7:3210', state: 'failed', rttMs: null, lastHeardAgoMs: null },
      ],
    });
    const l = lines(renderStatus(buildStatusJson(INFO, e)));
    const peers = l.indexOf('PEERS (2)');
    expect(l[peers + 3]).toMatch(/^ {2}CCCCCCCC {2}via BBBBBBBB +up /);
    const paths = l.indexOf('PATHS   * = active');
    expect(paths).toBeGreaterThan(peers);
    expect(l.slice(paths + 2, paths + 4)).toEqual([
      '  *  CCCCCCCC  via BBBBBBBB      active  13ms  20ms ago',
      '     CCCCCCCC  203.0.113.7:3210  failed  -     never',
    ]);
  });

  it("lists this node's claims with role, priority, preemption and health", () => {
    const s = twoClaimantStatus();
    s.ownClaims.push({
      prefix: '10.0.0.1/32', priority: 150, preempt: true, preemptDelayMs: 30_000, state: 'unhealthy', role: 'withdrawn',
      epoch: 0, drained: false, health: { healthy: false, rise: 2, fall: 2, checks: 9, lastOk: false, lastDetail: 'ECONNREFUSED' },
    });
    const l = lines(renderStatus(buildStatusJson(INFO, s)));
    const start = l.indexOf('CLAIMS (2)');
    expect(l.slice(start + 1, start + 4)).toEqual([
      '  PREFIX         ROLE                PRIO  PREEMPT         HEALTH',
      '  10.0.0.100/32  active              100   no              -',
      '  10.0.0.1/32    withdrawn (health)  150   yes, after 30s  failing (rise 2, fall 2, last check failed: ECONNREFUSED)',
    ]);
  });

  it('lists the recent HA events, a failover with its move and gap', () => {
    const l = lines(text);
    const start = l.indexOf('RECENT EVENTS (2 shown)');
    expect(start).toBeGreaterThan(0);
    expect(l[start + 2]).toMatch(/^ {2}30s ago +failover +10\.0\.0\.1\/32 +AAAAAAAA -> BBBBBBBB \(172\.31\.5\.11:3210\) +timeout, gap 790ms$/);
    expect(l[start + 3]).toMatch(/^ {2}30s ago +peer-down +AAAAAAAA +timeout$/);
  });

  it('lists every claimant under its prefix, marks the active one and says why', () => {
    const l = lines(text);
    const start = l.findIndex((x) => x.startsWith('ROUTES (3)'));
    expect(l[start]).toContain('* = active');
    expect(l.slice(start + 1, start + 6)).toEqual([
      '     PREFIX           CLAIMANT                     PRIO  STATE    UPTIME  WHY ACTIVE',
      '  *  10.0.0.1/32      BBBBBBBB (172.31.5.11:3210)  100   serving  1h00m   longest uptime',
      '                      AAAAAAAA                     100   standby  20s',
      '  *  10.0.0.100/32    CCCCCCCC (self)              100   serving  2m05s   only claimant',
      '  *  192.168.77.0/24  BBBBBBBB (172.31.5.11:3210)  100   serving  1h00m   only claimant',
    ]);
  });

  it('shows recent failovers with their gap, the drops by reason and the traffic', () => {
    const l = lines(text);
    const start = l.findIndex((x) => x.startsWith('RECENT FAILOVERS'));
    expect(l[start]).toBe('RECENT FAILOVERS (3 shown, 3 total)');
    expect(l[start + 1]).toMatch(/^ {2}WHEN +PREFIX +FROM +TO +CAUSE +GAP$/);
    expect(l[start + 2]).toMatch(/^ {2}30s ago +10\.0\.0\.1\/32 +AAAAAAAA +BBBBBBBB \(172\.31\.5\.11:3210\) +timeout +790ms$/);
    expect(l[start + 4]).toMatch(/1m30s ago .* leave +0ms$/);
    expect(text).toContain('DROPPED PACKETS: 7  (auth 2, replay 5)');
    expect(text).toContain('TRAFFIC: rx 1.5 MiB/1200p, tx 94 KiB/1100p');
    expect(text).toContain('CONNECTING (1)');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('says "none" for empty sections and never prints undefined', () => {
    const e = engineStatus();
    e.peers = [];
    e.routes = [];
    e.failovers = [];
    e.failoversTotal = 0;
    e.connecting = [];
    const empty = renderStatus(buildStatusJson(INFO, e));
    expect(empty).toContain('PEERS (0)\n  none');
    expect(empty).toContain('ROUTES (0)   * = active\n  none');
    expect(empty).toContain('RECENT FAILOVERS (0 shown, 0 total)\n  none');
    expect(empty).not.toContain('CONNECTING');
    expect(empty).not.toContain('DENIED CLAIMS');
    expect(empty).not.toMatch(/undefined|NaN/);
  });
});

describe('renderStatus: denied claims', () => {
  it('lists the claims of peers this node ignores, with the reason', () => {
    const e = engineStatus();
    e.peers[0]!.deniedClaims = [{ prefix: '0.0.0.0/1', reason: 'outside-allowed-routes' }, { prefix: '10.0.0.1/32', reason: 'no-right' }];
    const l = lines(renderStatus(buildStatusJson(INFO, e)));
    const start = l.findIndex((x) => x.startsWith('DENIED CLAIMS (2)'));
    expect(start).toBeGreaterThan(0);
    expect(l.slice(start + 1, start + 4)).toEqual([
      '  PEER      PREFIX       WHY',
      '  BBBBBBBB  0.0.0.0/1    outside-allowed-routes',
      '  BBBBBBBB  10.0.0.1/32  no-right',
    ]);
  });
});

describe('formatting helpers', () => {
  it('formats durations compactly', () => {
    expect([0, 850, 4200, 59_900, 185_000, 7_380_000, 273_600_000].map(formatDuration))
      .toEqual(['0ms', '850ms', '4.2s', '59s', '3m05s', '2h03m', '3d04h']);
    expect(formatDuration(-1)).toBe('-');
  });

  it('formats bytes in binary units', () => {
    expect([0, 512, 1536, 12 * 1024 * 1024, 5 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '512 B', '1.5 KiB', '12 MiB', '5.0 TiB']);
  });
});
