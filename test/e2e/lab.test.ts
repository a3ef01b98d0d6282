// The namespace lab itself: hosts reach each other over the underlay (IPv4 and IPv6), loss
// injection drops packets, destroy() stops processes and removes every namespace, and a site
// LAN sits behind a router that masquerades it and lets nothing in unsolicited.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ask, TCP_FIXTURE } from './hacloud.js';
import { createLab, LabError, sweepStaleLabs, useLab, type Lab } from './lab.js';

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
