// Interface settings are checked before iproute2 runs, so a bad value never leaves a
// half-configured device. (Running `ip` itself is covered by test/e2e/tun.test.ts.)
import { describe, expect, it } from 'vitest';
import { configureInterface } from '../../src/io/ifconfig.js';

describe('configureInterface validation', () => {
  it.each([
    [70000, [], 'invalid MTU 70000 for hc0: must be 68..65535'],
    [1400.5, [], 'invalid MTU 1400.5 for hc0: must be 68..65535'],
    [1400, [{ ip: '10.0.0.300', prefixLen: 24 }], "'10.0.0.300' is not an IP address"],
    [1400, [{ ip: '10.0.0.1', prefixLen: 33 }], 'invalid prefix length /33 for 10.0.0.1'],
    [1400, [{ ip: 'fd00::1', prefixLen: 129 }], 'invalid prefix length /129 for fd00::1'],
    [1200, [{ ip: 'fd00::1', prefixLen: 64 }], 'IPv6 address fd00::1 needs an MTU of at least 1280 on hc0 (MTU is 1200)'],
  ])('mtu %s with %j is refused: %s', async (mtu, addresses, message) => {
    await expect(configureInterface('hc0', mtu, addresses)).rejects.toThrow(message);
  });
});
