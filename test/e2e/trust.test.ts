// Members are authenticated, not trusted (issue 10), with real daemons in namespaces. Key
// mode, claim rights for two of three servers sharing 10.0.0.1: the third ("rogue", a trusted
// key with no right to 10.0.0.1) claims it and 0.0.0.0/1 and has the longest uptime. The
// client must never route 10.0.0.1 to it, install no 0.0.0.0/1 route, and show the denied
// claims; a datagram the rogue sends through the tunnel from an address it does not claim
// must never reach the client's applications (while one from its own address does).
import { beforeAll, describe, expect, it } from 'vitest';
import { ask, controlSocket, hacloudCli as cli, HACLOUD_BIN, requireBuilt, startHacloud, statusJson, TCP_FIXTURE, waitFor } from './hacloud.js';
import { useLab, type Lab, type LabProcess } from './lab.js';

const FAST = ['--keepalive', '100ms', '--peer-timeout', '800ms'];
const HOSTS = ['rogue', 'servera', 'serverb', 'client'] as const;
const DEV = 'trust0';
const SUBNET = '192.168.50.0/24'; // servera's right: a kernel route through the tunnel in the client

/** Send `count` UDP datagrams with `text` from `src` to dst:port inside `host`'s namespace. */
async function sendUdp(lab: Lab, host: string, src: string, dst: string, port: number, text: string, count = 5): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(0,'${src}',()=>{let n=0;` +
    `const t=setInterval(()=>{s.send('${text}',${port},'${dst}');if(++n===${count}){clearInterval(t);setTimeout(()=>s.close(),100)}},20)})`;
  await lab.exec(host, process.execPath, ['-e', script], { timeoutMs: 10_000 });
}

describe('trust: claim rights, route safety and source addresses end to end', () => {
  const lab = useLab([...HOSTS], requireBuilt);
  const keys = new Map<string, { priv: string; pub: string }>();
  let listener: LabProcess;

  beforeAll(async () => {
    const l = lab();
    for (const h of HOSTS) {
      const out = (await l.exec('client', process.execPath, [HACLOUD_BIN, 'genkey'])).stdout;
      keys.set(h, { priv: /private-key: (\S+)/.exec(out)![1]!, pub: /public-key: (\S+)/.exec(out)![1]! });
    }
    const pub = (h: string) => keys.get(h)!.pub;
    // The same rights on every node: the rogue may claim 10.0.0.3 only.
    const rights = [
      '--claim-right', `${pub('servera')}=10.0.0.1/32,${SUBNET}`,
      '--claim-right', `${pub('serverb')}=10.0.0.1/32`,
      '--claim-right', `${pub('client')}=10.0.0.100/32`,
      '--claim-right', `${pub('rogue')}=10.0.0.3/32`,
    ];
    const node = (h: string, ...args: string[]) => [
      '--device', DEV, '--private-key', keys.get(h)!.priv,
      ...HOSTS.filter((o) => o !== h).flatMap((o) => ['--trusted-key', pub(o)]),
      ...HOSTS.filter((o) => o !== h && o !== 'client').flatMap((o) => ['-c', l.ip(o)]),
      ...rights, ...FAST, ...args,
    ];
    for (const s of ['rogue', 'servera', 'serverb']) {
      await l.spawn(s, process.execPath, [TCP_FIXTURE, 'name', '8000', s]).waitForLine(/READY/, 5000);
    }
    // The rogue starts first: without rights its longest uptime would win 10.0.0.1.
    await startHacloud(l, 'rogue', node('rogue', '--ip', '10.0.0.1', '--claim', '10.0.0.3/32', '--claim', '0.0.0.0/1'));
    await new Promise((r) => setTimeout(r, 300));
    await startHacloud(l, 'servera', node('servera', '--ip', '10.0.0.1', '--claim', SUBNET));
    await startHacloud(l, 'serverb', node('serverb', '--ip', '10.0.0.1'));
    await startHacloud(l, 'client', node('client', '--ip', '10.0.0.100'));
    listener = l.spawn('client', process.execPath, ['-e',
      "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log('got '+r.address+' '+m));" +
      "s.bind(9200,'10.0.0.100',()=>console.log('READY'))"]);
    await listener.waitForLine(/READY/, 5000);
  });

  it('never routes 10.0.0.1 to the member without a right, and shows its denied claims', async () => {
    const l = lab();
    const ids = new Map<string, string>();
    for (const h of HOSTS) ids.set(h, (await statusJson(l, h)).node.id);
    const status = await waitFor('the client to know every server', 15_000, async () => {
      const s = await statusJson(l, 'client');
      const rogue = s.peers.find((p) => p.id === ids.get('rogue'));
      return s.peers.length === 3 && rogue && rogue.deniedClaims.length === 2 && s.routes.some((r) => r.prefix === SUBNET) ? s : null;
    });
    const shared = status.routes.find((r) => r.prefix === '10.0.0.1/32')!;
    expect(shared.claimants.map((c) => c.id).sort()).toEqual([ids.get('servera'), ids.get('serverb')].sort());
    expect(shared.active).toBe(ids.get('servera'));
    expect(status.routes.some((r) => r.prefix === '0.0.0.0/1')).toBe(false);
    const rogue = status.peers.find((p) => p.id === ids.get('rogue'))!;
    expect(rogue.claims).toEqual(['10.0.0.3/32']);
    expect(rogue.deniedClaims).toEqual(expect.arrayContaining([
      { prefix: '10.0.0.1/32', reason: 'no-right' },
      { prefix: '0.0.0.0/1', reason: 'outside-allowed-routes' },
    ]));
    expect(status.drops.byReason['claim-denied']).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await ask(l, 'client', '10.0.0.1', 8000)).toBe('servera');

    const routes = (await l.exec('client', 'ip', ['route', 'show'])).stdout;
    expect(routes).toContain(`${SUBNET} dev ${DEV}`); // an allowed claim does get its kernel route
    expect(routes).not.toMatch(/^0\.0\.0\.0\/1/m);
    const text = await cli(['status', '--control-socket', controlSocket(l, 'client')]);
    expect(text.stdout).toMatch(/DENIED CLAIMS \(2\)/);
    expect(text.stdout).toMatch(/0\.0\.0\.0\/1 +outside-allowed-routes/);
  });

  it('drops what a member sends from an address it does not claim (bad-source)', async () => {
    const l = lab();
    for (const addr of ['10.0.0.77/32', '10.0.0.3/32']) await l.exec('rogue', 'ip', ['addr', 'add', addr, 'dev', DEV]);
    await sendUdp(l, 'rogue', '10.0.0.77', '10.0.0.100', 9200, 'spoofed');
    await sendUdp(l, 'rogue', '10.0.0.3', '10.0.0.100', 9200, 'honest');
    await listener.waitForLine(/got 10\.0\.0\.3 honest/, 10_000); // the path works for its own address
    expect(listener.tail(100)).not.toMatch(/spoofed/);
    const s = await statusJson(l, 'client');
    expect(s.drops.byReason['bad-source']).toBeGreaterThanOrEqual(5);
  });
});
