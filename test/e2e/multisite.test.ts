// examples/multi-site, run for real (seed 002's multi-site HA without an election script): a
// front router with a public address forwards TCP 80 into the overlay with front-nat.sh (its
// ifup hook); two sites, each behind its own masquerading router, dial out to it and claim the
// shared IP 10.0.0.1; an internet client asks the front's public address.
//
// The first suite proves the plumbing with plain claims (no health checks): the client is
// served by the site up longest and a kill -9 of its hacloud moves it to the other. The second
// runs the example's own site-a.yaml and site-b.yaml, whose claims carry a priority and an HTTP
// health check: a dead web server moves the IP, a site coming back does not take it back
// (preempt: false), a dead site moves it again. Switch times are logged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt, startHacloud, statusJson, waitFor } from './hacloud.js';
import { useLab, type LabProcess } from './lab.js';
import {
  askFront, ConfigDir, examplePassword, EXAMPLE_DIR, frontRoute, frontSwitchSince, httpGet, LAYOUT, startFront, startWeb,
  measureSwitch, waitForClaimants, waitForSite, type Site,
} from './multisite-lab.js';

/** The example's timings (site-*.yaml, front.yaml) and its health check (site-*.yaml). */
const KEEPALIVE_MS = 100;
const PEER_TIMEOUT_MS = 800;
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_FALL = 2;
const HEALTH_RISE = 2;
/** Process start-up, curl's 300 ms probe timeout and a loaded 2-core machine. */
const SLACK_MS = 1500;
const FAST = ['--keepalive', `${KEEPALIVE_MS}ms`, '--peer-timeout', `${PEER_TIMEOUT_MS}ms`];

describe('multi-site plumbing: NAT, port forward, plain claims', () => {
  const lab = useLab(LAYOUT, requireBuilt);
  let dir: ConfigDir;
  const hacloud = new Map<Site, LabProcess>();
  let front: LabProcess;

  const startSite = async (site: Site): Promise<void> => {
    const l = lab();
    const args = ['--ip', '10.0.0.1', '-c', `${l.ip('front')}:3210`, ...FAST];
    hacloud.set(site, await startHacloud(l, site, args, { env: { PASSWORD: examplePassword() } }));
  };

  beforeAll(async () => {
    const l = lab();
    dir = new ConfigDir();
    await Promise.all([startWeb(l, 'sitea', dir), startWeb(l, 'siteb', dir)]);
    front = await startFront(l, dir);
    await startSite('sitea');
    await new Promise((r) => setTimeout(r, 300)); // site A has the longer uptime
    await startSite('siteb');
  });
  afterAll(() => dir?.remove());

  it("serves the internet client from the site up longest, through the front's port forward", async () => {
    const l = lab();
    await waitForSite(l, 'sitea', 15_000);
    await waitForClaimants(l, 2, 10_000);
    for (let i = 0; i < 5; i++) expect(await askFront(l)).toBe('site-a');
    // The sites are behind NAT: the front knows them by their routers' public addresses.
    const endpoints = (await statusJson(l, 'front')).peers.map((p) => p.endpoint.replace(/:\d+$/, '')).sort();
    expect(endpoints).toEqual([l.ip('routera'), l.ip('routerb')].sort());
  });

  it("kill -9 of the serving site's hacloud moves the client to the other site", async () => {
    const { atMs, ms } = await measureSwitch(lab(), 'sitea', 'siteb', () => hacloud.get('sitea')!.kill('SIGKILL'), 10_000);
    console.log(`multi-site, plain claims: kill -9 of site A's hacloud -> site B answers after ${ms} ms; ` +
      `front ${await frontSwitchSince(lab(), atMs)}`);
    expect(ms).toBeLessThan(PEER_TIMEOUT_MS + KEEPALIVE_MS + SLACK_MS);
  });

  it('site-web.mjs fails /health while its down file exists', async () => {
    const l = lab();
    const health = () => httpGet(l, 'siteb', 'http://127.0.0.1:8080/health', 1000);
    expect(await health()).toBe('ok');
    await l.exec('siteb', 'touch', [dir.downFile('siteb')]);
    expect(await health()).toBeNull(); // 503
    expect(await askFront(l)).toBe('site-b'); // only /health says down: the site still serves
    await l.exec('siteb', 'rm', [dir.downFile('siteb')]);
    expect(await health()).toBe('ok');
  });

  it('the front removes its port forward when hacloud stops (ifdown), and adds it only once', async () => {
    const l = lab();
    const forwards = async () => (await l.exec('front', 'iptables-save')).stdout.split('\n')
      .filter((r) => r.startsWith('-A') && (r.includes('10.0.0.1') || r.includes('hacloud0')));
    const rules = await forwards();
    expect(rules).toHaveLength(4); // DNAT, MASQUERADE, FORWARD out into the tunnel and back
    front.kill('SIGTERM');
    await front.waitForExit(5000);
    expect(await forwards()).toEqual([]);
    // After a kill -9 no ifdown runs: the next ifup must not add the rules a second time.
    const script = `${EXAMPLE_DIR}/front-nat.sh`;
    const env = { IFNAME: 'hacloud0' };
    for (let i = 0; i < 2; i++) await l.exec('front', script, ['up', l.ip('front'), '10.0.0.1:8080'], { env });
    expect((await forwards()).sort()).toEqual(rules.sort());
    await l.exec('front', script, ['down', l.ip('front'), '10.0.0.1:8080'], { env });
    expect(await forwards()).toEqual([]);
  });
});

describe('multi-site HA with health checks and priorities (examples/multi-site/site-*.yaml)', () => {
  const lab = useLab(LAYOUT, requireBuilt);
  let dir: ConfigDir;
  const web = new Map<Site, LabProcess>();
  const hacloud = new Map<Site, LabProcess>();

  beforeAll(async () => {
    const l = lab();
    dir = new ConfigDir();
    web.set('sitea', await startWeb(l, 'sitea', dir));
    web.set('siteb', await startWeb(l, 'siteb', dir));
    await startFront(l, dir);
    // Site A first, so the first answer depends on priority and uptime alike, not on what
    // preempt: false means for a better claim that appears later.
    hacloud.set('sitea', await startHacloud(l, 'sitea', ['--config', dir.write(l, 'site-a')]));
    await waitForSite(l, 'sitea', 15_000);
    hacloud.set('siteb', await startHacloud(l, 'siteb', ['--config', dir.write(l, 'site-b')]));
    await waitForClaimants(l, 2, 15_000); // site B's check passed `rise` times: it is advertised
  });
  afterAll(() => dir?.remove());

  it('serves the client from site A, the claim with priority 150', async () => {
    const l = lab();
    for (let i = 0; i < 5; i++) expect(await askFront(l)).toBe('site-a');
    const route = await frontRoute(l);
    expect(route?.claimants.map((c) => c.priority)).toEqual([150, 100]);
    expect(route?.claimants[0]?.active).toBe(true);
  });

  it("site A's web server dies (hacloud keeps running): site B answers within interval x fall + keepalive", async () => {
    const { ms } = await measureSwitch(lab(), 'sitea', 'siteb', () => web.get('sitea')!.kill('SIGTERM'), 15_000);
    console.log(`multi-site, health checks: site A's web server stopped -> site B answers after ${ms} ms`);
    expect(hacloud.get('sitea')!.running).toBe(true);
    expect(ms).toBeLessThan(HEALTH_INTERVAL_MS * HEALTH_FALL + KEEPALIVE_MS + SLACK_MS);
  });

  it('site A comes back healthy but does not take the IP back (preempt: false)', async () => {
    const l = lab();
    const start = Date.now();
    web.set('sitea', await startWeb(l, 'sitea', dir));
    await waitForClaimants(l, 2, HEALTH_INTERVAL_MS * HEALTH_RISE + KEEPALIVE_MS + SLACK_MS + 5000);
    console.log(`multi-site, health checks: site A advertised again ${Date.now() - start} ms after its web server restarted`);
    for (let i = 0; i < 5; i++) expect(await askFront(l)).toBe('site-b');
  });

  it("kill -9 of site B's whole hacloud: site A answers within the peer timeout", async () => {
    const { atMs, ms } = await measureSwitch(lab(), 'siteb', 'sitea', () => hacloud.get('siteb')!.kill('SIGKILL'), 10_000);
    console.log(`multi-site, health checks: kill -9 of site B's hacloud -> site A answers after ${ms} ms; ` +
      `front ${await frontSwitchSince(lab(), atMs)}`);
    expect(ms).toBeLessThan(PEER_TIMEOUT_MS + KEEPALIVE_MS + SLACK_MS);
  });

  it('the compact --claim form works the same, and the down file drains a site', async () => {
    const l = lab();
    // Site B again, configured on the command line instead of site-b.yaml.
    const claim = '10.0.0.1/32,priority=100,health=http://127.0.0.1:8080/health,interval=1s,timeout=500ms,rise=2,fall=2';
    hacloud.set('siteb', await startHacloud(l, 'siteb', [
      '--ip', '10.0.0.1', '--no-auto-claim', '--claim', claim, '-c', `${l.ip('front')}:3210`, ...FAST,
    ], { env: { PASSWORD: examplePassword() } }));
    await waitForClaimants(l, 2, 15_000);
    expect((await frontRoute(l))?.claimants.map((c) => c.priority)).toEqual([150, 100]);
    expect(await askFront(l)).toBe('site-a');
    const { ms } = await measureSwitch(l, 'sitea', 'siteb', () => l.exec('sitea', 'touch', [dir.downFile('sitea')]), 15_000);
    console.log(`multi-site, health checks: site A drained with its down file -> site B answers after ${ms} ms`);
    expect(ms).toBeLessThan(HEALTH_INTERVAL_MS * HEALTH_FALL + KEEPALIVE_MS + SLACK_MS);
    // Site A's claim is still listed at the front, withdrawn by its health check.
    await waitFor('site A to be withdrawn', 5000, async () =>
      ((await frontRoute(l))?.claimants.some((c) => c.health === 'unhealthy') ? true : null));
    expect((await frontRoute(l))?.claimants.map((c) => [c.priority, c.health, c.active])).toEqual([[100, 'up', true], [150, 'unhealthy', false]]);
  });
});
