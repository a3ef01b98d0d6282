import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/wire/addr.js';
import { IpError, IpHeader, describeIpError } from '../../src/wire/ip.js';

function v4(src: string, dst: string, opts: { ihl?: number; total?: number; extra?: number; protocol?: number } = {}): Uint8Array {
  const ihl = opts.ihl ?? 5;
  const payload = 8;
  const len = ihl * 4 + payload + (opts.extra ?? 0);
  const p = new Uint8Array(Math.max(len, 1));
  p[0] = 0x40 | ihl;
  const total = opts.total ?? ihl * 4 + payload;
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[9] = opts.protocol ?? 17;
  if (ihl >= 5) {
    p.set(parseAddress(src)!, 12);
    p.set(parseAddress(dst)!, 16);
  }
  return p;
}

function v6(src: string, dst: string, payloadLen = 4, actualPayload = payloadLen): Uint8Array {
  const p = new Uint8Array(40 + actualPayload);
  p[0] = 0x60;
  p[4] = payloadLen >> 8;
  p[5] = payloadLen & 0xff;
  p[6] = 58;
  p.set(parseAddress(src)!, 8);
  p.set(parseAddress(dst)!, 24);
  return p;
}

describe('IpHeader', () => {
  it('parses IPv4 addresses, protocol and length', () => {
    const h = new IpHeader();
    expect(h.parse(v4('10.0.0.100', '10.0.0.1', { protocol: 6 }))).toBe(IpError.Ok);
    expect(h.version).toBe(4);
    expect([...h.src]).toEqual([10, 0, 0, 100]);
    expect([...h.dst]).toEqual([10, 0, 0, 1]);
    expect(h.protocol).toBe(6);
    expect(h.totalLength).toBe(28);
  });

  it('parses IPv6 addresses', () => {
    const h = new IpHeader();
    expect(h.parse(v6('fd00::1', 'fd00::2:3'))).toBe(IpError.Ok);
    expect(h.version).toBe(6);
    expect([...h.dst]).toEqual([...parseAddress('fd00::2:3')!]);
    expect([...h.src]).toEqual([...parseAddress('fd00::1')!]);
    expect(h.protocol).toBe(58);
    expect(h.totalLength).toBe(44);
  });

  it('reuses its scratch arrays (no allocation per packet)', () => {
    const h = new IpHeader();
    h.parseDst(v4('1.1.1.1', '2.2.2.2'));
    const dst4 = h.dst;
    h.parseDst(v6('::1', '::2'));
    const dst6 = h.dst;
    h.parseDst(v4('1.1.1.1', '3.3.3.3'));
    expect(h.dst).toBe(dst4);
    expect([...h.dst]).toEqual([3, 3, 3, 3]);
    h.parseDst(v6('::1', '::5'));
    expect(h.dst).toBe(dst6);
  });

  it('accepts IPv4 options and trailing padding', () => {
    const h = new IpHeader();
    expect(h.parse(v4('1.2.3.4', '5.6.7.8', { ihl: 6 }))).toBe(IpError.Ok);
    expect([...h.dst]).toEqual([5, 6, 7, 8]);
    expect(h.parse(v4('1.2.3.4', '5.6.7.8', { extra: 10 }))).toBe(IpError.Ok);
    expect(h.totalLength).toBe(28);
  });

  it.each([
    ['empty', new Uint8Array(0), IpError.TooShort],
    ['short IPv4', v4('1.1.1.1', '2.2.2.2').subarray(0, 19), IpError.TooShort],
    ['short IPv6', v6('::1', '::2').subarray(0, 39), IpError.TooShort],
    ['version 5', Uint8Array.from([0x55, ...new Array<number>(40).fill(0)]), IpError.BadVersion],
    ['version 0', new Uint8Array(60), IpError.BadVersion],
    ['IHL 4', v4('1.1.1.1', '2.2.2.2', { ihl: 4 }), IpError.BadHeaderLength],
    ['IHL past the end', v4('1.1.1.1', '2.2.2.2', { ihl: 15 }).subarray(0, 40), IpError.BadHeaderLength],
    ['total length past the end', v4('1.1.1.1', '2.2.2.2', { total: 29 }), IpError.BadTotalLength],
    ['total length inside the header', v4('1.1.1.1', '2.2.2.2', { total: 19 }), IpError.BadTotalLength],
    ['IPv6 payload length past the end', v6('::1', '::2', 10, 4), IpError.BadTotalLength],
  ])('rejects %s', (_name, packet, err) => {
    const h = new IpHeader();
    expect(h.parse(packet)).toBe(err);
    expect(h.parseDst(packet)).toBe(err);
    expect(describeIpError(err)).not.toBe('ok');
  });
});
