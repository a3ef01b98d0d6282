// Failover sweep: the fastest --keepalive / --peer-timeout that never declares a live peer dead.
// Each candidate, fastest first, gets the HA lab of failover.ts (servers sa and sb sharing
// 10.0.0.1, the client probing it every 20 ms) and a soak in which no process is killed: first
// without loss, then with random loss on every host's underlay input (every link, each
// direction: Lab.addLoss), on a machine whose 2 cores the lab itself keeps busy. Any peer
// declared dead during a soak is a false failover ("peer … lost" in any node's log); so is a
// move of 10.0.0.1's route at the client, a change of the server answering the probe, or a
// failover counted in any node's `status --json`. Candidates without any then get the kill -9
// failover median from measureFailover (a fresh lab, no loss), as in the failover table.
import { loadavg } from 'node:os';
import type { Lab, LabProcess } from '../src/lab/netns.js';
import { requestControl } from '../src/status/control-client.js';
import { HaLab, SERVERS, SHARED_IP, measureFailover, summarize, type FailoverResult, type FailoverSettings } from './failover.js';
import { cpuSeconds } from './proc.js';
import { withLab } from './scratch.js';
import { deadProcess } from './vpn.js';

const HOSTS = [...SERVERS, 'client'] as const;
/** Peer links one node watches, over all nodes: 3 nodes in a full mesh watch 6. */
export const WATCHED_LINKS = HOSTS.length * (HOSTS.length - 1);

export interface SweepCandidate {
  keepaliveMs: number;
  peerTimeoutMs: number;
}

export interface SweepPlan {
  /** Fastest first. */
  candidates: SweepCandidate[];
  /** Soaks in order, all in one lab per candidate. */
  soaks: { lossPercent: number; seconds: number }[];
  /** kill -9 runs for a candidate without false failovers. */
  killRuns: number;
}

export interface SoakResult {
  lossPercent: number;
  /** How long it actually soaked (shorter if the time budget ran out). */
  seconds: number;
  /** "peer … lost" lines, all nodes: live peers declared dead. */
  peersLost: number;
  /** Route changes of the shared address logged by the client. */
  clientRouteMoves: number;
  /** Changes of the server answering the client's probe. */
  probeSwitches: number;
  /** Growth of failovers.total in status, summed over the nodes. */
  statusFailovers: number;
  /** Suspect phases entered (-v "silent, probing"): what the probe phase rescued or not. */
  suspicions: number;
  /**
   * Longest silence of a peer that then answered again (-v "answered again"), ms: how close the
   * soak came to a false failover (a silence of peerTimeoutMs is one). 0 without suspicions.
   */
  longestRecoveredMs: number;
  /** "process was stalled" warnings: a node's event loop did not run for a while. */
  stalls: number;
  /** Longest of those stalls, ms (0 without). */
  longestStallMs: number;
  /** 1-minute load average at the end of the soak. */
  load1: number;
  /** CPU of the lab's hacloud nodes and probe over the soak, % of one core. */
  labCpuPct: number;
}

export interface SweepRow {
  candidate: SweepCandidate;
  soaks: SoakResult[];
  failover?: FailoverResult;
  error?: string;
}

export function candidateSettings(c: SweepCandidate): FailoverSettings {
  return {
    label: `--keepalive ${c.keepaliveMs}ms --peer-timeout ${c.peerTimeoutMs}ms`,
    args: ['--keepalive', `${c.keepaliveMs}ms`, '--peer-timeout', `${c.peerTimeoutMs}ms`],
    keepaliveMs: c.keepaliveMs,
    peerTimeoutMs: c.peerTimeoutMs,
  };
}

/**
 * False failovers of a soak: live peers declared dead (what the formula predicts, per watched
 * link). Route moves, probe switches and status failovers are their visible consequences (one
 * death can cause several); they are counted too, so a switch without a death is not missed.
 */
export function falseFailoverCount(s: SoakResult): number {
  return s.peersLost;
}

function soakClean(s: SoakResult): boolean {
  return s.peersLost + s.clientRouteMoves + s.probeSwitches + s.statusFailovers === 0;
}

/** Every soak ran its course without a false failover or any of its consequences. */
export function isClean(row: SweepRow): boolean {
  return row.error === undefined && row.soaks.length > 0 && row.soaks.every(soakClean);
}

export async function measureSweep(plan: SweepPlan, deadline: number, log: (text: string) => void): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const candidate of plan.candidates) {
    const row: SweepRow = { candidate, soaks: [] };
    rows.push(row);
    const settings = candidateSettings(candidate);
    const t0 = Date.now();
    try {
      if (Date.now() > deadline) throw new Error('skipped: time budget used up');
      await withLab(HOSTS, async (lab, dir) => {
        // -v: suspect phases are logged (debug), the rest of the events are info anyway.
        const ha = new HaLab(lab, dir, { ...settings, args: [...settings.args, '-v'] });
        await ha.start();
        for (const s of plan.soaks) {
          const result = await soak(lab, ha, s.lossPercent, s.seconds, deadline);
          row.soaks.push(result);
          log(`sweep ${settings.label}, ${s.lossPercent} % loss: ${describeSoak(result)}`);
          if (result.seconds < s.seconds) throw new Error(`time budget used up after ${result.seconds.toFixed(0)} s of soak`);
        }
      });
      if (isClean(row)) {
        [row.failover] = await measureFailover({ settings, runs: [{ kind: 'kill -9', count: plan.killRuns }] }, deadline);
        const f = row.failover!;
        log(`sweep ${settings.label}, kill -9: ${f.error ? `error: ${f.error}` : `${f.gapsMs.map((g) => g.toFixed(0)).join(', ')} ms`}`);
      }
    } catch (e) {
      row.error = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').slice(0, 300);
      log(`sweep ${settings.label}: error: ${row.error}`);
    }
    log(`sweep ${settings.label} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return rows;
}

function describeSoak(s: SoakResult): string {
  return `${s.seconds.toFixed(0)} s, ${s.peersLost} peers lost, ${s.clientRouteMoves} client route moves, ${s.probeSwitches} probe switches, ` +
    `${s.statusFailovers} status failovers, ${s.suspicions} suspect phases (longest silence ${s.longestRecoveredMs} ms), ` +
    `${s.stalls} stalls (longest ${s.longestStallMs} ms), load ${s.load1.toFixed(2)}, lab CPU ${s.labCpuPct.toFixed(0)} %`;
}

/** Set the loss on every host, let the lab run untouched, and count what happened meanwhile. */
async function soak(lab: Lab, ha: HaLab, lossPercent: number, seconds: number, deadline: number): Promise<SoakResult> {
  for (const h of HOSTS) await lab.addLoss(h, lossPercent);
  const nodes = ha.hacloudByHost();
  const marks = new Map(nodes.map(([h, p]) => [h, p.lines.length]));
  const probeMark = ha.probeLines.length;
  const failoversBefore = await statusFailoverTotal(ha);
  const pids = [...nodes.map(([, p]) => p.pid), ha.probePid];
  const cpuBefore = sumCpu(pids);
  const started = Date.now();
  const end = Math.min(started + seconds * 1000, deadline);
  while (Date.now() < end) {
    const dead = deadProcess({ processes: nodes.map(([, p]) => p) });
    if (dead) throw new Error(`during the soak: ${dead}`);
    await sleep(Math.min(1_000, end - Date.now()));
  }
  const elapsedS = (Date.now() - started) / 1000;
  const labCpuPct = ((sumCpu(pids) - cpuBefore) / elapsedS) * 100;
  const load1 = loadavg()[0]!;
  const newLines = (h: string, p: LabProcess) => p.lines.slice(marks.get(h));
  const allNew = nodes.flatMap(([h, p]) => newLines(h, p));
  const count = (re: RegExp) => allNew.filter((l) => re.test(l)).length;
  const numbers = (re: RegExp) => allNew.flatMap((l) => re.exec(l)?.[1] ?? []).map(Number);
  const client = nodes.find(([h]) => h === 'client')!;
  const sharedRoute = new RegExp(`route ${SHARED_IP.replace(/\./g, '\\.')}/32 -> `);
  return {
    lossPercent,
    seconds: elapsedS,
    peersLost: count(/ peer \S+ lost/),
    clientRouteMoves: newLines(...client).filter((l) => sharedRoute.test(l)).length,
    probeSwitches: probeSwitches(ha.probeLines, probeMark),
    statusFailovers: (await statusFailoverTotal(ha)) - failoversBefore,
    suspicions: count(/ silent, probing/),
    longestRecoveredMs: Math.max(0, ...numbers(/ answered again .*silent_ms=(\d+)/)),
    stalls: count(/process was stalled/),
    longestStallMs: Math.max(0, ...numbers(/process was stalled for (\d+) ms/)),
    load1,
    labCpuPct,
  };
}

/** Changes of the answering server in probe lines from `from` on (silences in between do not count). */
export function probeSwitches(lines: readonly string[], from: number): number {
  const server = (line: string) => (line.startsWith('answer ') ? line.split(' ')[2] : undefined);
  let current = lines.slice(0, from).map(server).filter(Boolean).at(-1);
  let switches = 0;
  for (const line of lines.slice(from)) {
    const s = server(line);
    if (s === undefined) continue;
    if (current !== undefined && s !== current) switches++;
    current = s;
  }
  return switches;
}

/** Sum of failovers.total over every node's status (a node that does not answer is an error). */
async function statusFailoverTotal(ha: HaLab): Promise<number> {
  let total = 0;
  for (const h of HOSTS) {
    const status = (await requestControl(ha.controlSocket(h), 'status')) as { failovers?: { total?: unknown } };
    const n = status.failovers?.total;
    if (typeof n !== 'number') throw new Error(`${h}'s status has no failovers.total`);
    total += n;
  }
  return total;
}

function sumCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) || 0), 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** The clean candidate with the lowest kill -9 failover median (null if none was measured). */
export function fastestClean(rows: readonly SweepRow[]): SweepRow | null {
  let best: SweepRow | null = null;
  let bestMedian = Infinity;
  for (const row of rows) {
    const s = isClean(row) && row.failover ? summarize(row.failover) : null;
    if (s && s.median < bestMedian) {
      best = row;
      bestMedian = s.median;
    }
  }
  return best;
}
