// Failover benchmark: the HA guide's setup in namespaces. Servers sa and sb both run hacloud
// with --ip 10.0.0.1 and a tiny TCP service on port 8000 answering their name; the client
// probes 10.0.0.1:8000 every 20 ms (probe.ts). Each run signals the active server's hacloud
// (kill -9 or SIGTERM) and measures the time until the first reply from the survivor, then
// restarts the stopped node and waits until the client reaches it again, so the next run has
// a standby (the restarted node does not take the IP back: its uptime is shorter).
//
// Each server also claims an address of its own (10.0.0.11 / 10.0.0.12, added to its device)
// so the benchmark can tell when the client has a live session with a restarted node.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAST_KEEPALIVE_MS, FAST_PEER_TIMEOUT_MS } from '../src/core/constants.js';
import type { Lab, LabProcess } from '../src/lab/netns.js';
import { median } from './ping.js';
import { withLab } from './scratch.js';
import { waitUntil } from './vpn.js';
import { hacloudArgs } from './vpn-hacloud.js';

export const SHARED_IP = '10.0.0.1';
const CLIENT_IP = '10.0.0.100';
const SERVICE_PORT = 8000;
const PROBE_INTERVAL_MS = 20;
const DEVICE = 'hacloud0';
export const SERVERS = ['sa', 'sb'] as const;
type Server = (typeof SERVERS)[number];
const OWN_IP: Record<Server, string> = { sa: '10.0.0.11', sb: '10.0.0.12' };
const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export interface FailoverSettings {
  label: string;
  args: string[];
  peerTimeoutMs: number;
  keepaliveMs: number;
}

export const GUIDE_SETTINGS: FailoverSettings = {
  label: 'guide: --peer-timeout 5 --keepalive 2',
  args: ['--peer-timeout', '5', '--keepalive', '2'],
  peerTimeoutMs: 5_000,
  keepaliveMs: 2_000,
};

export const FAST_SETTINGS: FailoverSettings = {
  label: `fast: --peer-timeout ${FAST_PEER_TIMEOUT_MS}ms --keepalive ${FAST_KEEPALIVE_MS}ms`,
  args: ['--peer-timeout', `${FAST_PEER_TIMEOUT_MS}ms`, '--keepalive', `${FAST_KEEPALIVE_MS}ms`],
  peerTimeoutMs: FAST_PEER_TIMEOUT_MS,
  keepaliveMs: FAST_KEEPALIVE_MS,
};

export type StopKind = 'kill -9' | 'SIGTERM';

export interface FailoverResult {
  kind: StopKind;
  settings: string;
  gapsMs: number[];
  /** Runs after which the restarted node took the shared IP back (should be 0). */
  switchBacks: number;
  error?: string;
}

export interface FailoverPlan {
  settings: FailoverSettings;
  runs: { kind: StopKind; count: number }[];
}

/** One lab for a plan; every (kind, count) is measured in turn. One result per kind. */
export async function measureFailover(plan: FailoverPlan, deadline: number): Promise<FailoverResult[]> {
  const results = plan.runs.map((r) => ({ kind: r.kind, settings: plan.settings.label, gapsMs: [] as number[], switchBacks: 0 }) as FailoverResult);
  let current: FailoverResult | undefined;
  try {
    if (Date.now() > deadline) throw new Error('skipped: time budget used up');
    await withLab(['sa', 'sb', 'client'], async (lab, dir) => {
      const ha = new HaLab(lab, dir, plan.settings);
      await ha.start();
      for (const [i, r] of plan.runs.entries()) {
        current = results[i]!;
        for (let n = 0; n < r.count; n++) {
          if (Date.now() > deadline) throw new Error(`time budget used up after ${current.gapsMs.length} runs`);
          current.gapsMs.push(await ha.failOnce(r.kind));
          if (await ha.rejoin()) current.switchBacks++;
        }
      }
    });
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').slice(0, 300);
    // The run that failed and every later one report the error.
    let failed = false;
    for (const r of results) {
      if (r === current) failed = true;
      if (failed || current === undefined) r.error = message;
    }
  }
  return results;
}

/** The HA guide's lab: two servers sharing SHARED_IP and a client probing it (the sweep soaks in it). */
export class HaLab {
  private readonly nodes = new Map<Server, LabProcess>();
  private client!: LabProcess;
  private probe!: LabProcess;

  constructor(
    private readonly lab: Lab,
    private readonly dir: string,
    private readonly settings: FailoverSettings,
  ) {}

  async start(): Promise<void> {
    for (const s of SERVERS) {
      this.lab.spawn(s, process.execPath, [join(BENCH_DIR, 'name-server.js'), String(SERVICE_PORT), s]);
    }
    // sa first: with the longer uptime it is the first active server.
    for (const s of SERVERS) await this.startServer(s);
    this.client = this.lab.spawn('client', process.execPath, hacloudArgs({
      ip: CLIENT_IP, peers: SERVERS.map((s) => this.lab.ip(s)), controlSocket: this.controlSocket('client'), extra: this.settings.args,
    }));
    await this.waitClientReaches(OWN_IP.sa);
    await this.waitClientReaches(OWN_IP.sb);
    this.probe = this.lab.spawn('client', process.execPath, [
      join(BENCH_DIR, 'probe.js'), SHARED_IP, String(SERVICE_PORT), String(PROBE_INTERVAL_MS), '3600',
    ]);
    await this.probe.waitForLine(/^answer /, 10_000);
  }

  /** Stop the active server's hacloud; ms until the survivor's first reply. */
  async failOnce(kind: StopKind): Promise<number> {
    // A single slow attempt makes the probe report silence: wait for it to hear a server.
    await waitUntil(`a server to answer ${SHARED_IP}`, 5_000, () => Promise.resolve(this.answering() !== null), this.hacloudProcesses());
    const active = this.answering()!;
    const survivor = SERVERS.find((s) => s !== active)!;
    const node = this.nodes.get(active)!;
    const stoppedAt = monotonicMs();
    node.kill(kind === 'kill -9' ? 'SIGKILL' : 'SIGTERM');
    const timeoutMs = this.settings.peerTimeoutMs + 10_000;
    let answeredAt = Number.NaN;
    await waitUntil(`a reply from ${survivor} after ${kind} of ${active}`, timeoutMs, () => {
      answeredAt = this.firstAnswer(survivor, stoppedAt);
      return Promise.resolve(!Number.isNaN(answeredAt));
    }, [this.probe, this.client, this.nodes.get(survivor)!]);
    await node.stop(3_000); // SIGTERM: it must exit by itself soon; SIGKILL: already gone
    return answeredAt - stoppedAt;
  }

  /** Restart the stopped server and wait until the client reaches it; true if it took the IP back. */
  async rejoin(): Promise<boolean> {
    const stopped = SERVERS.find((s) => !this.nodes.get(s)!.running)!;
    await this.startServer(stopped);
    await this.waitClientReaches(OWN_IP[stopped]);
    // Give gossip a couple of keepalives to settle, then look who answers.
    await sleep(Math.min(2 * this.settings.keepaliveMs, 1_000) + 200);
    return this.answering() === stopped;
  }

  private async startServer(s: Server): Promise<void> {
    const other = SERVERS.find((o) => o !== s)!;
    const node = this.lab.spawn(s, process.execPath, hacloudArgs({
      ip: SHARED_IP, peers: [this.lab.ip(other)], controlSocket: this.controlSocket(s),
      extra: [...this.settings.args, '--claim', `${OWN_IP[s]}/32`],
    }));
    this.nodes.set(s, node);
    const exists = async () => (await this.lab.exec(s, 'ip', ['link', 'show', DEVICE], { check: false })).code === 0;
    await waitUntil(`${s}'s ${DEVICE}`, 15_000, exists, [node]);
    await this.lab.exec(s, 'ip', ['addr', 'add', `${OWN_IP[s]}/32`, 'dev', DEVICE]);
  }

  /** The client's and every server's hacloud: all must be running between runs. */
  private hacloudProcesses(): LabProcess[] {
    return [this.client, ...this.nodes.values()];
  }

  /** Every host's current hacloud process (its output is collected in `lines`). */
  hacloudByHost(): [host: string, process: LabProcess][] {
    return [...this.nodes.entries(), ['client', this.client]];
  }

  /** probe.ts's output so far: `answer <ms> <name>` and `silent <ms>` lines. */
  get probeLines(): readonly string[] {
    return this.probe.lines;
  }

  get probePid(): number {
    return this.probe.pid;
  }

  controlSocket(host: Server | 'client'): string {
    return join(this.dir, `${host}.sock`);
  }

  private async waitClientReaches(ip: string): Promise<void> {
    const ping = async () => (await this.lab.exec('client', 'ping', ['-n', '-c', '1', '-W', '1', ip], { check: false, timeoutMs: 5_000 })).code === 0;
    await waitUntil(`the client to reach ${ip} through hacloud`, 20_000, ping, this.hacloudProcesses());
  }

  /** Server the probe hears now (its last line), or null while silent. */
  private answering(): Server | null {
    const last = this.probe.lines.at(-1)?.split(' ');
    return last?.[0] === 'answer' ? (last[2] as Server) : null;
  }

  /** Monotonic time of the first reply from server after `after`, or NaN. */
  private firstAnswer(server: Server, after: number): number {
    for (const line of this.probe.lines) {
      const [what, at, name] = line.split(' ');
      if (what === 'answer' && name === server && Number(at) > after) return Number(at);
    }
    return Number.NaN;
  }
}

/** The system's monotonic clock, as probe.ts stamps its lines. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function summarize(r: FailoverResult): { median: number; min: number; max: number } | null {
  if (r.gapsMs.length === 0) return null;
  return { median: median(r.gapsMs), min: Math.min(...r.gapsMs), max: Math.max(...r.gapsMs) };
}
