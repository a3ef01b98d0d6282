// Partitions for fault injection on the plain bridge: UDP between a host and some others is
// dropped by rules in that host's namespace alone (INPUT from them, OUTPUT to them), which
// cuts both directions at once, in one command, so the cut starts at one moment rather than
// link by link. IPv6 too: nodes may learn each other's IPv6 addresses as path candidates.
// (block.ts is the variant for NAT routers, with rules on both sides.)
import type { Lab } from './netns.js';

const CHAIN = 'HCCUT';

/** Drop UDP between `host` and each of `others` (IPv4 and IPv6) until healUdp(host). */
export async function cutUdp(lab: Lab, host: string, others: readonly string[]): Promise<void> {
  const script: string[] = [];
  for (const [tool, addresses] of [
    ['iptables', others.map((o) => lab.ip(o))],
    ['ip6tables', others.map((o) => lab.host(o).ip6).filter((a): a is string => a !== null)],
  ] as const) {
    if (addresses.length === 0) continue;
    script.push(`${tool} -w -n -L ${CHAIN} >/dev/null 2>&1 || { ${tool} -w -N ${CHAIN} && ${tool} -w -I INPUT 1 -j ${CHAIN} && ${tool} -w -I OUTPUT 1 -j ${CHAIN}; } || exit 1`);
    for (const a of addresses) {
      script.push(`${tool} -w -A ${CHAIN} -p udp -s ${a} -j DROP || exit 1`, `${tool} -w -A ${CHAIN} -p udp -d ${a} -j DROP || exit 1`);
    }
  }
  await lab.exec(host, 'sh', ['-c', script.join('\n')]);
}

/** Lift every cut of `host` (a no-op where there is none). */
export async function healUdp(lab: Lab, host: string): Promise<void> {
  const flush = (tool: string) => `! ${tool} -w -n -L ${CHAIN} >/dev/null 2>&1 || ${tool} -w -F ${CHAIN} || exit 1`;
  await lab.exec(host, 'sh', ['-c', [flush('iptables'), flush('ip6tables')].join('\n')]);
}
