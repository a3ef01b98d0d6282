// Site LANs behind NAT routers, for labs that need the real internet's shape (src/lab/netns.ts).
//
// A LAN is a second bridge in the bridge namespace. Its router is an ordinary lab host (eth0 on
// the main bridge, the "public" side) that gets an eth1 on the LAN, forwards, and masquerades
// the LAN out of eth0 like a home or office router: conntrack lets replies back in, and a
// FORWARD rule drops everything else arriving from outside, so a LAN host can dial out but
// cannot be reached unsolicited (even by a public host that routes the LAN's subnet to the
// router on purpose). LAN hosts have only IPv4 (NAT66 is no common sight) and a default route
// through their router.
import { ipCmd, run } from './run.js';

export interface LanOptions {
  /** A host on the main bridge that routes and masquerades for this LAN. */
  router: string;
  /** Hosts that live only on this LAN, each behind the router. */
  hosts: readonly string[];
}

export interface LanPlan {
  /** The LAN's bridge device in the bridge namespace. */
  readonly bridge: string;
  readonly subnet: string;
  /** The router's address on the LAN (eth1), every LAN host's default gateway. */
  readonly gateway: string;
  /** IPv4 address of each LAN host, in the order given. */
  readonly hostIps: readonly string[];
}

/** LAN number `index` (0-based) is 192.168.(index+1).0/24: router .1, hosts from .10 up. */
export function planLan(index: number, lan: LanOptions): LanPlan {
  const net = `192.168.${index + 1}`;
  return {
    bridge: `lan${index}`,
    subnet: `${net}.0/24`,
    gateway: `${net}.1`,
    hostIps: lan.hosts.map((_, i) => `${net}.${10 + i}`),
  };
}

/**
 * Build the LAN in `bridgeNs`, give `routerNs` its eth1, forwarding and NAT, and put each LAN
 * host's eth0 (namespaces already created, in the order of plan.hostIps) on the LAN.
 */
export async function wireLan(bridgeNs: string, routerNs: string, plan: LanPlan, hosts: readonly { name: string; ns: string }[]): Promise<void> {
  await ipCmd(['-n', bridgeNs, 'link', 'add', plan.bridge, 'type', 'bridge']);
  await ipCmd(['-n', bridgeNs, 'link', 'set', plan.bridge, 'up']);
  await plugIn(bridgeNs, plan.bridge, `l-${plan.bridge}`, routerNs, 'eth1', plan.gateway);
  for (const [i, h] of hosts.entries()) {
    await ipCmd(['-n', h.ns, 'link', 'set', 'lo', 'up']);
    await plugIn(bridgeNs, plan.bridge, `v-${h.name}`, h.ns, 'eth0', plan.hostIps[i]!);
    await ipCmd(['-n', h.ns, 'route', 'add', 'default', 'via', plan.gateway]);
  }
  const inRouter = (cmd: string, ...args: string[]) =>
    run('ip', ['netns', 'exec', routerNs, cmd, ...args], `[router ${routerNs}] ${cmd} ${args.join(' ')}`, {});
  await inRouter('sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await inRouter('iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', plan.subnet, '-o', 'eth0', '-j', 'MASQUERADE');
  await inRouter('iptables', '-w', '-A', 'FORWARD', '-i', 'eth0', '-o', 'eth1', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
  await inRouter('iptables', '-w', '-A', 'FORWARD', '-i', 'eth0', '-o', 'eth1', '-j', 'DROP');
}

/** A veth from the LAN bridge to `dev` in `ns`, with `ip`/24 on it, up. */
async function plugIn(bridgeNs: string, bridge: string, port: string, ns: string, dev: string, ip: string): Promise<void> {
  await ipCmd(['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
  await ipCmd(['-n', bridgeNs, 'link', 'set', port, 'master', bridge, 'up']);
  await ipCmd(['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
  await ipCmd(['-n', ns, 'link', 'set', dev, 'up']);
}
