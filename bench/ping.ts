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

export interface PingSeries {
  sent: number;
  answered: number;
  /** Largest RTT of an answered ping (NaN if none). */
  maxRttMs: number;
  /**
   * Longest time between consecutive answers (one interval when none was lost), counting the
   * run's start and end as answers: the sequence distance times the interval.
   */
  maxGapMs: number;
}

/** Reads `ping -n -i INTERVAL -c COUNT` output (Linux iputils). */
export function pingSeries(output: string, intervalMs: number): PingSeries {
  const replies = [...output.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)].map((m) => ({ seq: Number(m[1]), rtt: Number(m[2]) }));
  const sent = Number(/(\d+) packets transmitted/.exec(output)?.[1] ?? 0);
  const seqs = [...new Set(replies.map((r) => r.seq))].sort((a, b) => a - b);
  let maxGap = 0;
  let previous = 0; // iputils counts from 1
  for (const s of [...seqs, sent + 1]) {
    maxGap = Math.max(maxGap, s - previous);
    previous = s;
  }
  return {
    sent,
    answered: seqs.length,
    maxRttMs: replies.length ? Math.max(...replies.map((r) => r.rtt)) : Number.NaN,
    maxGapMs: maxGap * intervalMs,
  };
}
