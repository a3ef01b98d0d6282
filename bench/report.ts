// Markdown tables for the terminal and bench/RESULTS.md.
import type { MeshScaleResult, Spread } from './mesh-scale.js';
import { summarize, type FailoverResult } from './failover.js';
import { WATCHED_LINKS, candidateSettings, falseFailoverCount, fastestClean, type SweepRow } from './failover-sweep.js';
import type { FloodRow } from './flood.js';
import type { PathFigures, PathsResult } from './paths.js';
import { median } from './ping.js';
import type { Load, SimScaleRow, Timing } from './sim-scale.js';
import type { RowResult } from './throughput.js';
import { formatRate, predictFalseFailovers } from './liveness-theory.js';

const NA = '–';

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? NA : value.toFixed(digits);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function throughputTable(rows: readonly RowResult[]): string {
  const header = ['VPN', 'TCP 1 stream Gbit/s', 'TCP 4 streams Gbit/s', 'RTT added ms fresh / after load', 'CPU s/GB', 'CPU % core', 'MTU', 'RSS MB peak / idle / end'];
  const body = rows.map((r) => {
    if (r.error !== undefined) return [r.name, `n/a (error: ${r.error})`, NA, NA, NA, NA, NA, NA];
    const during = r.memory?.duringRunMb ? `; ${fixed(r.memory.duringRunMb[0], 0)}–${fixed(r.memory.duringRunMb[1], 0)} during` : '';
    const rss = r.memory ? `${fixed(r.memory.peakMb, 0)} / ${fixed(r.memory.idleMb, 0)} / ${fixed(r.memory.endMb, 0)} (${r.memory.afterSeconds} s${during})` : NA;
    return [r.name, fixed(r.tcp1Gbps, 2), fixed(r.tcp4Gbps, 2), `${fixed(r.rttAddedMs, 3)} / ${fixed(r.rttAddedAfterLoadMs, 3)}`, fixed(r.cpuSecondsPerGB, 2),
      fixed(r.cpuPercentOfCore, 0), r.mtu === undefined ? NA : String(r.mtu), rss];
  });
  return table(header, body);
}

/** hacloud ÷ each competitor, TCP 1 stream and TCP 4 streams. */
export function ratioTable(rows: readonly RowResult[], isHacloud: (r: RowResult) => boolean, competitors: readonly string[]): string {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !(b > 0) ? 'n/a' : `${(a / b).toFixed(2)}×`;
  const others = rows.filter((r) => competitors.includes(r.name));
  const header = ['hacloud ÷ (TCP 1 / TCP 4)', ...others.map((o) => o.name)];
  const body = rows.filter(isHacloud).map((h) => [
    h.name,
    ...others.map((o) => `${ratio(h.tcp1Gbps, o.tcp1Gbps)} / ${ratio(h.tcp4Gbps, o.tcp4Gbps)}`),
  ]);
  return table(header, body);
}

export function failoverTable(results: readonly FailoverResult[]): string {
  const header = ['Failover to survivor (client probes 10.0.0.1:8000 every 20 ms)', 'settings', 'runs', 'median ms', 'min ms', 'max ms', 'switch-backs'];
  const body = results.map((r) => {
    const s = summarize(r);
    const cells = [`${r.kind} active server's hacloud`, r.settings, String(r.gapsMs.length),
      fixed(s?.median, 0), fixed(s?.min, 0), fixed(s?.max, 0), String(r.switchBacks)];
    if (r.error !== undefined && s === null) cells[3] = `n/a (error: ${r.error})`;
    else if (r.error !== undefined) cells[2] += ` (then error: ${r.error})`;
    return cells;
  });
  return table(header, body);
}

/** One line per candidate and soak; the kill -9 failover (measured once per candidate) on its first line. */
export function sweepTable(rows: readonly SweepRow[]): string {
  const header = ['Failover sweep: settings', 'loss each way', 'soak s', 'false failovers', 'peers lost / client moves / probe switches / status',
    'suspect phases: longest silence ms', 'stalls: longest ms', 'predicted /s per link · in soak', 'load 1 min', 'lab CPU % core', 'kill -9 failover ms: median (min–max)'];
  const best = fastestClean(rows);
  const body: string[][] = [];
  for (const row of rows) {
    const label = candidateSettings(row.candidate).label + (row === best ? ' ◀ fastest, no false failover' : '');
    const f = row.failover ? summarize(row.failover) : null;
    let kill = f ? `${fixed(f.median, 0)} (${fixed(f.min, 0)}–${fixed(f.max, 0)}, ${row.failover!.gapsMs.length} runs)` : NA;
    if (row.failover?.error !== undefined) kill += ` (error: ${row.failover.error})`;
    else if (!row.failover && row.error === undefined) kill = 'not measured (false failovers)';
    if (row.error !== undefined) kill = `n/a (error: ${row.error})`;
    if (row.soaks.length === 0) body.push([label, NA, NA, NA, NA, NA, NA, NA, NA, NA, kill]);
    for (const [i, s] of row.soaks.entries()) {
      const theory = predictFalseFailovers(row.candidate.keepaliveMs, row.candidate.peerTimeoutMs, s.lossPercent / 100);
      body.push([
        label, `${s.lossPercent} %`, fixed(s.seconds, 0), String(falseFailoverCount(s)),
        `${s.peersLost} / ${s.clientRouteMoves} / ${s.probeSwitches} / ${s.statusFailovers}`,
        `${s.suspicions}: ${s.longestRecoveredMs} (${fixed((100 * s.longestRecoveredMs) / row.candidate.peerTimeoutMs, 0)} % of timeout)`,
        `${s.stalls}: ${s.longestStallMs}`,
        `${formatRate(theory.perLinkPerSecond)} · ${formatRate(theory.perLinkPerSecond * WATCHED_LINKS * s.seconds)}`,
        fixed(s.load1, 2), fixed(s.labCpuPct, 0), i === 0 ? kill : '″',
      ]);
    }
  }
  return table(header, body);
}

export function floodTable(rows: readonly FloodRow[]): string {
  const header = ['Handshake flood on v', 'flood datagrams/s (sources)', 'joins ≤ 2 s', 'join ms: median (each)',
    "e's pings lost %", "e's max RTT ms", 'v CPU % core', 'v flood drops / kernel drops'];
  const body = rows.map((row) => {
    const r = row.result;
    if (!r) return [`${row.plan.mode} mode`, `n/a (error: ${row.error})`, NA, NA, NA, NA, NA, NA];
    // a join that never happened sorts last and may be the median
    const joins = r.joins.map((j) => j.sessionMs ?? Infinity).sort((a, b) => a - b);
    const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'never');
    const p = r.ping;
    return [
      `${r.plan.mode} mode`,
      `${fixed(r.windowRate, 0)} (${r.flood.sources})`,
      `${joins.filter((v) => v <= 2_000).length} of ${joins.length}`,
      `${ms(median(joins))} (${joins.map(ms).join(', ')})`,
      p.sent ? fixed((100 * (p.sent - p.answered)) / p.sent, 1) : NA,
      fixed(p.maxRttMs, 1),
      fixed(r.victimCpuPct, 0),
      `${r.floodDrops} / ${r.kernelDrops}`,
    ];
  });
  return table(header, body);
}

/** Direct against relayed (throughput, RTT), then the path timings (median, min, max of the runs). */
export function pathsTables(r: PathsResult): string {
  const cell = (f: PathFigures, v: number | undefined, digits: number) => (f.error !== undefined && v === undefined ? `n/a (error: ${f.error})` : fixed(v, digits));
  const figures = table(['a → c (each behind its own NAT)', 'direct (punched)', 'relayed via p'], [
    ['TCP 1 stream Gbit/s', cell(r.direct, r.direct.tcp1Gbps, 2), cell(r.relayed, r.relayed.tcp1Gbps, 2)],
    ['idle RTT ms (median)', cell(r.direct, r.direct.rttMs, 3), cell(r.relayed, r.relayed.rttMs, 3)],
    ['relay p CPU % core', NA, cell(r.relayed, r.relayed.relayCpuPct, 0)],
  ]);
  const row = (what: string, ms: readonly number[], extra = ''): string[] =>
    [what, String(ms.length), fixed(ms.length ? median(ms) : undefined, 0), fixed(ms.length ? Math.min(...ms) : undefined, 0),
      fixed(ms.length ? Math.max(...ms) : undefined, 0), extra];
  const lost = r.breakLost.length ? `${r.breakLost.join(', ')} pings of 20 ms lost` : '';
  const times = table(['Path timing', 'runs', 'median ms', 'min ms', 'max ms', ''], [
    row('both nodes listening → punched direct path both ways', r.punchMs),
    row('UDP between the routers dropped → pings answered via p', r.breakMs, lost),
    row('drop rule removed → direct path both ways again', r.healMs),
  ]);
  const errors = r.errors.length ? `\n\nErrors: ${r.errors.join('; ')}` : '';
  return `${figures}\n\n${times}${errors}`;
}

/** The simulator at 10, 100, 1 000 nodes: convergence, idle load per node, join, crash, failover. */
export function simScaleTable(rows: readonly SimScaleRow[]): string {
  const ms = (t: Timing): string => ('ms' in t ? t.ms.toFixed(0) : `n/a (${t.over})`);
  const load = (l: Load | undefined): string =>
    l ? `${fixed(l.datagramsPerS, 1)} · ${fixed(l.bytesPerS / 1000, 2)} · ${fixed(l.wakeupsPerS, 1)} · ${fixed(l.cpuMsPerS, 2)}` : NA;
  const header = ['Simulated nodes', 'converged ms (routes known)', 'converging, per node: datagrams/s · kB/s · wake-ups/s · CPU ms/s',
    'idle, per node: datagrams/s · kB/s · wake-ups/s · CPU ms/s', 'join known everywhere ms', 'crash known everywhere ms',
    'shared-IP failover ms: client served / all switched', 'simulated s / CPU s'];
  const body = rows.map((r) => {
    if (r.error !== undefined && r.converging === undefined) return [String(r.plan.nodes), `n/a (error: ${r.error})`, NA, NA, NA, NA, NA, NA];
    return [
      String(r.plan.nodes),
      `${ms(r.converge)} (${fixed(100 * r.knownShare, 1)} %)`,
      load(r.converging),
      load(r.idle),
      ms(r.join),
      ms(r.crash),
      `${ms(r.failoverClient)} / ${ms(r.failoverAll)}`,
      `${fixed(r.simulatedS, 1)} / ${fixed(r.cpuS, 0)}${r.error !== undefined ? ` (then error: ${r.error})` : ''}`,
    ];
  });
  return table(header, body);
}

export function meshScaleTable(r: MeshScaleResult): string {
  const n = r.plan.nodes;
  const fmt = (v: Spread | undefined, digits: number) => (v ? `${v.median.toFixed(digits)} (max ${v.max.toFixed(digits)})` : '–');
  const sw = r.switchMs;
  const rows = [
    ['nodes', String(n)],
    ['last start → every node knows and routes every other (ms)', r.convergeMs === null
      ? `not converged: members alive per node min ${r.minAlive} of ${n - 1}, routed claims min ${r.minRoutes} of ${n + 1}${r.silentNodes ? `; ${r.silentNodes} silent` : ''}`
      : String(r.convergeMs)],
    ['membership', r.fullMesh ? 'full mesh (every node keeps every other)' : 'SWIM (sessions only with peers in use)'],
    ['peers with a session per node, median (max)', `${r.sessions.median} (${r.sessions.max}) of ${n - 1}`],
    ['idle UDP datagrams/s per node, median (max)', fmt(r.idleDatagramsPerS, 1)],
    ['idle bytes/s per node, median (max)', fmt(r.idleBytesPerS, 0)],
    ['idle CPU % of a core per node, median (max)', fmt(r.idleCpuPct, 1)],
    ['RSS MB per node, median (max)', fmt(r.rssMb, 0)],
    ['kill -9 of the VIP holder → the node pinging the VIP switched (ms)', r.userSwitchMs === null ? 'did not switch' : String(r.userSwitchMs)],
    ['… others switched', `${sw.length}/${r.switchExpected}`],
    ['… switch time ms: median / max', sw.length ? `${sw[Math.floor((sw.length - 1) / 2)]} / ${sw[sw.length - 1]}` : '–'],
  ];
  if (r.errors.length) rows.push(['errors', r.errors.join('; ')]);
  return table(['Mesh scale (real processes)', 'value'], rows);
}
