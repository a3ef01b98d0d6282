// The namespace lab itself: hosts reach each other over the underlay (IPv4 and IPv6), loss
// injection drops packets, destroy() stops processes and removes every namespace, and a site
// LAN sits behind a router that masquerades it and lets nothing in unsolicited; two hosts
// behind cone NATs punch a UDP hole to each other, a symmetric NAT maps each destination to
// its own port, and blockUdp cuts UDP between two hosts until unblockUdp.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ask, TCP_FIXTURE } from './hacloud.js';
import { blockUdp, createLab, LabError, sweepStaleLabs, unblockUdp, useLab, type Lab } from './lab.js';

async function labNamespaces(lab: Lab): Promise<string[]> {
  const { stdout } = await lab.exec('a', 'ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`hc${lab.id}-`));
}

describe('network namespace lab', () => {
  const lab = useLab(['a', 'b']);

  it('connects the hosts over the underlay, IPv4 and IPv6', async () => {
    const l = lab();
    expect(l.ip('a')).not.toBe(l.ip('b'));
    const v4 = await l.exec('a', 'ping', ['-c', '1', '-W', '2', l.ip('b')]);
    expect(v4.stdout).toContain('1 received');
    const v6 = await l.exec('b', 'ping', ['-6', '-c', '1', '-W', '2', l.ip6('a')]);
    expect(v6.stdout).toContain('1 received');
  });

  it('drops packets with addLoss and restores them with clearLoss', async () => {
    const l = lab();
    await l.addLoss('b', 100);
    const lost = await l.exec('a', 'ping', ['-c', '2', '-i', '0.2', '-W', '1', l.ip('b')], { check: false });
    expect(lost.code).not.toBe(0);
    expect(lost.stdout).toContain('0 received');
    await l.clearLoss('b');
    const ok = await l.exec('a', 'ping', ['-c', '1', '-W', '2', l.ip('b')]);
    expect(ok.stdout).toContain('1 received');
  });

  it('reports a failing command in one line with its exit code', async () => {
    await expect(lab().exec('a', 'ip', ['link', 'show', 'nosuchdev'])).rejects.toThrow(
      /^\[a\] ip link show nosuchdev failed \(exit 1\): .*nosuchdev/,
    );
  });

  it('rejects invalid and duplicate host names before creating anything', async () => {
    await expect(createLab({ hosts: ['Bad_Name'] })).rejects.toThrow(LabError);
    await expect(createLab({ hosts: ['x', 'x'] })).rejects.toThrow(/duplicate/);
    await expect(createLab({ hosts: ['r'], lans: [{ router: 'r', hosts: ['r'] }] })).rejects.toThrow(/duplicate/);
    await expect(createLab({ hosts: ['r'], lans: [{ router: 'nope', hosts: ['x'] }] })).rejects.toThrow(/must be one of the main hosts/);
  });

  it('destroy() stops spawned processes by PID and removes every namespace, twice safely', async () => {
    const own = await createLab({ hosts: ['a'] });
    try {
      const sleeper = own.spawn('a', 'sleep', ['60']);
      const ignorer = own.spawn('a', 'sh', ['-c', 'trap "" TERM; echo armed; sleep 60']);
      await ignorer.waitForLine(/armed/, 5000);
      expect(await labNamespaces(own)).toHaveLength(2); // bridge + a
      await own.destroy();
      expect(sleeper.exitStatus?.signal).toBe('SIGTERM');
      expect(ignorer.running).toBe(false); // SIGKILLed after the grace period
      await own.destroy();
      const { stdout } = await lab().exec('a', 'ip', ['netns', 'list']);
      expect(stdout).not.toContain(`hc${own.id}-`);
    } finally {
      await own.destroy();
    }
  });

  it('sweeps namespaces left behind by dead runs, never those of live processes', async () => {
    const deadPid = spawnSync('true').pid!; // exited by now
    const stale = `hc${deadPid.toString(36)}zz-a`;
    const live = `hc${process.pid.toString(36)}zz-a`;
    execFileSync('ip', ['netns', 'add', stale]);
    execFileSync('ip', ['netns', 'add', live]);
    try {
      expect(await sweepStaleLabs()).toContain(stale);
      const { stdout } = await lab().exec('a', 'ip', ['netns', 'list']);
      expect(stdout).not.toMatch(new RegExp(`^${stale}\\b`, 'm'));
      expect(stdout).toMatch(new RegExp(`^${live}\\b`, 'm'));
    } finally {
      spawnSync('ip', ['netns', 'del', stale]);
      spawnSync('ip', ['netns', 'del', live]);
    }
  });
});

describe('site LAN behind a masquerading router', () => {
  const lab = useLab({ hosts: ['public', 'router'], lans: [{ router: 'router', hosts: ['inside'] }] });

  /** A TCP server in `host` that answers each connection with the source address it sees. */
  async function serveSourceAddress(l: Lab, host: string, port: number): Promise<void> {
    const js = `require('net').createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress + '\\n'); })` +
      `.listen(${port}, '0.0.0.0', () => console.log('READY'))`;
    await l.spawn(host, process.execPath, ['-e', js]).waitForLine(/READY/, 5000);
  }

  it('lets a LAN host dial out, seen from outside as the router', async () => {
    const l = lab();
    expect(l.host('inside').lan).toBe('router');
    expect(() => l.ip6('inside')).toThrow(/no IPv6/);
    await serveSourceAddress(l, 'public', 7000);
    expect(await ask(l, 'inside', l.ip('public'), 7000)).toBe(l.ip('router'));
  });

  it('drops unsolicited inbound, even from a host that routes the LAN to the router', async () => {
    const l = lab();
    const inside = l.ip('inside');
    await l.spawn('inside', process.execPath, [TCP_FIXTURE, 'name', '7001', 'inside']).waitForLine(/READY/, 5000);
    await l.exec('public', 'ip', ['route', 'add', `${inside.replace(/\.\d+$/, '.0')}/24`, 'via', l.ip('router')]);
    expect(await ask(l, 'public', inside, 7001, 500)).toBeNull();
    // The service is up and reachable on the LAN itself: only the router keeps it out.
    expect(await ask(l, 'router', inside, 7001)).toBe('inside');
  });
});

const UDP_PUNCH = new URL('./fixtures/udp-punch.mjs', import.meta.url).pathname;

describe('NAT behaviour of the site routers, and blocking UDP between hosts', () => {
  const lab = useLab({
    hosts: ['pub', 'ra', 'rc', 'rs'],
    lans: [{ router: 'ra', hosts: ['a'] }, { router: 'rc', hosts: ['c'] }, { router: 'rs', hosts: ['s'], nat: 'symmetric' }],
  });

  /** `udp-punch.mjs send` in host; resolves with the sources and texts it got ("ADDR:PORT TEXT"). */
  async function send(l: Lab, host: string, port: number, ms: number, dests: string[]): Promise<string[]> {
    const r = await l.exec(host, process.execPath, [UDP_PUNCH, 'send', String(port), String(ms), ...dests], { timeoutMs: ms + 10_000 });
    return r.stdout.split('\n').filter((x) => x.startsWith('got ')).map((x) => x.slice(4));
  }

  /** Both LAN hosts send to each other's router at `port`, c starting 300 ms after a (a punch). */
  async function punch(l: Lab, port: number): Promise<{ a: string[]; c: string[] }> {
    const [a, c] = await Promise.all([
      send(l, 'a', port, 1500, [`${l.ip('rc')}:${port}`]),
      new Promise((r) => setTimeout(r, 300)).then(() => send(l, 'c', port, 1200, [`${l.ip('ra')}:${port}`])),
    ]);
    return { a, c };
  }

  it('maps a cone LAN host to one port for every destination, a symmetric one to a port per destination', async () => {
    const l = lab();
    await l.spawn('pub', process.execPath, [UDP_PUNCH, 'echo', '7001', '7002']).waitForLine(/READY/, 5000);
    const dests = [`${l.ip('pub')}:7001`, `${l.ip('pub')}:7002`];
    const cone = await send(l, 'a', 4000, 300, dests);
    expect(cone.sort()).toEqual([`${dests[0]} seen ${l.ip('ra')}:4000`, `${dests[1]} seen ${l.ip('ra')}:4000`]);
    const symmetric = await send(l, 's', 4000, 300, dests);
    const ports = symmetric.map((x) => /seen (\S+):(\d+)$/.exec(x)).map((m) => [m?.[1], Number(m?.[2])] as const);
    expect(ports.map(([ip]) => ip)).toEqual([l.ip('rs'), l.ip('rs')]);
    expect(ports[0]![1]).not.toBe(ports[1]![1]);
  });

  it('lets two hosts behind cone NATs punch a hole to each other', async () => {
    const l = lab();
    const { a, c } = await punch(l, 3210);
    expect(a).toContain(`${l.ip('rc')}:3210 hello`);
    expect(c).toContain(`${l.ip('ra')}:3210 hello`);
  });

  it('drops UDP between two hosts with blockUdp, nothing else, until unblockUdp', async () => {
    const l = lab();
    await l.spawn('pub', process.execPath, [UDP_PUNCH, 'echo', '7003']).waitForLine(/READY/, 5000);
    await blockUdp(l, 'ra', 'rc');
    try {
      expect(await punch(l, 3211)).toEqual({ a: [], c: [] });
      expect(await send(l, 'a', 3212, 300, [`${l.ip('pub')}:7003`])).toEqual([`${l.ip('pub')}:7003 seen ${l.ip('ra')}:3212`]);
      expect(await send(l, 'c', 3212, 300, [`${l.ip('pub')}:7003`])).toEqual([`${l.ip('pub')}:7003 seen ${l.ip('rc')}:3212`]);
    } finally {
      await unblockUdp(l, 'ra', 'rc');
    }
    await unblockUdp(l, 'ra', 'rc'); // twice is harmless
    const { a, c } = await punch(l, 3211);
    expect(a).toContain(`${l.ip('rc')}:3211 hello`);
    expect(c).toContain(`${l.ip('ra')}:3211 hello`);
  });
});
