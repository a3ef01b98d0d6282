// iperf3 runs across a tunnel: a server in one namespace, a bounded client in the other.
import type { Lab, LabProcess } from '../src/lab/netns.js';

export interface IperfResult {
  gbps: number;
  bytes: number;
  seconds: number;
}

/** Start `iperf3 -s` in host; resolves once it listens. */
export async function startIperfServer(lab: Lab, host: string): Promise<LabProcess> {
  const server = lab.spawn(host, 'iperf3', ['-s', '--forceflush']);
  await server.waitForLine(/Server listening/, 5_000);
  return server;
}

/** One bounded TCP run (-t seconds, `streams` parallel) from host to serverIp. */
export async function runIperf(lab: Lab, host: string, serverIp: string, seconds: number, streams: number): Promise<IperfResult> {
  const args = ['-c', serverIp, '-t', String(seconds), '-P', String(streams), '-J', '--connect-timeout', '3000'];
  const res = await lab.exec(host, 'iperf3', args, { check: false, timeoutMs: (seconds + 15) * 1000 });
  let json: { error?: string; end?: { sum_received?: { bytes: number; seconds: number; bits_per_second: number } } };
  try {
    json = JSON.parse(res.stdout) as typeof json;
  } catch {
    throw new Error(`iperf3 gave no result (exit ${res.code}): ${(res.stderr || res.stdout).trim().split('\n').slice(-1)[0] ?? ''}`);
  }
  const sum = json.end?.sum_received;
  if (json.error || !sum) throw new Error(`iperf3: ${json.error ?? 'no summary'}`);
  return { gbps: sum.bits_per_second / 1e9, bytes: sum.bytes, seconds: sum.seconds };
}
