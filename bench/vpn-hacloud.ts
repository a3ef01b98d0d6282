// hacloud itself: `bin/hacloud.js` from this checkout, one node per end, password mode.
import { join } from 'node:path';
import { REPO_ROOT, type Lab } from '../src/lab/netns.js';
import { overlayPair, type Tunnel, type Vpn } from './vpn.js';

export const HACLOUD_BIN = join(REPO_ROOT, 'bin', 'hacloud.js');
export const HACLOUD_PORT = 3210;
const DEVICE = 'hacloud0';

export type Algorithm = 'plain' | 'aes256-gcm' | 'chacha20-poly1305';

/**
 * Arguments every benchmark node gets; the control socket and the identity file (next to it)
 * are private to the run's temp dir, so nodes never share an identity.
 */
export function hacloudArgs(opts: { ip: string; peers: string[]; controlSocket: string; extra?: string[] }): string[] {
  return [
    HACLOUD_BIN, '--ip', opts.ip, '--password', 'benchpw', '-d', DEVICE, '--control-socket', opts.controlSocket,
    '--identity-file', opts.controlSocket.replace(/\.sock$/, '') + '.key',
    ...opts.peers.flatMap((p) => ['-c', `${p}:${HACLOUD_PORT}`]), ...(opts.extra ?? []),
  ];
}

export function hacloudVpn(algorithm: Algorithm): Vpn {
  return {
    name: `hacloud ${algorithm}`,
    async start(lab: Lab, dir: string): Promise<Tunnel> {
      const overlay = overlayPair('10.99.0');
      const procs = (['a', 'b'] as const).map((h) => {
        const other = h === 'a' ? 'b' : 'a';
        const args = hacloudArgs({
          ip: `${overlay[h]}/24`, peers: [lab.ip(other)], controlSocket: join(dir, `${h}.sock`), extra: ['--algorithm', algorithm],
        });
        return lab.spawn(h, process.execPath, args);
      });
      return { serverIp: overlay.b, device: DEVICE, processes: procs, memoryProcesses: procs };
    },
  };
}
