// Network-namespace lab for e2e tests, benchmarks and the demo.
//
// Layout: one bridge namespace holding a Linux bridge, and one namespace per host with an
// `eth0` veth whose other end is a port of that bridge. Optional site LANs (lan.ts) put more
// hosts behind a NAT router, which is one of the hosts on the main bridge. Every interface is created directly
// inside its namespace (never in the root namespace), names are unique per run ("hc" + pid +
// random), and the underlay addresses exist only inside the lab: parallel runs cannot collide
// and the host's own network is never touched.
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabProcess } from './process.js';
import { planLan, wireLan, type LanOptions } from './lan.js';
import { ipCmd, LabError, run, type ExecOptions, type ExecResult } from './run.js';

export { LabProcess } from './process.js';
export { LabError, type ExecOptions, type ExecResult } from './run.js';
export type { LanNat, LanOptions } from './lan.js';
export { blockUdp, unblockUdp } from './block.js';
export { cutUdp, healUdp } from './partition.js';

/** Host key for commands in the bridge namespace (e.g. tcpdump on the underlay). */
export const BRIDGE = 'bridge';
const LOSS_CHAIN = 'HCLOSS';
const HOST_NAME_RE = /^[a-z][a-z0-9]{0,11}$/; // "v-" + name must fit IFNAMSIZ (15)
const STOP_GRACE_MS = 1000;

/** The repository root: the nearest folder above this file with a package.json (src/ or dist/src/). */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(resolve(d, 'package.json'))) return d;
    if (dirname(d) === d) return resolve(dir, '../..');
  }
}

/** What a lab needs and this process lacks: root, the TUN clone device, iproute2's `ip`. */
export function missingLabPrerequisites(): ('root' | 'tun' | 'ip')[] {
  const missing: ('root' | 'tun' | 'ip')[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (!existsSync('/dev/net/tun')) missing.push('tun');
  if (spawnSync('ip', ['-V']).error) missing.push('ip');
  return missing;
}

/** Throws (does not skip): e2e tests must fail loudly where they cannot run. */
export function requireRoot(): void {
  const words = { root: 'not running as root', tun: '/dev/net/tun is missing', ip: "the 'ip' command (iproute2) is missing" };
  const problems = missingLabPrerequisites().map((m) => words[m]);
  if (problems.length > 0) {
    throw new LabError(`e2e tests need root, /dev/net/tun and iproute2 (CI runs them as root): ${problems.join('; ')}`);
  }
}

/** Absolute path of a compiled file; throws if `npm run build` has not produced it. */
export function builtFile(relativePath: string): string {
  const file = resolve(REPO_ROOT, relativePath);
  if (!existsSync(file)) throw new LabError(`${relativePath} is missing: run \`npm run build\` first`);
  return file;
}

export interface LabOptions {
  /** Hosts on the main bridge (the "public" side when there are LANs). */
  hosts: readonly string[];
  /** Site LANs, each behind a masquerading router from `hosts` (see lan.ts). */
  lans?: readonly LanOptions[];
}

export interface LabHost {
  readonly name: string;
  readonly ns: string;
  /** Underlay IPv4 and IPv6 addresses on eth0 (LAN hosts have no IPv6). */
  readonly ip: string;
  readonly ip6: string | null;
  /** The router of the LAN this host is on; null on the main bridge. */
  readonly lan: string | null;
}

export interface SpawnOptions {
  env?: Record<string, string>;
}

const liveLabs = new Set<Lab>();

export class Lab {
  readonly hosts = new Map<string, LabHost>();
  readonly bridgeNs: string;
  private readonly namespaces: string[] = [];
  private readonly processes: LabProcess[] = [];
  private destroying: Promise<void> | undefined;

  constructor(
    readonly id: string,
    private readonly subnetOctet: number,
  ) {
    this.bridgeNs = `hc${id}-br`;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new LabError(`lab ${this.id} has no host '${name}'`);
    return h;
  }

  ns(host: string): string {
    return host === BRIDGE ? this.bridgeNs : this.host(host).ns;
  }

  ip(host: string): string {
    return this.host(host).ip;
  }

  ip6(host: string): string {
    const ip6 = this.host(host).ip6;
    if (ip6 === null) throw new LabError(`lab host '${host}' has no IPv6 address (it is on a LAN)`);
    return ip6;
  }

  /** Run a command inside a host's namespace and collect its output. */
  exec(host: string, cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const label = `[${host}] ${[cmd, ...args].join(' ')}`;
    return run('ip', ['netns', 'exec', this.ns(host), cmd, ...args], label, options);
  }

  /** Start a long-running process inside a host's namespace; destroy() stops it. */
  spawn(host: string, cmd: string, args: readonly string[] = [], options: SpawnOptions = {}): LabProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), cmd, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new LabProcess(`[${host}] ${[cmd, ...args].join(' ').slice(0, 100)}`, child);
    this.processes.push(proc);
    return proc;
  }

  /** Drop `percent` % of the packets arriving on the host's underlay interface (0 removes it). */
  async addLoss(host: string, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new LabError(`loss must be 0..100 %, not ${percent}`);
    const ipt = (...args: string[]) => this.exec(host, 'iptables', ['-w', ...args]);
    // A chain of our own, jumped to only for eth0 input: traffic the host's TUN delivers
    // locally also passes INPUT and must not be dropped a second time.
    const exists = await this.exec(host, 'iptables', ['-w', '-L', LOSS_CHAIN, '-n'], { check: false });
    if (exists.code !== 0) {
      await ipt('-N', LOSS_CHAIN);
      await ipt('-A', 'INPUT', '-i', 'eth0', '-j', LOSS_CHAIN);
    }
    await ipt('-F', LOSS_CHAIN);
    if (percent > 0) {
      const p = (percent / 100).toFixed(6);
      await ipt('-A', LOSS_CHAIN, '-m', 'statistic', '--mode', 'random', '--probability', p, '-j', 'DROP');
    }
  }

  clearLoss(host: string): Promise<void> {
    return this.addLoss(host, 0);
  }

  /** Add underlay addresses ("ADDR/LEN") to a host's eth0, IPv6 ones usable at once (nodad). */
  async addAddresses(host: string, cidrs: readonly string[]): Promise<void> {
    for (const cidr of cidrs) {
      await ipCmd(['-n', this.ns(host), 'addr', 'add', cidr, 'dev', 'eth0', ...(cidr.includes(':') ? ['nodad'] : [])]);
    }
  }

  /** Stop every process (by PID) and delete every namespace. Safe to call twice. */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  /** @internal used by createLab while building */
  async addNamespace(ns: string): Promise<void> {
    await ipCmd(['netns', 'add', ns]);
    this.namespaces.push(ns);
  }

  /** @internal used by createLab while building */
  addHost(name: string, index: number): LabHost {
    return this.registerHost({
      name,
      ns: `hc${this.id}-${name}`,
      ip: `172.31.${this.subnetOctet}.${10 + index}`,
      ip6: `fd31:${this.subnetOctet.toString(16)}::${(10 + index).toString(16)}`,
      lan: null,
    });
  }

  /** @internal used by createLab while building */
  addLanHost(name: string, ip: string, router: string): LabHost {
    return this.registerHost({ name, ns: `hc${this.id}-${name}`, ip, ip6: null, lan: router });
  }

  private registerHost(h: LabHost): LabHost {
    this.hosts.set(h.name, h);
    return h;
  }

  private async teardown(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(STOP_GRACE_MS)));
    for (const ns of [...this.namespaces].reverse()) await removeNamespace(ns);
    liveLabs.delete(this);
  }

  /** Last-resort synchronous cleanup when the test process exits without afterAll. */
  cleanupSync(): void {
    for (const p of this.processes) p.kill('SIGKILL');
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Build the lab; on any failure, whatever was created is removed before the error is thrown. */
export async function createLab(options: LabOptions): Promise<Lab> {
  const names = options.hosts;
  const lans = options.lans ?? [];
  const allNames = [...names, ...lans.flatMap((l) => l.hosts)];
  for (const name of allNames) {
    if (!HOST_NAME_RE.test(name) || name === BRIDGE) {
      throw new LabError(`invalid lab host name '${name}': use 1-12 lowercase letters and digits`);
    }
  }
  if (new Set(allNames).size !== allNames.length) throw new LabError(`duplicate lab host names: ${allNames.join(', ')}`);
  const routers = lans.map((l) => l.router);
  for (const r of routers) {
    if (!names.includes(r)) throw new LabError(`LAN router '${r}' must be one of the main hosts (${names.join(', ')})`);
  }
  if (new Set(routers).size !== routers.length) throw new LabError(`a host routes for two LANs: ${routers.join(', ')}`);

  await sweepStaleLabs();
  const id = `${process.pid.toString(36)}${randomInt(36 ** 2).toString(36).padStart(2, '0')}`;
  const lab = new Lab(id, randomInt(1, 255));
  liveLabs.add(lab);
  registerExitCleanup();
  try {
    const br = lab.bridgeNs;
    await lab.addNamespace(br);
    await ipCmd(['-n', br, 'link', 'set', 'lo', 'up']);
    await ipCmd(['-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
    await ipCmd(['-n', br, 'link', 'set', 'br0', 'up']);
    for (const [index, name] of names.entries()) {
      const h = lab.addHost(name, index);
      await lab.addNamespace(h.ns);
      await ipCmd(['-n', br, 'link', 'add', `v-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
      await ipCmd(['-n', br, 'link', 'set', `v-${name}`, 'master', 'br0', 'up']);
      await ipCmd(['-n', h.ns, 'link', 'set', 'lo', 'up']);
      await ipCmd(['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      // nodad: the address is usable at once instead of after ~1 s of duplicate detection.
      await ipCmd(['-n', h.ns, 'addr', 'add', `${h.ip6}/64`, 'dev', 'eth0', 'nodad']);
      await ipCmd(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
    }
    for (const [index, lan] of lans.entries()) {
      const plan = planLan(index, lan);
      const hosts = lan.hosts.map((name, i) => lab.addLanHost(name, plan.hostIps[i]!, lan.router));
      for (const h of hosts) await lab.addNamespace(h.ns);
      await wireLan(br, lab.ns(lan.router), plan, hosts, lan.nat);
    }
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/**
 * Delete the namespace and SIGKILL, by PID, anything still running in it (a timed-out exec, a
 * forked child): deleting a namespace's name does not stop its processes.
 */
async function removeNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns], 'ip netns pids', { check: false });
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run('ip', ['netns', 'del', ns], `ip netns del ${ns}`, { check: false });
}

/** "hc" + creator pid (base 36) + 2 random characters + "-" + host. */
const LAB_NS_RE = /^hc([0-9a-z]+)[0-9a-z]{2}-[a-z0-9]+$/;
/** Linux never hands out larger PIDs; a bigger "pid" means the name is not one of ours. */
const PID_MAX_LIMIT = 4_194_304;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove lab namespaces whose creating process is gone (a run killed before its afterAll).
 * Labs of live processes, such as parallel runs, are left alone. Returns the names removed.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'], 'ip netns list', { check: false });
  const stale = stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((ns) => {
      const m = LAB_NS_RE.exec(ns);
      const pid = m ? parseInt(m[1]!, 36) : 0;
      return pid > 0 && pid <= PID_MAX_LIMIT && !processAlive(pid);
    });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

let exitHookInstalled = false;
function registerExitCleanup(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.cleanupSync();
  });
}
