// The native TUN addon in a real namespace: configuration through iproute2, ICMP echo requests
// read through the poller and replies written back (ping succeeds), batched reads bounded by
// maxBatch without truncation, clean exit after close, and loud errors.
import { describe, expect, it } from 'vitest';
import { useLab } from './lab.js';
import { requireBuilt } from './hacloud.js';
import { fixtureEvent } from './fixture-event.js';

const FIXTURE = new URL('./fixtures/tun-fixture.mjs', import.meta.url).pathname;

describe('native TUN device', () => {
  const lab = useLab(['a'], requireBuilt);

  it('configures the device, reads echo requests and writes replies that ping accepts', async () => {
    const l = lab();
    const tun = l.spawn('a', process.execPath, [FIXTURE, 'echo', 'hct%d']);
    const ready = fixtureEvent(await tun.waitForLine(/^READY /, 10_000));
    expect(ready.name).toBe('hct0'); // the kernel filled in the template

    const link = await l.exec('a', 'ip', ['addr', 'show', 'dev', 'hct0']);
    expect(link.stdout).toMatch(/mtu 1400/);
    expect(link.stdout).toMatch(/[<,]UP[,>]/);
    expect(link.stdout).toContain('inet 10.77.0.1/24');
    expect(link.stdout).toContain('inet6 fd77::1/64');

    const ping = await l.exec('a', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.77.0.2']);
    expect(ping.stdout).toContain('3 received');
    const ping6 = await l.exec('a', 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', 'fd77::2']);
    expect(ping6.stdout).toContain('2 received');

    const echoes = tun.lines.filter((s) => s.startsWith('ECHO ')).map(fixtureEvent);
    const v4 = echoes.filter((e) => e.family === 4);
    expect(v4.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const e of v4) expect(e).toMatchObject({ src: '10.77.0.1', dst: '10.77.0.2', written: true });
    const v6 = echoes.filter((e) => e.family === 6);
    expect(v6).toHaveLength(2);
    for (const e of v6) expect(e).toMatchObject({ src: 'fd77:0:0:0:0:0:0:1', dst: 'fd77:0:0:0:0:0:0:2' });

    // SIGTERM only closes the device; the poller must then stop keeping the process alive.
    tun.kill('SIGTERM');
    const status = await tun.waitForExit(2000);
    expect(status).toEqual({ code: 0, signal: null });
    expect(tun.lines.some((s) => s.startsWith('CLOSED '))).toBe(true);
    const gone = await l.exec('a', 'ip', ['link', 'show', 'hct0'], { check: false });
    expect(gone.code).not.toBe(0); // a non-persistent TUN disappears with its fd
  });

  it('hands queued packets over in bounded batches, each intact up to the MTU', async () => {
    const tun = lab().spawn('a', process.execPath, [FIXTURE, 'burst', 'hcb0', '300', '32']);
    const result = fixtureEvent(await tun.waitForLine(/^BURST /, 10_000));
    expect(result.received).toBe(300);
    expect(result.bad).toBe(0);
    expect(result.largestBatch).toBeLessThanOrEqual(32);
    expect(result.batches as number).toBeGreaterThan(1);
    expect(result.batches as number).toBeLessThan(300); // several packets per wake-up
    expect((await tun.waitForExit(2000)).code).toBe(0);
  });

  it('reports a deleted device through onError instead of stopping silently', async () => {
    const l = lab();
    const tun = l.spawn('a', process.execPath, [FIXTURE, 'echo', 'hcdel']);
    await tun.waitForLine(/^READY /, 10_000);
    await l.exec('a', 'ip', ['link', 'del', 'hcdel']);
    const err = fixtureEvent(await tun.waitForLine(/^DEVICE-ERROR /, 5000));
    expect(err.message).toMatch(/^TUN device hcdel stopped reading: .*\(EBADFD\)$/);
    expect((await tun.waitForExit(2000)).code).toBe(3);
  });

  it('explains a missing CAP_NET_ADMIN in one line', async () => {
    const tun = lab().spawn('a', process.execPath, [FIXTURE, 'eperm', 'hcperm0']);
    const err = fixtureEvent(await tun.waitForLine(/^OPEN-ERROR /, 10_000));
    expect(err.message).toBe(
      'cannot create TUN device hcperm0: operation not permitted — run as root or grant CAP_NET_ADMIN',
    );
  });

  it('removes the device again when iproute2 configuration fails, with a one-line error', async () => {
    const l = lab();
    const tun = l.spawn('a', process.execPath, [FIXTURE, 'dupaddr', 'hcdup0']);
    const err = fixtureEvent(await tun.waitForLine(/^OPEN-ERROR /, 10_000));
    expect(err.message).toMatch(
      /^cannot configure TUN device hcdup0: ip addr add 10\.77\.0\.1\/24 dev hcdup0 failed: .*(File exists|already assigned).*$/,
    );
    await tun.waitForExit(2000);
    expect((await l.exec('a', 'ip', ['link', 'show', 'hcdup0'], { check: false })).code).not.toBe(0);
  });
});
