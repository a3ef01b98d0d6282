// Both UDP transports on loopback (127.0.0.1 only), the node:dgram one and the native one
// (recvmmsg/sendmmsg, with and without GSO/GRO): datagrams both ways with canonical endpoints,
// a closed destination port never crashes, bad input is reported, not thrown.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { openUdpTransport, type UdpOptions } from '../../src/io/udp.js';
import { openNativeUdpTransport } from '../../src/io/udp-native.js';

type AnyTransport = Awaited<ReturnType<typeof openUdpTransport>> | Awaited<ReturnType<typeof openNativeUdpTransport>>;
const IMPLS: [string, (o: UdpOptions) => Promise<AnyTransport>][] = [
  ['dgram', openUdpTransport],
  ['native', openNativeUdpTransport],
  ['native without offloads', (o) => openNativeUdpTransport({ ...o, offload: false })],
];

const opened: AnyTransport[] = [];

function nextDatagram(t: AnyTransport): Promise<{ from: string; data: Uint8Array }> {
  return new Promise((resolve) => t.onDatagram((from, data) => resolve({ from, data })));
}

/** A port that was just free: bind a socket, note its port, close it. */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

describe.each(IMPLS)('UDP transport (%s)', (_name, openTransport) => {
  async function open(errors?: Error[]): Promise<AnyTransport> {
    const t = await openTransport({ listen: '127.0.0.1:0', onError: (e) => errors?.push(e) });
    opened.push(t);
    return t;
  }

  it('exchanges datagrams and names senders by canonical endpoint', async () => {
    const a = await open();
    const b = await open();
    expect(a.localAddress).toBe(`127.0.0.1:${a.localPort}`);

    const atB = nextDatagram(b);
    a.send(`127.0.0.1:${b.localPort}`, new Uint8Array([1, 2, 3]));
    const got = await atB;
    expect(got.from).toBe(`127.0.0.1:${a.localPort}`);
    expect([...got.data]).toEqual([1, 2, 3]);

    const atA = nextDatagram(a);
    b.send(got.from, new Uint8Array([4]));
    expect([...(await atA).data]).toEqual([4]);
  });

  it('sends a copy, so the caller may reuse its buffer at once', async () => {
    const a = await open();
    const b = await open();
    const received: number[] = [];
    const all = new Promise<void>((resolve) =>
      b.onDatagram((_from, data) => {
        received.push(data[0]!);
        if (received.length === 3) resolve();
      }),
    );
    const shared = new Uint8Array(1);
    for (const v of [7, 8, 9]) {
      shared[0] = v;
      a.send(`127.0.0.1:${b.localPort}`, shared);
    }
    await all;
    expect(received.sort()).toEqual([7, 8, 9]);
  });

  it('survives sending to a closed port and keeps working', async () => {
    const errors: Error[] = [];
    const a = await open(errors);
    const b = await open();
    const dead = await closedPort();
    for (let i = 0; i < 5; i++) a.send(`127.0.0.1:${dead}`, new Uint8Array([i]));
    await new Promise((r) => setTimeout(r, 50)); // let any ICMP error come back
    const atB = nextDatagram(b);
    a.send(`127.0.0.1:${b.localPort}`, new Uint8Array([42]));
    expect([...(await atB).data]).toEqual([42]);
    for (const e of errors) expect(e.message).not.toContain('\n');
  });

  it('reports unusable endpoints through onError instead of throwing', async () => {
    const errors: Error[] = [];
    const a = await open(errors);
    a.send('not-an-endpoint', new Uint8Array([1]));
    a.send('example.com:3210', new Uint8Array([1])); // names must be resolved before send
    a.send('[2001:db8::1]:3210', new Uint8Array([1])); // IPv6 from an IPv4-only socket
    expect(errors.map((e) => e.message)).toEqual([
      "cannot send to 'not-an-endpoint': not an endpoint this socket can reach",
      "cannot send to 'example.com:3210': not an endpoint this socket can reach",
      "cannot send to '[2001:db8::1]:3210': not an endpoint this socket can reach",
    ]);
    expect(a.errors).toBe(3);
  });

  it('calls batchEnd after the datagrams of each wake-up, also when the handler threw', async () => {
    const a = await open([]);
    const b = await open();
    const events: string[] = [];
    a.onDatagram((_from, data) => {
      events.push(`d${data[0]}`);
      if (data[0] === 2) throw new Error('bug in the core');
    }, () => events.push('end'));
    for (const n of [1, 2, 3]) b.send(`127.0.0.1:${a.localPort}`, new Uint8Array([n]));
    b.flush();
    await expect.poll(() => events.filter((e) => e.startsWith('d')).length).toBe(3);
    expect(events.filter((e) => e.startsWith('d'))).toEqual(['d1', 'd2', 'd3']);
    expect(events.at(-1)).toBe('end');
    // every batch is closed before the next one starts
    expect(events.join(' ')).toMatch(/^(d\d( d\d)* end ?)+$/);
  });

  it('contains a throwing datagram handler', async () => {
    const errors: Error[] = [];
    const a = await open(errors);
    const b = await open();
    a.onDatagram(() => {
      throw new Error('bug in the core');
    });
    b.send(`127.0.0.1:${a.localPort}`, new Uint8Array([1]));
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]!.message).toBe('datagram handler failed for 127.0.0.1: bug in the core');
  });

  it('refuses a port in use and invalid listen addresses with one-line errors', async () => {
    const a = await open();
    await expect(openTransport({ listen: `127.0.0.1:${a.localPort}` })).rejects.toThrow(
      `cannot listen on UDP 127.0.0.1:${a.localPort}: address already in use`,
    );
    await expect(openTransport({ listen: '127.0.0.1:99999' })).rejects.toThrow(
      "invalid listen address: '127.0.0.1:99999' has an invalid port",
    );
    await expect(openTransport({ listen: 'localhost:3210' })).rejects.toThrow(
      "invalid listen address: 'localhost:3210': the host must be an IP address",
    );
  });

  it('closes idempotently', async () => {
    const a = await open();
    await a.close();
    await a.close();
    a.send('127.0.0.1:9', new Uint8Array([1])); // after close: silently nothing
  });
});
