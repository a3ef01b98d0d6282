// The namespace lab itself: hosts reach each other over the underlay (IPv4 and IPv6), loss
// injection drops packets, and destroy() stops processes and removes every namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
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
