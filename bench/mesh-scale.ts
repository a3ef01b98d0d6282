// Mesh scale with real processes (issue 13): N hacloud nodes in namespaces on one bridge, each
// claiming its own /32, two of them (n00, n01) also sharing a VIP, all started with
// `-c n00 -c n01` and default timings. Measured: time from the last start to convergence (every
// node holds every member alive and routes every claim; past full-mesh-max a node has sessions
// only with the peers it uses, SWIM watches the rest, so sessions are reported, not awaited), idle control
// traffic per node (UDP datagrams and bytes its namespace sent while no one sends data: all of
// it is hacloud's control traffic), CPU and RSS per node at idle, and after a kill -9 of the
// VIP's holder how long until each of the other nodes switched it (their own "route ... ->"
// log lines). Every phase reports its error and the result keeps what was measured before it.
import { join } from 'node:path';
import type { Lab } from '../src/lab/netns.js';
import { REPO_ROOT } from '../src/lab/netns.js';
import type { LabProcess } from '../src/lab/process.js';
import { shortId } from '../src/log/text.js';
import { requestControl } from '../src/status/control-client.js';
import type { StatusJson } from '../src/status/status-json.js';
import { logTime, sleep } from './paths-scenario.js';
import { cpuSeconds, memoryMb } from './proc.js';
import { withLab } from './scratch.js';

const HACLOUD_BIN = join(REPO_ROOT, 'bin', 'hacloud.js');
const PASSWORD = 'mesh-scale-password';
const VIP = '10.77.255.1';
const VIP_PREFIX = `${VIP}/32`;
/** Status of every node is read this often while waiting for convergence. */
const CONVERGE_POLL_MS = 1_000;

export interface MeshScalePlan {
  nodes: number;
  /** Idle measurement window after convergence. */
  idleSeconds: number;
  convergeTimeoutMs: number;
  failoverTimeoutMs: number;
}

export interface MeshScaleResult {
  plan: MeshScalePlan;
  /** From the last node's start to every node knowing and routing every other; null: not within the timeout. */
  convergeMs: number | null;
  /** At the end of the wait: the fewest other members alive per node (out of nodes - 1), the fewest routed claims. */
  minAlive: number;
  minRoutes: number;
  /** At the end of the wait: peers with a session per node, median and max (out of nodes - 1). */
  sessions: Spread;
  /** Whether the nodes run as a full mesh (every node keeps every other) or SWIM watches most members. */
  fullMesh: boolean;
  /** Nodes whose control socket did not answer the last poll (busy, or dead). */
  silentNodes: number;
  /** Per node at idle: UDP datagrams and bytes sent a second, CPU % of a core, RSS MB (median and max). */
  idleDatagramsPerS?: Spread;
  idleBytesPerS?: Spread;
  idleCpuPct?: Spread;
  rssMb?: Spread;
  /** ms from the kill -9 of the VIP's holder to each other node switching the VIP (its log time), but the user's. */
  switchMs: number[];
  /** Nodes that were to switch (all but the killed holder, the survivor and the user). */
  switchExpected: number;
  /** The same for the last node, which pings the VIP (uses it: keeps a session with its holder); null: it did not switch. */
  userSwitchMs: number | null;
  errors: string[];
}

export interface Spread {
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
}

export function nodeName(i: number): string {
  return `n${String(i).padStart(2, '0')}`;
}

export async function measureMeshScale(plan: MeshScalePlan, log: (text: string) => void): Promise<MeshScaleResult> {
  const names = Array.from({ length: plan.nodes }, (_, i) => nodeName(i));
  const result: MeshScaleResult = { plan, convergeMs: null, minAlive: 0, minRoutes: 0, sessions: { median: 0, max: 0 }, fullMesh: true, silentNodes: 0, switchMs: [], switchExpected: plan.nodes - 3, userSwitchMs: null, errors: [] };
  await withLab(names, async (lab, dir) => {
    const mesh = new Mesh(lab, dir, names);
    try {
      const startedMs = await mesh.startAll();
      log(`mesh-scale: ${plan.nodes} nodes started (last at +${startedMs.spreadMs} ms)`);
      const converge = await mesh.waitConverged(plan.convergeTimeoutMs);
      const { atMs, silent, ...seen } = converge;
      Object.assign(result, seen, { silentNodes: silent });
      if (atMs === null) {
        throw new Error(`not converged in ${plan.convergeTimeoutMs} ms: members alive per node min ${converge.minAlive} of ${plan.nodes - 1}, ` +
          `routed claims min ${converge.minRoutes} of ${plan.nodes + 1}; ${silent} nodes did not answer status`);
      }
      result.convergeMs = atMs - startedMs.lastMs;
      log(`mesh-scale: converged ${result.convergeMs} ms after the last start`);

      const idle = await mesh.measureIdle(plan.idleSeconds);
      Object.assign(result, idle);
      log(`mesh-scale: idle ${idle.idleDatagramsPerS.median.toFixed(1)} datagrams/s per node (max ${idle.idleDatagramsPerS.max.toFixed(1)})`);

      const { others: fo, user } = await mesh.killVipHolder(plan.failoverTimeoutMs);
      result.switchMs = fo;
      result.userSwitchMs = user;
      log(`mesh-scale: ${fo.length}/${result.switchExpected} nodes switched the VIP; max ${fo.length ? Math.max(...fo) : '–'} ms; ` +
        `the node using it after ${user ?? '–'} ms`);
    } catch (e) {
      result.errors.push((e as Error).message);
    }
  });
  return result;
}

class Mesh {
  private readonly procs = new Map<string, LabProcess>();
  private readonly ids = new Map<string, string>();

  constructor(private readonly lab: Lab, private readonly dir: string, private readonly names: readonly string[]) {}

  async startAll(): Promise<{ lastMs: number; spreadMs: number }> {
    const firstMs = Date.now();
    const seeds = this.names.slice(0, 2).flatMap((n) => ['-c', `${this.lab.ip(n)}:3210`]);
    await Promise.all(this.names.map(async (name, i) => {
      const vip = i < 2 ? ['--claim', VIP_PREFIX] : [];
      const proc = this.lab.spawn(name, process.execPath, [
        HACLOUD_BIN, '-v', '--ip', `10.77.${i >> 8}.${(i & 0xff) + 1}/16`, '--control-socket', this.socket(name),
        '--identity-file', join(this.dir, `${name}.key`), ...seeds, ...vip,
      ], { env: { PASSWORD } });
      this.procs.set(name, proc);
      await proc.waitForLine(/listening on port/, 60_000);
    }));
    const lastMs = Date.now();
    // 40 processes starting at once on a few cores: a node may take a while to answer
    for (const name of this.names) this.ids.set(name, (await this.statusWithin(name, 60_000)).node.id);
    return { lastMs, spreadMs: lastMs - firstMs };
  }

  /** Poll until every node holds every member alive and routes every claim (each /32 and the VIP). */
  async waitConverged(timeoutMs: number): Promise<{
    atMs: number | null; minAlive: number; minRoutes: number; sessions: Spread; fullMesh: boolean; silent: number;
  }> {
    const until = Date.now() + timeoutMs;
    const n = this.names.length;
    for (;;) {
      const statuses = await Promise.all(this.names.map((name) => this.status(name).catch(() => null)));
      const now = Date.now();
      const answered = statuses.filter((s): s is StatusJson => s !== null);
      const min = (xs: number[]): number => (xs.length ? Math.min(...xs) : 0);
      const minAlive = min(answered.map((s) => s.members.alive));
      const minRoutes = min(answered.map((s) => s.routes.filter((r) => r.active !== null).length));
      const sessions = spread(answered.map((s) => s.peers.filter((p) => p.session).length));
      const fullMesh = answered.every((s) => s.members.fullMesh);
      const silent = statuses.length - answered.length;
      const done = silent === 0 && minAlive >= n - 1 && minRoutes >= n + 1;
      if (done || now > until) return { atMs: done ? now : null, minAlive, minRoutes, sessions, fullMesh, silent };
      await sleep(CONVERGE_POLL_MS);
    }
  }

  async measureIdle(seconds: number): Promise<Pick<MeshScaleResult, 'idleDatagramsPerS' | 'idleBytesPerS' | 'idleCpuPct' | 'rssMb'> & {
    idleDatagramsPerS: Spread;
  }> {
    const before = await Promise.all(this.names.map((n) => this.udpOut(n)));
    const cpuBefore = this.names.map((n) => cpuSeconds(this.proc(n).pid));
    const t0 = Date.now();
    await sleep(seconds * 1000);
    const after = await Promise.all(this.names.map((n) => this.udpOut(n)));
    const elapsedS = (Date.now() - t0) / 1000;
    const cpuAfter = this.names.map((n) => cpuSeconds(this.proc(n).pid));
    return {
      idleDatagramsPerS: spread(after.map((a, i) => (a.datagrams - before[i]!.datagrams) / elapsedS)),
      idleBytesPerS: spread(after.map((a, i) => (a.bytes - before[i]!.bytes) / elapsedS)),
      idleCpuPct: spread(cpuAfter.map((c, i) => ((c - cpuBefore[i]!) / elapsedS) * 100)),
      rssMb: spread(this.names.map((n) => memoryMb(this.proc(n).pid).rssMb)),
    };
  }

  /**
   * kill -9 the VIP's active claimant while the last node pings the VIP (it uses it); ms until
   * each other node logged the switch, the user's apart.
   */
  async killVipHolder(timeoutMs: number): Promise<{ others: number[]; user: number | null }> {
    const observer = this.names[2]!;
    const route = (await this.status(observer)).routes.find((r) => r.prefix === VIP_PREFIX);
    const holder = this.names.slice(0, 2).find((n) => this.ids.get(n) === route?.active);
    if (!holder) throw new Error(`no VIP holder in ${observer}'s routes`);
    const survivor = this.names.slice(0, 2).find((n) => n !== holder)!;
    const others = this.names.filter((n) => n !== holder && n !== survivor);
    const user = this.names[this.names.length - 1]!;
    // 20 pings a second: the user keeps a session with the holder, as a client of the VIP does
    const ping = this.lab.spawn(user, 'ping', ['-n', '-i', '0.05', '-w', String(Math.ceil(timeoutMs / 1000) + 5), VIP]);
    await sleep(3_000);
    const pattern = new RegExp(`route ${VIP_PREFIX.replace(/\./g, '\\.')} -> ${shortId(this.ids.get(survivor)!)}`);
    const killedMs = Date.now();
    this.proc(holder).kill('SIGKILL');
    const until = killedMs + timeoutMs;
    const switched = new Map<string, number>();
    while (switched.size < others.length && Date.now() < until) {
      for (const n of others) {
        if (switched.has(n)) continue;
        const line = this.proc(n).lines.find((l) => pattern.test(l) && logTime(l) >= killedMs - 1000);
        if (line) switched.set(n, logTime(line) - killedMs);
      }
      await sleep(100);
    }
    ping.kill('SIGKILL');
    const userMs = switched.get(user) ?? null;
    switched.delete(user);
    return { others: [...switched.values()].sort((a, b) => a - b), user: userMs };
  }

  private async udpOut(node: string): Promise<{ datagrams: number; bytes: number }> {
    const snmp = await this.lab.exec(node, 'cat', ['/proc/net/snmp']);
    const udp = snmp.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const fields = udp[0]!.split(/\s+/);
    const values = udp[1]!.split(/\s+/);
    const datagrams = Number(values[fields.indexOf('OutDatagrams')]);
    const bytes = Number((await this.lab.exec(node, 'cat', ['/sys/class/net/eth0/statistics/tx_bytes'])).stdout.trim());
    return { datagrams, bytes };
  }

  private async statusWithin(node: string, timeoutMs: number): Promise<StatusJson> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.status(node);
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(500);
      }
    }
  }

  private status(node: string): Promise<StatusJson> {
    return requestControl(this.socket(node), 'status') as Promise<StatusJson>;
  }

  private proc(node: string): LabProcess {
    const p = this.procs.get(node);
    if (!p) throw new Error(`${node} was not started`);
    return p;
  }

  private socket(node: string): string {
    return join(this.dir, `${node}.sock`);
  }
}
