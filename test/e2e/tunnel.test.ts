// The foundation: two real hacloud processes in two namespaces carry IP packets between their
// TUN devices over UDP — ping both ways and a 1 MB TCP transfer arriving intact.
import { beforeAll, describe, expect, it } from 'vitest';
import { useLab } from './lab.js';
import { requireBuilt, startHacloud, TCP_FIXTURE, waitFor } from './hacloud.js';

describe('two-node tunnel', () => {
  const lab = useLab(['a', 'b'], requireBuilt);

  beforeAll(async () => {
    const l = lab();
    await Promise.all([
      startHacloud(l, 'a', ['--ip', '10.0.0.1', '-c', `${l.ip('b')}:3210`, '--password', 'foundation']),
      startHacloud(l, 'b', ['--ip', '10.0.0.2', '-c', `${l.ip('a')}:3210`, '--password', 'foundation']),
    ]);
  });

  it('pings across the tunnel both ways', async () => {
    const l = lab();
    // The first ping may race the handshake; after that every echo must come back.
    await waitFor('first ping', 10_000, async () =>
      (await l.exec('a', 'ping', ['-c', '1', '-W', '1', '10.0.0.2'], { check: false })).code === 0 ? true : null);
    const ab = await l.exec('a', 'ping', ['-c', '5', '-i', '0.2', '-W', '2', '10.0.0.2']);
    expect(ab.stdout).toContain('5 received');
    const ba = await l.exec('b', 'ping', ['-c', '5', '-i', '0.2', '-W', '2', '10.0.0.1']);
    expect(ba.stdout).toContain('5 received');
  });

  it('carries a 1 MB TCP transfer intact', async () => {
    const l = lab();
    const sink = l.spawn('b', process.execPath, [TCP_FIXTURE, 'sink', '9000']);
    await sink.waitForLine(/READY/, 5000);
    const r = await l.exec('a', process.execPath, [TCP_FIXTURE, 'send', '10.0.0.2', '9000', String(1024 * 1024)]);
    const sent = /^sent ([0-9a-f]{64}) (\d+)$/m.exec(r.stdout);
    const got = /^sha256 ([0-9a-f]{64}) (\d+)$/m.exec(r.stdout);
    expect(sent, r.stdout).not.toBeNull();
    expect(got, r.stdout).not.toBeNull();
    expect(got![2]).toBe(String(1024 * 1024));
    expect(got![1]).toBe(sent![1]);
  });

  it('refuses a second node on the same device name with a one-line error', async () => {
    const l = lab();
    const r = await l.exec('a', process.execPath, [
      `${process.cwd()}/bin/hacloud.js`, '--ip', '10.0.0.9', '-d', 'hacloud0', '--listen', '3299', '--password', 'x',
      '--control-socket', `/run/hacloud-test/${l.id}-dup.sock`,
    ], { check: false, timeoutMs: 15_000 });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n').filter((s) => s.startsWith('hacloud:'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/cannot create TUN device hacloud0/);
  });
});
