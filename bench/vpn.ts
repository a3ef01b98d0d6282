// What the throughput benchmark needs from each VPN: start a tunnel between hosts 'a' and 'b'
// of a fresh lab; the lab's destroy() (processes by PID, then the namespaces) tears it down.
import type { Lab, LabProcess } from '../src/lab/netns.js';

export interface Tunnel {
  /** Overlay address of host b (iperf3 server, ping target). */
  readonly serverIp: string;
  /** Tunnel interface in host a (its MTU is reported). */
  readonly device: string;
  /** VPN processes on both ends: their CPU is what the row reports. */
  readonly processes: readonly LabProcess[];
  /** Processes whose memory is reported (hacloud only). */
  readonly memoryProcesses: readonly LabProcess[];
}

export interface Vpn {
  readonly name: string;
  /** Set the tunnel up; dir is a private temp directory for keys and configs. */
  start(lab: Lab, dir: string): Promise<Tunnel>;
}

/** The first VPN process that exited, as an error message; null while all run. */
export function deadProcess(tunnel: Pick<Tunnel, 'processes'>): string | null {
  const dead = tunnel.processes.find((p) => !p.running);
  if (!dead) return null;
  const status = dead.exitStatus?.code ?? dead.exitStatus?.signal ?? '?';
  const [host, program] = dead.label.split(' ');
  const name = `${host} ${dead.label.includes('hacloud.js') ? 'hacloud' : program?.split('/').pop()}`;
  // Skip stack frames: the error line itself is what says why.
  const lines = dead.tail(30).split('\n').map((l) => l.trim()).filter((l) => l && !/^at |^Node\.js v|^\^+$/.test(l));
  return `${name} exited (${status}): ${lines.slice(-3).join(' | ') || 'no output'}`;
}

/** Poll until check() resolves true; throws after timeoutMs (or as soon as a process died). */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, processes: readonly LabProcess[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const dead = deadProcess({ processes });
    if (dead) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The bare underlay: eth0 to eth0 over the lab's bridge, no VPN process. */
export const underlay: Vpn = {
  name: 'underlay (veth)',
  start(lab) {
    return Promise.resolve({ serverIp: lab.ip('b'), device: 'eth0', processes: [], memoryProcesses: [] });
  },
};

/** Both hosts' overlay addresses in a /24: host a gets .1, host b .2. */
export function overlayPair(prefix: string): { a: string; b: string } {
  return { a: `${prefix}.1`, b: `${prefix}.2` };
}
