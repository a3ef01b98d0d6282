// Round-trip time with ping: the median of a short, bounded burst.
import type { Lab } from '../src/lab/netns.js';

/** Median RTT in ms from host to ip (count pings every intervalS seconds); throws if none came back. */
export async function medianRttMs(lab: Lab, host: string, ip: string, count = 20, intervalS = 0.05): Promise<number> {
  const args = ['-n', '-c', String(count), '-i', String(intervalS), '-W', '1', ip];
  const res = await lab.exec(host, 'ping', args, { check: false, timeoutMs: (count * intervalS + 5) * 1000 });
  const times = [...res.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) throw new Error(`no ping reply from ${ip}`);
  return median(times);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
