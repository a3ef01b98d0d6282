// tinc 1.0 (Debian's): router mode over a TUN device, one tincd per end, RSA keys from
// `tincd -K`. AES-256-CBC + SHA-256 instead of 1.0's Blowfish/SHA-1 defaults, so the row
// compares a cipher of the same strength as the others'.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Lab } from '../src/lab/netns.js';
import { overlayPair, type Tunnel, type Vpn } from './vpn.js';

const MTU = 1420; // as wireguard-go's default, so the rows compare equal packet sizes
const DEVICE = 'tinc0';

export const tinc: Vpn = {
  name: 'tinc 1.0',
  async start(lab: Lab, dir: string): Promise<Tunnel> {
    const overlay = overlayPair('10.99.2');
    const confDir = { a: join(dir, 'a'), b: join(dir, 'b') };
    for (const h of ['a', 'b'] as const) {
      mkdirSync(join(confDir[h], 'hosts'), { recursive: true });
      const connect = h === 'a' ? 'ConnectTo = b\n' : '';
      writeFileSync(join(confDir[h], 'tinc.conf'),
        `Name = ${h}\nMode = router\nDeviceType = tun\nDevice = /dev/net/tun\nInterface = ${DEVICE}\nAddressFamily = ipv4\n${connect}`);
      writeFileSync(join(confDir[h], 'hosts', h),
        `Address = ${lab.ip(h)}\nPort = 655\nSubnet = ${overlay[h]}/32\nCipher = aes-256-cbc\nDigest = sha256\n`);
      writeFileSync(join(confDir[h], 'tinc-up'),
        `#!/bin/sh\nip addr add ${overlay[h]}/24 dev "$INTERFACE"\nip link set "$INTERFACE" mtu ${MTU} up\n`);
      chmodSync(join(confDir[h], 'tinc-up'), 0o755);
      // Appends the public key to hosts/<name>; stdin is not a terminal, so no questions.
      await promisify(execFile)('tincd', ['-c', confDir[h], '-K2048'], { timeout: 30_000 });
    }
    for (const h of ['a', 'b'] as const) {
      const other = h === 'a' ? 'b' : 'a';
      writeFileSync(join(confDir[other], 'hosts', h), readFileSync(join(confDir[h], 'hosts', h)));
    }
    const procs = (['a', 'b'] as const).map((h) =>
      lab.spawn(h, 'tincd', ['-c', confDir[h], '-n', `hb${lab.id}`, '-D', '--pidfile', join(confDir[h], 'tinc.pid')]),
    );
    return { serverIp: overlay.b, device: DEVICE, processes: procs, memoryProcesses: [] };
  },
};
