// Site LANs behind NAT routers, for labs that need the real internet's shape (src/lab/netns.ts).
//
// A LAN is a second bridge in the bridge namespace. Its router is an ordinary lab host (eth0 on
// the main bridge, the "public" side) that gets an eth1 on the LAN, forwards, and masquerades
// the LAN out of eth0 like a home or office router: conntrack lets replies back in, and a
// FORWARD rule drops everything else arriving from outside, so a LAN host can dial out but
// cannot be reached unsolicited (even by a public host that routes the LAN's subnet to the
// router on purpose). Unsolicited IPv4 to the router itself is dropped too, like a home
// router's WAN firewall does (see wireLan: without it, NAT hole punching cannot work). LAN
// hosts have only IPv4 (NAT66 is no common sight) and a default route through their router.
//
// The NAT (RFC 4787 terms): 'cone', plain MASQUERADE, keeps a LAN host's source port while it
// is free and uses one mapping for every destination (endpoint-independent mapping), and lets
// in only what comes from an address and port the host sent to (address- and port-dependent
// filtering): a port-restricted cone, which two hosts can punch through. 'symmetric'
// (MASQUERADE --random-fully) picks a new random port for each destination, so the port a
// third party saw is useless to anyone else: no hole punching, only relays.
import { ipCmd, run } from './run.js';

export interface LanOptions {
  /** A host on the main bridge that routes and masquerades for this LAN. */
  router: string;
  /** Hosts that live only on this LAN, each behind the router. */
  hosts: readonly string[];
  /** 'cone' (default) or 'symmetric' (see the top of this file). */
  nat?: LanNat;
}

export type LanNat = 'cone' | 'symmetric';

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
export async function wireLan(
  bridgeNs: string, routerNs: string, plan: LanPlan, hosts: readonly { name: string; ns: string }[], nat: LanNat = 'cone',
): Promise<void> {
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
  const random = nat === 'symmetric' ? ['--random-fully'] : [];
  await inRouter('iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', plan.subnet, '-o', 'eth0', '-j', 'MASQUERADE', ...random);
  await inRouter('iptables', '-w', '-A', 'FORWARD', '-i', 'eth0', '-o', 'eth1', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
  await inRouter('iptables', '-w', '-A', 'FORWARD', '-i', 'eth0', '-o', 'eth1', '-j', 'DROP');
  // Unsolicited packets to the router itself are dropped before conntrack keeps them. A packet
  // delivered locally (even to a closed port) would leave an entry "peer -> router:port" that
  // takes the very port the NAT would map a LAN host's answer to that peer to, so the NAT
  // picks another port and a punched hole never opens (measured: not one packet got through).
  await inRouter('iptables', '-w', '-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP');
}

/** A veth from the LAN bridge to `dev` in `ns`, with `ip`/24 on it, up. */
async function plugIn(bridgeNs: string, bridge: string, port: string, ns: string, dev: string, ip: string): Promise<void> {
  await ipCmd(['-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
  await ipCmd(['-n', bridgeNs, 'link', 'set', port, 'master', bridge, 'up']);
  await ipCmd(['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
  await ipCmd(['-n', ns, 'link', 'set', dev, 'up']);
}
