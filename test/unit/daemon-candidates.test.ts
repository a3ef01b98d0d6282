// Host candidates from the interface list (src/daemon/candidates.ts): what a node announces as
// its own LAN addresses must never include loopback, link-local, its TUN or the overlay.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostCandidates, withListenPort } from '../../src/daemon/candidates.js';
import { parsePrefix } from '../../src/wire/addr.js';

function iface(address: string, extra: Partial<NetworkInterfaceInfo> = {}): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return {
    address, netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.0', family: v6 ? 'IPv6' : 'IPv4', mac: '02:00:00:00:00:01',
    internal: false, cidr: null, ...(v6 ? { scopeid: 0 } : {}), ...extra,
  } as NetworkInterfaceInfo;
}

const INTERFACES = {
  lo: [iface('127.0.0.1', { internal: true }), iface('::1', { internal: true })],
  eth0: [iface('192.168.1.20'), iface('2001:db8::20'), iface('fe80::1')],
  wlan0: [iface('169.254.3.4'), iface('172.16.5.9')],
  hacloud0: [iface('10.0.0.1')],
  docker0: [iface('10.0.5.1')],
};

describe('hostCandidates', () => {
  const opts = { listenHost: '', port: 3210, tunDevice: 'hacloud0', overlay: [parsePrefix('10.0.0.0/24')] };

  it('lists every usable interface address with our port, without loopback, link-local, the TUN or the overlay', () => {
    expect(hostCandidates(INTERFACES, opts)).toEqual([
      '192.168.1.20:3210', '[2001:db8::20]:3210', '172.16.5.9:3210', '10.0.5.1:3210',
    ]);
  });

  it('keeps to the family or the one address we listen on', () => {
    expect(hostCandidates(INTERFACES, { ...opts, listenHost: '0.0.0.0' })).toEqual(['192.168.1.20:3210', '172.16.5.9:3210', '10.0.5.1:3210']);
    expect(hostCandidates(INTERFACES, { ...opts, listenHost: '172.16.5.9' })).toEqual(['172.16.5.9:3210']);
  });

  it('gives advertised addresses without a port the listen port', () => {
    expect(withListenPort([{ host: 'gw.example.net', port: 0 }, { host: '198.51.100.7', port: 4000 }], 3211))
      .toEqual([{ host: 'gw.example.net', port: 3211 }, { host: '198.51.100.7', port: 4000 }]);
  });
});
