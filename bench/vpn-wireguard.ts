// wireguard-go (Debian's userspace WireGuard): one process per end, configured with `wg`.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../src/lab/netns.js';
import { overlayPair, waitUntil, type Tunnel, type Vpn } from './vpn.js';

const PORT = 51820;

function keyPair(): { priv: string; pub: string } {
  const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const pub = execFileSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).trim();
  return { priv, pub };
}

export const wireguardGo: Vpn = {
  name: 'wireguard-go',
  async start(lab: Lab, dir: string): Promise<Tunnel> {
    const overlay = overlayPair('10.99.1');
    const keys = { a: keyPair(), b: keyPair() };
    // The UAPI socket lives in /var/run/wireguard/<ifname>.sock, shared by all namespaces:
    // names unique per lab and per end.
    const ifname = { a: `wg${lab.id}a`, b: `wg${lab.id}b` };
    const procs = (['a', 'b'] as const).map((h) =>
      lab.spawn(h, 'wireguard-go', ['-f', ifname[h]], { env: { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' } }),
    );
    for (const h of ['a', 'b'] as const) {
      const other = h === 'a' ? 'b' : 'a';
      await waitUntil(`${ifname[h]} UAPI socket`, 5_000, async () => (await lab.exec(h, 'wg', ['show', ifname[h]], { check: false })).code === 0, procs);
      // Really the userspace implementation: the interface is a TUN device, not a kernel wireguard link.
      const link = await lab.exec(h, 'ip', ['-d', 'link', 'show', ifname[h]]);
      if (!/\btun\b/.test(link.stdout) || /\bwireguard\b/.test(link.stdout)) throw new Error(`${ifname[h]} is not a userspace TUN device`);
      const keyFile = join(dir, `${h}.key`);
      writeFileSync(keyFile, `${keys[h].priv}\n`, { mode: 0o600 });
      await lab.exec(h, 'wg', ['set', ifname[h], 'private-key', keyFile, 'listen-port', String(PORT),
        'peer', keys[other].pub, 'allowed-ips', `${overlay[other]}/32`, 'endpoint', `${lab.ip(other)}:${PORT}`]);
      await lab.exec(h, 'ip', ['addr', 'add', `${overlay[h]}/24`, 'dev', ifname[h]]);
      await lab.exec(h, 'ip', ['link', 'set', ifname[h], 'up']);
    }
    return { serverIp: overlay.b, device: ifname.a, processes: procs, memoryProcesses: [] };
  },
};
