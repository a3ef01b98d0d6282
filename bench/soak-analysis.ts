// What the fault soak (soak-scenario.ts) reads from its load generators and /proc: the
// clients' replies (test/e2e/fixtures/http-probe.mjs), their bulk transfers (tcp.mjs bulk), the
// longest time a client went without a reply, and whether a node's memory and descriptors grew.
import { readdirSync, readFileSync } from 'node:fs';
import { median } from './ping.js';

/** One finished request: when (epoch ms) and which server answered (null: it failed). */
export interface Reply {
  at: number;
  server: string | null;
}

/** http-probe.mjs prints "<epoch ms> <body>" for an answer, "<epoch ms> error-X" / "status-N" for a failure. */
export function parseReply(line: string, servers: readonly string[]): Reply | null {
  const m = /^(\d+) (\S+)$/.exec(line);
  if (!m) return null;
  return { at: Number(m[1]), server: servers.includes(m[2]!) ? m[2]! : null };
}

export interface Transfer {
  outcome: 'ok' | 'fail' | 'corrupt';
  start: number;
  end: number;
  /** Bytes (ok), what the sink counted (corrupt) or why it failed. */
  detail: string;
}

/** tcp.mjs bulk prints "bulk ok|fail|corrupt <start ms> <end ms> <detail>". */
export function parseTransfer(line: string): Transfer | null {
  const m = /^bulk (ok|fail|corrupt) (\d+) (\d+) (\S+)$/.exec(line);
  return m ? { outcome: m[1] as Transfer['outcome'], start: Number(m[2]), end: Number(m[3]), detail: m[4]! } : null;
}

/**
 * The longest stretch within [from, to] in which no reply arrived, counting `from` as a reply
 * (the time from a fault to the first answer after it, or a later, longer silence) and `to`
 * as one (a silence still going on at the end counts up to it). `answered`: answer times,
 * ascending.
 */
export function longestSilence(answered: readonly number[], from: number, to: number): number {
  let previous = from;
  let longest = 0;
  for (const at of answered) {
    if (at <= from) continue;
    if (at > to) break;
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.max(longest, to - previous);
}

/** Resident memory and open descriptors of a process at one moment. */
export interface ResourceSample {
  at: number;
  rssKb: number;
  fds: number;
}

/** VmRSS and the number of entries in /proc/PID/fd; null once the process is gone. */
export function sampleResources(pid: number, at = Date.now()): ResourceSample | null {
  try {
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return Number.isFinite(rssKb) ? { at, rssKb, fds } : null;
  } catch {
    return null;
  }
}

/** Early and late resource use of one process over a run. */
export interface ResourceTrend {
  samples: number;
  /** Median VmRSS (MiB) over the first and over the last quarter of the samples. */
  rssStartMb: number;
  rssEndMb: number;
  /** Most descriptors open in the first and in the last quarter. */
  fdsStart: number;
  fdsEnd: number;
  /** Median VmRSS (MiB) of each quarter in turn: levelling off, or still climbing? */
  rssQuartersMb: number[];
}

/**
 * Compare the first quarter of the samples with the last (at least `minWindow` samples each):
 * medians for memory, which a garbage collector moves up and down, maxima for descriptors,
 * which only leak upwards. Null with too few samples to tell.
 */
export function resourceTrend(samples: readonly ResourceSample[], minWindow = 3): ResourceTrend | null {
  const n = Math.max(minWindow, Math.floor(samples.length / 4));
  if (samples.length < 2 * n) return null;
  const first = samples.slice(0, n);
  const last = samples.slice(-n);
  const mb = (s: readonly ResourceSample[]) => median(s.map((x) => x.rssKb)) / 1024;
  const fds = (s: readonly ResourceSample[]) => Math.max(...s.map((x) => x.fds));
  const quarter = samples.length / 4;
  const rssQuartersMb = [0, 1, 2, 3].map((q) => mb(samples.slice(Math.round(q * quarter), Math.round((q + 1) * quarter))));
  return { samples: samples.length, rssStartMb: mb(first), rssEndMb: mb(last), fdsStart: fds(first), fdsEnd: fds(last), rssQuartersMb };
}
