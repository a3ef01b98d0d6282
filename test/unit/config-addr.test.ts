// Address, prefix and endpoint parsing (src/wire/addr.ts), which every config value uses.
import { describe, expect, it } from 'vitest';
import {
  AddressError, formatAddress, formatEndpoint, formatPrefix, parseAddress, parseHostPort, parseIPv4,
  parseIPv6, parsePrefix, prefixContains, prefixEquals,
} from '../../src/wire/addr.js';

describe('IPv4', () => {
  it('parses dotted quads', () => {
    expect(Array.from(parseIPv4('10.0.0.1')!)).toEqual([10, 0, 0, 1]);
    expect(Array.from(parseIPv4('255.255.255.255')!)).toEqual([255, 255, 255, 255]);
  });
  it.each(['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', ' 1.2.3.4'])('refuses %j', (t) => {
    expect(parseIPv4(t)).toBeNull();
  });
});

describe('IPv6', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
  ])('parses %s and formats it as %s', (text, canonical) => {
    expect(formatAddress(parseIPv6(text)!)).toBe(canonical);
  });
  it.each([':::', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '1.2.3.4'])('refuses %j', (t) => {
    expect(parseIPv6(t)).toBeNull();
  });
  it('parseAddress takes either family', () => {
    expect(parseAddress('10.1.2.3')?.length).toBe(4);
    expect(parseAddress('2001:db8::')?.length).toBe(16);
    expect(parseAddress('example.com')).toBeNull();
  });
});

describe('prefixes', () => {
  it('clears host bits and keeps the length', () => {
    expect(formatPrefix(parsePrefix('10.0.0.77/24'))).toBe('10.0.0.0/24');
    expect(formatPrefix(parsePrefix('10.0.0.77/31'))).toBe('10.0.0.76/31');
    expect(formatPrefix(parsePrefix('2001:db8::1/32'))).toBe('2001:db8::/32');
  });
  it('treats a bare address as a host prefix unless a default length is given', () => {
    expect(parsePrefix('10.0.0.1').len).toBe(32);
    expect(parsePrefix('::1').len).toBe(128);
    expect(parsePrefix('10.0.0.1', 24).len).toBe(24);
  });
  it.each(['10.0.0.1/33', '10.0.0.1/', '10.0.0.1/x', '10.0.0.1/-1', 'host/24', '::/129', ''])('refuses %j', (t) => {
    expect(() => parsePrefix(t)).toThrow(AddressError);
  });
  it('contains and equals', () => {
    const p = parsePrefix('10.0.0.0/31');
    expect(prefixContains(p, parseAddress('10.0.0.1')!)).toBe(true);
    expect(prefixContains(p, parseAddress('10.0.0.2')!)).toBe(false);
    expect(prefixContains(p, parseAddress('::1')!)).toBe(false);
    expect(prefixContains(parsePrefix('0.0.0.0/0'), parseAddress('1.2.3.4')!)).toBe(true);
    expect(prefixEquals(parsePrefix('10.0.0.1/24'), parsePrefix('10.0.0.0/24'))).toBe(true);
    expect(prefixEquals(parsePrefix('10.0.0.0/24'), parsePrefix('10.0.0.0/25'))).toBe(false);
  });
});

describe('host:port', () => {
  it.each([
    ['3210', 1, { host: '', port: 3210 }],
    ['server-a', 3210, { host: 'server-a', port: 3210 }],
    ['server-a:4000', 3210, { host: 'server-a', port: 4000 }],
    ['10.0.0.1:0', 3210, { host: '10.0.0.1', port: 0 }],
    ['[2001:db8::1]:4000', 3210, { host: '2001:db8::1', port: 4000 }],
    ['[::1]', 3210, { host: '::1', port: 3210 }],
    ['2001:db8::1', 3210, { host: '2001:db8::1', port: 3210 }],
  ])('parses %j', (text, def, expected) => {
    expect(parseHostPort(text, def)).toEqual(expected);
  });
  it.each(['', 'a:99999', 'a:', 'a:b', '[::1', '[zz]:1', '[::1]x', 'bad host:1', '1:2:3'])('refuses %j', (t) => {
    expect(() => parseHostPort(t, 3210)).toThrow(AddressError);
  });
  it('formats endpoints canonically', () => {
    expect(formatEndpoint('::ffff:10.0.0.1', 3210)).toBe('10.0.0.1:3210');
    expect(formatEndpoint('2001:db8::1', 1)).toBe('[2001:db8::1]:1');
  });
});
