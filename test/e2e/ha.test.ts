// The VpnCloud HA guide, reproduced with real hacloud processes in namespaces: two servers
// share 10.0.0.1, a client reaches whichever has been up longest; kill -9 moves it to the
// other; a restarted server does not take the address back; SIGTERM switches without waiting
// for the timeout. Then the guide's active/passive trick with three servers (/32, /31, /30).
import { beforeAll, describe, expect, it } from 'vitest';
import { useLab, type Lab, type LabProcess } from './lab.js';
import { ask, requireBuilt, startHacloud, statusJson, TCP_FIXTURE, waitFor } from './hacloud.js';

const GUIDE = ['--peer-timeout', '5', '--keepalive', '2'];
const FAST = ['--peer-timeout', '800ms', '--keepalive', '100ms'];
const env = { PASSWORD: 'mysecret' };

/** Poll 10.0.0.1:8000 from the client until `name` answers; returns how long it took. */
async function waitForServer(lab: Lab, name: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  await waitFor(`${name} to answer on 10.0.0.1`, timeoutMs, async () =>
    (await ask(lab, 'client', '10.0.0.1', 8000, 300)) === name ? true : null, 20);
  return Date.now() - start;
}

async function serveName(lab: Lab, host: string): Promise<void> {
  const p = lab.spawn(host, process.execPath, [TCP_FIXTURE, 'name', '8000', host]);
  await p.waitForLine(/READY/, 5000);
}

describe('HA guide: two servers share 10.0.0.1', () => {
  const lab = useLab(['servera', 'serverb', 'client'], requireBuilt);
  const servers = new Map<string, LabProcess>();

  const startServer = async (host: string, other: string): Promise<void> => {
    const l = lab();
    servers.set(host, await startHacloud(l, host, ['--ip', '10.0.0.1', '-c', `${l.ip(other)}:3210`, ...GUIDE], { env }));
  };

  beforeAll(async () => {
    const l = lab();
    await Promise.all([serveName(l, 'servera'), serveName(l, 'serverb')]);
    await startServer('servera', 'serverb');
    await new Promise((r) => setTimeout(r, 300)); // servera has the longer uptime
    await startServer('serverb', 'servera');
    await startHacloud(l, 'client', ['--ip', '10.0.0.100', '-c', `${l.ip('servera')}:3210`, '-c', `${l.ip('serverb')}:3210`, ...GUIDE], { env });
  });

  it('serves the client from the server with the longest uptime', async () => {
    await waitForServer(lab(), 'servera', 10_000);
    for (let i = 0; i < 5; i++) expect(await ask(lab(), 'client', '10.0.0.1', 8000)).toBe('servera');
  });

  it('kill -9 of the active server moves the client to the other within the peer timeout', async () => {
    servers.get('servera')!.kill('SIGKILL');
    const ms = await waitForServer(lab(), 'serverb', 10_000);
    console.log(`failover after kill -9 with --peer-timeout 5 --keepalive 2: ${ms} ms`);
    expect(ms).toBeLessThan(5000 + 2000 + 1000); // peer-timeout + one keepalive + polling slack
  });

  it('a restarted server rejoins but does not take the address back', async () => {
    const l = lab();
    await startServer('servera', 'serverb');
    // Wait until the client knows both claimants of 10.0.0.1 again, then keep asking.
    await waitFor('client to see servera again', 15_000, async () => {
      const route = (await statusJson(l, 'client')).routes.find((x) => x.prefix === '10.0.0.1/32');
      return route && route.claimants.length === 2 ? true : null;
    }, 200);
    for (let i = 0; i < 10; i++) expect(await ask(l, 'client', '10.0.0.1', 8000)).toBe('serverb');
  });

  it('SIGTERM of the active server switches without waiting for the timeout', async () => {
    servers.get('serverb')!.kill('SIGTERM');
    const ms = await waitForServer(lab(), 'servera', 10_000);
    console.log(`switch after SIGTERM: ${ms} ms`);
    expect(ms).toBeLessThan(2000); // the peer timeout is 5 s: this did not wait for it
  });
});

describe('HA guide: active/passive with /32, /31 and /30 claims', () => {
  const lab = useLab(['primary', 'second', 'third', 'client'], requireBuilt);
  const procs = new Map<string, LabProcess>();

  beforeAll(async () => {
    const l = lab();
    await Promise.all(['primary', 'second', 'third'].map((h) => serveName(l, h)));
    const seeds = (self: string) => ['primary', 'second', 'third'].filter((h) => h !== self).flatMap((h) => ['-c', l.ip(h)]);
    // Oldest first: the standbys have the longest uptime, yet the most specific claim wins.
    procs.set('third', await startHacloud(l, 'third', ['--ip', '10.0.0.1', '--no-auto-claim', '--claim', '10.0.0.1/30', ...seeds('third'), ...FAST], { env }));
    procs.set('second', await startHacloud(l, 'second', ['--ip', '10.0.0.1', '--no-auto-claim', '--claim', '10.0.0.1/31', ...seeds('second'), ...FAST], { env }));
    procs.set('primary', await startHacloud(l, 'primary', ['--ip', '10.0.0.1', ...seeds('primary'), ...FAST], { env }));
    await startHacloud(l, 'client', ['--ip', '10.0.0.100', '-c', l.ip('primary'), ...FAST], { env });
  });

  it('routes to the most specific claim and falls back in order', async () => {
    const l = lab();
    await waitForServer(l, 'primary', 10_000); // the client learned the others by gossip
    procs.get('primary')!.kill('SIGKILL');
    await waitForServer(l, 'second', 5000);
    procs.get('second')!.kill('SIGKILL');
    await waitForServer(l, 'third', 5000);
  });
});
