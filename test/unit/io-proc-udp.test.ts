// Kernel receive-buffer drops per port from /proc/net/udp{,6} (src/io/proc-udp.ts).
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { kernelReceiveDrops, udpDropsOnPort } from '../../src/io/proc-udp.js';

const UDP4 = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
  '  112: 00000000:0C8A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41230 2 0000000000000000 17         ',
  '  113: 0100007F:0C8B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41231 2 0000000000000000 999        ',
  '',
].join('\n');
const UDP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
  '  112: 00000000000000000000000000000000:0C8A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41232 2 0000000000000000 5',
].join('\n');

describe('kernel receive-buffer drops', () => {
  it('sums the drops column of the sockets on one port, IPv4 and IPv6', () => {
    expect(udpDropsOnPort(UDP4, 3210)).toBe(17);
    expect(udpDropsOnPort(UDP4, 3211)).toBe(999);
    expect(udpDropsOnPort(UDP6, 3210)).toBe(5);
    expect(udpDropsOnPort(UDP4, 4000)).toBeNull();
    expect(kernelReceiveDrops(3210, (f) => (f.endsWith('6') ? UDP6 : UDP4))).toBe(22);
  });

  it('gives null for text in another format or files it cannot read', () => {
    expect(udpDropsOnPort('garbage\n1 2 3', 3210)).toBeNull();
    expect(udpDropsOnPort('', 3210)).toBeNull();
    expect(kernelReceiveDrops(3210, () => { throw new Error('ENOENT'); })).toBeNull();
  });

  it('finds a socket this process bound, with no drops', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    try {
      expect(kernelReceiveDrops(s.address().port)).toBe(0);
    } finally {
      s.close();
    }
  });
});
