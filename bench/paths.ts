// Paths benchmark (issue 12): in the NAT lab of paths-scenario.ts (a and c each behind its own
// masquerading router, p public), the punched direct path against the relay through p:
// iperf3 throughput (TCP, 1 stream) and idle ping RTT a→c on each; how long from both nodes
// listening to a punched path (fresh ports each start, so the routers hold no old mapping);
// how long from UDP between the routers dropped to pings answered through p (and how many
// 20 ms pings that cost); and from the drop rule removed to the direct path again.
// Every phase reports its own error; the others still run.
import { startIperfServer, runIperf } from './iperf.js';
import { medianRttMs } from './ping.js';
import { PathsLab, PingRun, pathsLayout, recoveryAfter, sleep, TUN_IP } from './paths-scenario.js';
import { cpuSeconds } from './proc.js';
import { withLab } from './scratch.js';

export interface PathsPlan {
  /** Starts of a and c measured (the first in the fresh lab, then restarts on new ports). */
  starts: number;
  /** Path breaks (drop rule in, then out again) measured. */
  breaks: number;
  iperfSeconds: number;
  pingCount: number;
}

/** The same measurements on the direct and the relayed path. */
export interface PathFigures {
  tcp1Gbps?: number;
  rttMs?: number;
  /** The relay p's CPU while it carried the iperf3 run, % of one core (relayed path only). */
  relayCpuPct?: number;
  error?: string;
}

export interface PathsResult {
  plan: PathsPlan;
  /** ms from the later of a's and c's "listening" log lines to a direct path both ways. */
  punchMs: number[];
  /** ms from the drop rule going in to the first ping a→c answered through p. */
  breakMs: number[];
  /** 20 ms pings lost in each break. */
  breakLost: number[];
  /** ms from the drop rule going out to a direct path both ways again. */
  healMs: number[];
  direct: PathFigures;
  relayed: PathFigures;
  /** Errors of the timing phases (the figures above stop where one happened). */
  errors: string[];
}

const PUNCH_TIMEOUT_MS = 20_000;
const RELAY_TIMEOUT_MS = 15_000;
const HEAL_TIMEOUT_MS = 40_000;
const PING_INTERVAL_MS = 20;
/** Replies through the relay for this long before the ping run stops. */
const SETTLE_MS = 300;
const FIRST_PORT = 3210;

export async function measurePaths(plan: PathsPlan, deadline: number, log: (text: string) => void): Promise<PathsResult> {
  const result: PathsResult = { plan, punchMs: [], breakMs: [], breakLost: [], healMs: [], direct: {}, relayed: {}, errors: [] };
  if (Date.now() > deadline) {
    result.errors.push('skipped: time budget used up');
    return result;
  }
  try {
    await withLab(pathsLayout(), async (lab, dir) => {
      const pl = new PathsLab(lab, dir);
      await pl.start('p');
      await phase(result, 'punch', () => measureStarts(pl, plan, result, deadline, log));
      result.direct = await figures(pl, plan, false);
      log(`paths direct: ${show(result.direct)}`);
      await phase(result, 'break', () => measureBreaks(pl, plan, result, deadline, log));
    });
  } catch (e) {
    result.errors.push(oneLine(e));
  }
  return result;
}

async function measureStarts(pl: PathsLab, plan: PathsPlan, result: PathsResult, deadline: number, log: (text: string) => void): Promise<void> {
  for (let i = 0; i < plan.starts && (i === 0 || Date.now() < deadline); i++) {
    if (i > 0) await Promise.all([pl.stop('a'), pl.stop('c')]);
    const port = FIRST_PORT + 1 + i;
    const [a, c] = await Promise.all([pl.start('a', port), pl.start('c', port)]);
    const at = await pl.waitPaths('direct', PUNCH_TIMEOUT_MS);
    result.punchMs.push(at - Math.max(a, c));
    log(`paths: start ${i + 1}: punched direct path after ${at - Math.max(a, c)} ms`);
  }
}

/** Each break: ping a→c every 20 ms, drop UDP between the routers, time the relay; then heal. */
async function measureBreaks(pl: PathsLab, plan: PathsPlan, result: PathsResult, deadline: number, log: (text: string) => void): Promise<void> {
  for (let i = 0; i < plan.breaks && (i === 0 || Date.now() < deadline); i++) {
    const ping = await PingRun.start(pl, 'a', 'c', PING_INTERVAL_MS, RELAY_TIMEOUT_MS + 10_000);
    let atMs = 0;
    try {
      atMs = Date.now();
      await pl.breakDirect();
      await pl.waitPaths('relay', RELAY_TIMEOUT_MS);
      await sleep(SETTLE_MS);
    } finally {
      const { recoverMs, lost } = recoveryAfter(await ping.stop(), atMs);
      if (recoverMs !== null) {
        result.breakMs.push(recoverMs);
        result.breakLost.push(lost);
      }
      log(`paths: break ${i + 1}: pings answered via p after ${recoverMs ?? 'never'} ms (${lost} lost)`);
    }
    if (i === 0) {
      result.relayed = await figures(pl, plan, true);
      log(`paths relayed: ${show(result.relayed)}`);
    }
    const healAt = Date.now();
    await pl.healDirect();
    const at = await pl.waitPaths('direct', HEAL_TIMEOUT_MS);
    result.healMs.push(at - healAt);
    log(`paths: heal ${i + 1}: direct again after ${at - healAt} ms`);
  }
}

/** Idle RTT and one iperf3 run a→c on the current path (and p's CPU meanwhile). */
async function figures(pl: PathsLab, plan: PathsPlan, relayed: boolean): Promise<PathFigures> {
  const f: PathFigures = {};
  try {
    f.rttMs = await medianRttMs(pl.lab, 'a', TUN_IP.c, plan.pingCount, 0.05);
    const server = await startIperfServer(pl.lab, 'c');
    try {
      const cpu0 = cpuSeconds(pl.process('p').pid);
      const run = await runIperf(pl.lab, 'a', TUN_IP.c, plan.iperfSeconds, 1);
      f.tcp1Gbps = run.gbps;
      if (relayed) f.relayCpuPct = ((cpuSeconds(pl.process('p').pid) - cpu0) / run.seconds) * 100;
    } finally {
      await server.stop();
    }
    const still = await Promise.all([pl.path('a', 'c'), pl.path('c', 'a')]);
    const want = relayed ? 'relay' : 'direct';
    if (still.some((p) => p.kind !== want)) f.error = `the path changed during the run (a→c ${still[0]!.kind}, c→a ${still[1]!.kind})`;
  } catch (e) {
    f.error = oneLine(e);
  }
  return f;
}

async function phase(result: PathsResult, name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    result.errors.push(`${name}: ${oneLine(e)}`);
  }
}

function show(f: PathFigures): string {
  const cpu = f.relayCpuPct === undefined ? '' : `, relay CPU ${f.relayCpuPct.toFixed(0)} %`;
  return f.error ?? `${f.tcp1Gbps?.toFixed(2)} Gbit/s, RTT ${f.rttMs?.toFixed(3)} ms${cpu}`;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').slice(0, 300);
}

