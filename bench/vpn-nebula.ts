// nebula 1.6 (Debian's): a CA and one certificate per end from nebula-cert, no lighthouse
// (each end finds the other through static_host_map), allow-all firewall.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Lab } from '../src/lab/netns.js';
import { overlayPair, type Tunnel, type Vpn } from './vpn.js';

const PORT = 4242;
// nebula's default 1300 is for Internet paths; 1420 as wireguard-go, so rows compare equal packets.
const MTU = 1420;
const DEVICE = 'nebula1';

export const nebula: Vpn = {
  name: 'nebula 1.6',
  async start(lab: Lab, dir: string): Promise<Tunnel> {
    const overlay = overlayPair('10.99.3');
    const cert = (...args: string[]) => promisify(execFile)('nebula-cert', args, { timeout: 30_000 });
    const ca = { crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
    await cert('ca', '-name', `hbench-${lab.id}`, '-out-crt', ca.crt, '-out-key', ca.key);
    const procs = [];
    for (const h of ['a', 'b'] as const) {
      const other = h === 'a' ? 'b' : 'a';
      const crt = join(dir, `${h}.crt`);
      const key = join(dir, `${h}.key`);
      await cert('sign', '-ca-crt', ca.crt, '-ca-key', ca.key, '-name', h, '-ip', `${overlay[h]}/24`, '-out-crt', crt, '-out-key', key);
      const allowAll = [{ port: 'any', proto: 'any', host: 'any' }];
      const config = {
        pki: { ca: ca.crt, cert: crt, key },
        static_host_map: { [overlay[other]]: [`${lab.ip(other)}:${PORT}`] },
        lighthouse: { am_lighthouse: false, hosts: [] },
        listen: { host: '0.0.0.0', port: PORT },
        punchy: { punch: false },
        tun: { disabled: false, dev: DEVICE, mtu: MTU },
        logging: { level: 'warning', format: 'text' },
        firewall: { outbound: allowAll, inbound: allowAll },
      };
      const file = join(dir, `${h}.yml`);
      writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
      procs.push(lab.spawn(h, 'nebula', ['-config', file]));
    }
    return { serverIp: overlay.b, device: DEVICE, processes: procs, memoryProcesses: [] };
  },
};
