// The dual-stack UDP transport between two lab hosts: one socket serves IPv4 and IPv6 peers,
// IPv4 senders appear as plain "a.b.c.d:port" (never ::ffff:), and ICMP port-unreachable
// answers to earlier datagrams do not disturb it. Both implementations: node:dgram and native.
import { describe, expect, it } from 'vitest';
import { builtFile, useLab } from './lab.js';
import { fixtureEvent } from './fixture-event.js';

const FIXTURE = new URL('./fixtures/udp-fixture.mjs', import.meta.url).pathname;

describe('UDP transport between namespaces', () => {
  const lab = useLab(['a', 'b'], () => builtFile('dist/src/io/udp.js'), () => builtFile('dist/src/io/udp-native.js'));

  it.each([['dgram', 4000], ['native', 4200]])('serves IPv4 and IPv6 peers on one socket with canonical endpoints (%s)', async (impl, port) => {
    const l = lab();
    const env = { UDP_IMPL: impl };
    const server = l.spawn('a', process.execPath, [FIXTURE, 'server', String(port)], { env });
    expect(fixtureEvent(await server.waitForLine(/^READY /, 10_000)).localAddress).toBe(`[::]:${port}`);

    const v4 = `${l.ip('a')}:${port}`;
    const v6 = `[${l.ip6('a')}]:${port}`;
    const client = l.spawn('b', process.execPath, [FIXTURE, 'client', String(port + 100), String(port + 999), v4, v6], { env });
    const result = fixtureEvent(await client.waitForLine(/^RESULT /, 10_000));
    expect(result.replies).toEqual(
      expect.arrayContaining([
        { from: v4, seen: `${l.ip('b')}:${port + 100}` },
        { from: v6, seen: `[${l.ip6('b')}]:${port + 100}` },
      ]),
    );
    expect(result.replies).toHaveLength(2);
    expect((await client.waitForExit(2000)).code).toBe(0);
    expect(server.running).toBe(true); // nothing the client did crashed the server
  });
});
