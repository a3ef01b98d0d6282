// Cutting UDP between two lab hosts and restoring it: a broken direct path (say between two
// sites' NAT routers) while each still reaches everyone else.
//
// Both hosts get DROP rules for UDP to and from the other's addresses in a chain of their own,
// jumped to first from INPUT, OUTPUT and FORWARD: ahead of the routers' "ESTABLISHED accept",
// so an existing NAT mapping is cut as well, and on a router for its LAN's traffic too
// (FORWARD sees a LAN host's packets before their source is masqueraded, and incoming ones
// after their destination is restored, so the other host's address matches either way).
// Conntrack entries stay, so a mapping is still there when the block is lifted.
import type { Lab } from './netns.js';

const CHAIN = 'HCBLOCK';

/** Drop UDP between hosts a and b (IPv4, and IPv6 when both have it) until unblockUdp. */
export async function blockUdp(lab: Lab, a: string, b: string): Promise<void> {
  for (const [self, other] of [[a, b], [b, a]] as const) {
    for (const { tool, ip } of families(lab, self, other)) {
      await ensureChain(lab, self, tool);
      for (const rule of rules(ip)) {
        if (!(await has(lab, self, tool, rule))) await lab.exec(self, tool, ['-w', '-A', CHAIN, ...rule]);
      }
    }
  }
}

/** Lift what blockUdp(a, b) put in; a no-op where nothing is blocked. */
export async function unblockUdp(lab: Lab, a: string, b: string): Promise<void> {
  for (const [self, other] of [[a, b], [b, a]] as const) {
    for (const { tool, ip } of families(lab, self, other)) {
      for (const rule of rules(ip)) {
        if (await has(lab, self, tool, rule)) await lab.exec(self, tool, ['-w', '-D', CHAIN, ...rule]);
      }
    }
  }
}

function families(lab: Lab, self: string, other: string): { tool: string; ip: string }[] {
  const list = [{ tool: 'iptables', ip: lab.ip(other) }];
  const own6 = lab.host(self).ip6;
  const other6 = lab.host(other).ip6;
  if (own6 !== null && other6 !== null) list.push({ tool: 'ip6tables', ip: other6 });
  return list;
}

function rules(ip: string): string[][] {
  return [['-p', 'udp', '-s', ip, '-j', 'DROP'], ['-p', 'udp', '-d', ip, '-j', 'DROP']];
}

async function has(lab: Lab, host: string, tool: string, rule: readonly string[]): Promise<boolean> {
  return (await lab.exec(host, tool, ['-w', '-C', CHAIN, ...rule], { check: false })).code === 0;
}

async function ensureChain(lab: Lab, host: string, tool: string): Promise<void> {
  if ((await lab.exec(host, tool, ['-w', '-n', '-L', CHAIN], { check: false })).code === 0) return;
  await lab.exec(host, tool, ['-w', '-N', CHAIN]);
  for (const hook of ['INPUT', 'OUTPUT', 'FORWARD']) await lab.exec(host, tool, ['-w', '-I', hook, '1', '-j', CHAIN]);
}
