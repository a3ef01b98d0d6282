// One row of the throughput table: a fresh two-host lab, the VPN's tunnel, idle RTT, then
// bounded iperf3 runs (1 and 4 TCP streams) with the VPN processes' CPU read around each, and
// idle RTT once more after the load.
import type { Lab } from '../src/lab/netns.js';
import { startIperfServer, runIperf, type IperfResult } from './iperf.js';
import { median, medianRttMs } from './ping.js';
import { memoryMb, totalCpuSeconds } from './proc.js';
import { withLab } from './scratch.js';
import { deadProcess, waitUntil, type Tunnel, type Vpn } from './vpn.js';

/** RSS sampling period during the long run. */
const RSS_SAMPLE_MS = 5_000;
/** Quiet time between the last load and the after-load RTT pings. */
const AFTER_LOAD_PAUSE_MS = 1_000;

export interface ThroughputSettings {
  iperfSeconds: number;
  repetitions: number;
  /** Length of the extra run whose end RSS is reported; 0: RSS after the normal runs. */
  rssRunSeconds: number;
  pingCount: number;
  tunnelUpTimeoutMs: number;
}

export interface RowResult {
  name: string;
  error?: string;
  tcp1Gbps?: number;
  tcp4Gbps?: number;
  /** Idle ping RTT through the tunnel minus the underlay's: right after start, and after the load. */
  rttAddedMs?: number;
  rttAddedAfterLoadMs?: number;
  /** VPN processes of both ends, user+sys, over all iperf runs of the row. */
  cpuSecondsPerGB?: number;
  cpuPercentOfCore?: number;
  mtu?: number;
  /**
   * hacloud: peak since start, at idle after the tunnel came up, at the end of the load, and
   * the range sampled every RSS_SAMPLE_MS during the long run (flat is the goal).
   */
  memory?: { peakMb: number; idleMb: number; endMb: number; afterSeconds: number; duringRunMb?: [number, number] };
}

export async function measureRow(vpn: Vpn, s: ThroughputSettings): Promise<RowResult> {
  const row: RowResult = { name: vpn.name };
  try {
    await withLab(['a', 'b'], (lab, dir) => measureTunnel(vpn, s, lab, dir, row));
  } catch (e) {
    row.error = oneLine(e instanceof Error ? e.message : String(e));
  }
  return row;
}

async function measureTunnel(vpn: Vpn, s: ThroughputSettings, lab: Lab, dir: string, row: RowResult): Promise<void> {
  const tunnel = await vpn.start(lab, dir);
  const pingOnce = async () => (await lab.exec('a', 'ping', ['-n', '-c', '1', '-W', '1', tunnel.serverIp], { check: false, timeoutMs: 5_000 })).code === 0;
  await waitUntil(`${tunnel.serverIp} to answer through the tunnel`, s.tunnelUpTimeoutMs, pingOnce, tunnel.processes);
  row.mtu = await readMtu(lab, tunnel.device);
  const idleMb = Math.max(...tunnel.memoryProcesses.map((p) => memoryMb(p.pid).rssMb));
  const server = await startIperfServer(lab, 'b');

  const underlayRtt = await medianRttMs(lab, 'a', lab.ip('b'), s.pingCount, 0.02);
  row.rttAddedMs = (await medianRttMs(lab, 'a', tunnel.serverIp, s.pingCount, 0.02)) - underlayRtt;

  const tcp1: number[] = [];
  const tcp4: number[] = [];
  let cpu = 0;
  let bytes = 0;
  let seconds = 0;
  const measured = async (streams: number, runSeconds: number): Promise<IperfResult> => {
    const before = totalCpuSeconds(tunnel.processes.map((p) => p.pid));
    const r = await runIperf(lab, 'a', tunnel.serverIp, runSeconds, streams).catch((e: unknown) => {
      throw new Error(deadProcess(tunnel) ?? (server.running ? String(e instanceof Error ? e.message : e) : 'iperf3 server died'));
    });
    cpu += totalCpuSeconds(tunnel.processes.map((p) => p.pid)) - before;
    bytes += r.bytes;
    seconds += r.seconds;
    return r;
  };
  for (let i = 0; i < s.repetitions; i++) {
    tcp1.push((await measured(1, s.iperfSeconds)).gbps);
    tcp4.push((await measured(4, s.iperfSeconds)).gbps);
  }
  row.tcp1Gbps = median(tcp1);
  row.tcp4Gbps = median(tcp4);
  if (tunnel.processes.length > 0) {
    row.cpuSecondsPerGB = cpu / (bytes / 1e9);
    row.cpuPercentOfCore = (cpu / seconds) * 100;
  }
  if (tunnel.memoryProcesses.length > 0) {
    const samples: number[] = [];
    if (s.rssRunSeconds > 0) {
      const sampler = setInterval(() => samples.push(memoryOf(tunnel).endMb), RSS_SAMPLE_MS);
      try {
        await measured(1, s.rssRunSeconds);
      } finally {
        clearInterval(sampler);
      }
    }
    row.memory = {
      ...memoryOf(tunnel), idleMb, afterSeconds: s.rssRunSeconds || s.repetitions * 2 * s.iperfSeconds,
      ...(samples.length > 0 ? { duringRunMb: [Math.min(...samples), Math.max(...samples)] as [number, number] } : {}),
    };
  }
  // Idle again after carrying traffic: the state a long-running VPN is in (for hacloud, its
  // JIT-compiled data path; native VPNs should show the same figure as right after start).
  await new Promise((r) => setTimeout(r, AFTER_LOAD_PAUSE_MS));
  row.rttAddedAfterLoadMs = (await medianRttMs(lab, 'a', tunnel.serverIp, s.pingCount, 0.02)) - underlayRtt;
  const dead = deadProcess(tunnel);
  if (dead) throw new Error(dead);
}

/** Largest peak and largest current RSS over the tunnel's memory-reported processes. */
function memoryOf(tunnel: Tunnel): { peakMb: number; endMb: number } {
  const m = tunnel.memoryProcesses.map((p) => memoryMb(p.pid));
  return { peakMb: Math.max(...m.map((x) => x.peakMb)), endMb: Math.max(...m.map((x) => x.rssMb)) };
}

async function readMtu(lab: Lab, device: string): Promise<number | undefined> {
  const res = await lab.exec('a', 'cat', [`/sys/class/net/${device}/mtu`], { check: false });
  const mtu = Number(res.stdout.trim());
  return res.code === 0 && mtu > 0 ? mtu : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 300);
}
