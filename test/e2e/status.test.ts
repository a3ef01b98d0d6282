// Operations on real daemons in namespaces: `hacloud status` (tables and --json) and the
// Prometheus endpoint before and after a kill -9 failover, kernel routes for a claimed subnet
// appearing and disappearing in the client's namespace, and --user nobody.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ask, controlSocket, hacloudCli as cli, HACLOUD_BIN, requireBuilt, startHacloud, statusJson, TCP_FIXTURE, waitFor } from './hacloud.js';
import { useLab, type Lab, type LabProcess } from './lab.js';

const FAST = ['--keepalive', '100ms', '--peer-timeout', '800ms', '--password', 'ops-test'];
const METRICS_PORT = 9310;
const SUBNET = '192.168.77.0/24';

/** Scrape the client's metrics endpoint from inside its namespace (it listens on its loopback). */
async function scrape(lab: Lab, host: string): Promise<string> {
  const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text())` +
    '.then((t) => process.stdout.write(t), (e) => { console.error(e.message); process.exit(1); })';
  return (await lab.exec(host, process.execPath, ['-e', script])).stdout;
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function routesOf(lab: Lab, host: string): Promise<string> {
  return (await lab.exec(host, 'ip', ['route', 'show'])).stdout;
}

describe('status, metrics and kernel routes through a failover', () => {
  const lab = useLab(['servera', 'serverb', 'client'], requireBuilt);
  let serverA: LabProcess;
  let serverB: LabProcess;
  let idA: string;
  let idB: string;

  beforeAll(async () => {
    const l = lab();
    for (const s of ['servera', 'serverb']) {
      await l.spawn(s, process.execPath, [TCP_FIXTURE, 'name', '8000', s]).waitForLine(/READY/, 5000);
    }
    // servera first: it has the longest uptime, so it is the active claimant of 10.0.0.1.
    serverA = await startHacloud(l, 'servera', ['--ip', '10.0.0.1', '-c', `${l.ip('serverb')}:3210`, ...FAST]);
    idA = (await statusJson(l, 'servera')).node.id;
    serverB = await startHacloud(l, 'serverb', ['--ip', '10.0.0.1', '-c', `${l.ip('servera')}:3210`, '--claim', SUBNET, ...FAST]);
    idB = (await statusJson(l, 'serverb')).node.id;
    await startHacloud(l, 'client', ['--ip', '10.0.0.100', '-c', `${l.ip('servera')}:3210`, '-c', `${l.ip('serverb')}:3210`,
      '--metrics-listen', String(METRICS_PORT), ...FAST]);
    await waitFor('the client to see both servers', 10_000, async () => {
      const s = await statusJson(l, 'client');
      return s.peers.length === 2 && s.routes.find((r) => r.prefix === '10.0.0.1/32')?.claimants.length === 2 ? s : null;
    });
  });

  it('status --json lists both claimants of the shared IP, the active one and why', async () => {
    const l = lab();
    expect(await ask(l, 'client', '10.0.0.1', 8000)).toBe('servera');
    const s = await statusJson(l, 'client');
    expect(s.format).toBe(1);
    expect(s.node).toMatchObject({ device: 'hacloud0', addresses: ['10.0.0.100/24'], claims: ['10.0.0.100/32'], keepaliveMs: 100, peerTimeoutMs: 800 });
    expect(s.peers.map((p) => p.id).sort()).toEqual([idA, idB].sort());
    for (const p of s.peers) expect(p).toMatchObject({ state: 'up', session: true });
    const route = s.routes.find((r) => r.prefix === '10.0.0.1/32')!;
    expect(route).toMatchObject({ active: idA, activeIsSelf: false, reason: 'longest uptime' });
    expect(route.claimants.map((c) => [c.id, c.active])).toEqual([[idA, true], [idB, false]]);
    expect(s.routes.find((r) => r.prefix === SUBNET)).toMatchObject({ active: idB, reason: 'only claimant' });
    expect(s.failovers).toEqual({ total: 0, recent: [] });
    const peerA = s.peers.find((p) => p.id === idA)!;
    expect(peerA.tx.packets).toBeGreaterThan(0); // the request to 10.0.0.1 went to servera
    expect(peerA.rx.packets).toBeGreaterThan(0);
    // the native socket counts what it did; the kernel's drops for its port come from /proc
    expect(s.socket).toMatchObject({ implementation: 'native', sendDrops: 0, receiveDrops: 0, kernelReceiveDrops: 0 });
    expect(s.socket!.received).toBeGreaterThan(peerA.rx.packets);
    expect(s.socket!.sent).toBeGreaterThan(peerA.tx.packets);

    const human = await cli(['status', '--control-socket', controlSocket(l, 'client')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^ {2}\\* {2}10\\.0\\.0\\.1/32 +${idA.slice(0, 8)} \\(${l.ip('servera')}:3210\\) +100 +serving +\\S+ +longest uptime$`, 'm'));
    expect(human.stdout).toContain('PEERS (2)');
    expect(human.stdout).toMatch(/^SOCKET \(native\): sent \d+ \(0 dropped\), received \d+ \(0 dropped here, 0 by the kernel/m);
  });

  it('adds a kernel route in the other nodes for a subnet claimed outside their network', async () => {
    const l = lab();
    for (const host of ['client', 'servera']) {
      await waitFor(`route ${SUBNET} in ${host}`, 5000, async () => ((await routesOf(l, host)).includes(`${SUBNET} dev hacloud0`) ? true : null));
    }
    // The claimant routes it itself (no route through its own tunnel), and addresses inside
    // the interface's network never get one.
    expect(await routesOf(l, 'serverb')).not.toContain(SUBNET);
    expect(await routesOf(l, 'client')).not.toMatch(/^10\.0\.0\.1 /m);
  });

  it('metrics before the failover', async () => {
    const text = await scrape(lab(), 'client');
    expect(metric(text, 'hacloud_peers')).toBe(2);
    expect(metric(text, 'hacloud_claims')).toBe(1);
    expect(metric(text, 'hacloud_active_claims')).toBe(1);
    expect(metric(text, 'hacloud_routes')).toBe(3);
    expect(metric(text, 'hacloud_failovers_total')).toBe(0);
    expect(metric(text, `hacloud_traffic_packets_total{peer="${idA}",direction="tx"}`)).toBeGreaterThan(0);
    expect(metric(text, `hacloud_traffic_bytes_total{peer="${idA}",direction="rx"}`)).toBeGreaterThan(0);
    expect(metric(text, 'hacloud_dropped_packets_total{reason="auth"}')).toBe(0);
    expect(metric(text, 'hacloud_socket_datagrams_total{direction="rx"}')).toBeGreaterThan(0);
    expect(metric(text, 'hacloud_socket_dropped_total{where="kernel"}')).toBe(0);
    expect(text).not.toContain('hacloud_last_failover_gap_seconds{');
  });

  it('after kill -9 of the active server, status --json shows the failover and its gap', async () => {
    const l = lab();
    serverA.kill('SIGKILL');
    // the failover, and serverA gone from the client's view: serverb may announce its takeover
    // (the failover) a moment before the client's own peer timeout removes serverA's claim
    const s = await waitFor('the failover', 10_000, async () => {
      const st = await statusJson(l, 'client');
      return st.failovers.total > 0 && !st.peers.some((p) => p.id === idA) ? st : null;
    });
    expect(s.failovers.total).toBe(1);
    expect(s.failovers.recent[0]).toMatchObject({ prefix: '10.0.0.1/32', from: idA, to: idB, cause: 'timeout' });
    // at least the peer timeout less a keepalive: serverb may notice first and announce it serves
    expect(s.failovers.recent[0]!.gapMs).toBeGreaterThanOrEqual(700);
    expect(s.routes.find((r) => r.prefix === '10.0.0.1/32')).toMatchObject({ active: idB, reason: 'only claimant' });
    expect(s.peers.map((p) => p.id)).toEqual([idB]);
    expect(await ask(l, 'client', '10.0.0.1', 8000)).toBe('serverb');
    const human = await cli(['status', '--control-socket', controlSocket(l, 'client')]);
    expect(human.stdout).toContain('RECENT FAILOVERS (1 shown, 1 total)');
    expect(human.stdout).toMatch(new RegExp(`ago +10\\.0\\.0\\.1/32 +${idA.slice(0, 8)} +${idB.slice(0, 8)} .* timeout +\\d`));
  });

  it('metrics after the failover', async () => {
    const text = await scrape(lab(), 'client');
    expect(metric(text, 'hacloud_peers')).toBe(1);
    expect(metric(text, 'hacloud_failovers_total')).toBe(1);
    expect(metric(text, 'hacloud_last_failover_gap_seconds{prefix="10.0.0.1/32"}')).toBeGreaterThanOrEqual(0.7);
    expect(metric(text, 'hacloud_last_failover_timestamp_seconds{prefix="10.0.0.1/32"}')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(text).not.toContain(`peer="${idA}"`);
    expect(metric(text, `hacloud_traffic_packets_total{peer="${idB}",direction="tx"}`)).toBeGreaterThan(0);
  });

  it('removes the kernel route when the claimant leaves', async () => {
    const l = lab();
    serverB.kill('SIGTERM');
    await waitFor(`route ${SUBNET} gone from the client`, 5000, async () => ((await routesOf(l, 'client')).includes(SUBNET) ? null : true));
    const s = await statusJson(l, 'client');
    expect(s.routes.map((r) => r.prefix)).toEqual(['10.0.0.100/32']);
    expect(s.failovers.recent[0]).toMatchObject({ cause: 'leave', from: idB });
  });

  it('`hacloud status` says in one line when no daemon is there', async () => {
    const r = await cli(['status', '--control-socket', `/run/hacloud-test/${lab().id}-nobody.sock`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`hacloud: no hacloud daemon at /run/hacloud-test/${lab().id}-nobody.sock: is it running?\n`);
  });
});

describe('privilege drop', () => {
  const lab = useLab(['a', 'b'], requireBuilt);

  it('--user nobody: the daemon runs as nobody and the tunnel works', async () => {
    const l = lab();
    const a = await startHacloud(l, 'a', ['--ip', '10.0.0.1', '-c', `${l.ip('b')}:3210`, '--user', 'nobody', ...FAST]);
    await startHacloud(l, 'b', ['--ip', '10.0.0.2', '-c', `${l.ip('a')}:3210`, ...FAST]);
    await a.waitForLine(/dropped privileges/, 5000);

    const ids = readFileSync(`/proc/${a.pid}/status`, 'utf8');
    expect(ids).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(ids).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(ids).toMatch(/^Groups:\s+65534\s*$/m);

    await waitFor('a ping through the tunnel', 10_000, async () =>
      (await l.exec('b', 'ping', ['-c', '1', '-W', '1', '10.0.0.1'], { check: false })).code === 0 ? true : null);
    expect((await l.exec('a', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.0.0.2'])).stdout).toContain('3 received');
    // The control socket was opened before the drop and still answers.
    const s = await statusJson(l, 'a');
    expect(s.peers).toHaveLength(1);
    expect(a.running).toBe(true);
  });

  it('refuses an unknown user in one line', async () => {
    const l = lab();
    const r = await l.exec('a', process.execPath, [HACLOUD_BIN, '--ip', '10.0.0.9', '-d', 'hcpriv0', '--listen', '3299',
      '--user', 'no-such-user-hc', '--control-socket', controlSocket(l, 'priv'), ...FAST], { check: false, timeoutMs: 15_000 });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((s) => s.startsWith('hacloud:'));
    expect(lines).toEqual([expect.stringMatching(/user 'no-such-user-hc' does not exist/)]);
  });
});
