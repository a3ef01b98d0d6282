// The fault soak's figures for a person: one row per fault, then the totals and the worst case.
import { table } from './report.js';
import { CLIENTS, RECOVERY_BOUND_MS, SETTLE_BOUND_MS, BULK_RESUME_BOUND_MS, type FaultResult, type SoakResult } from './soak-scenario.js';

/** The worst per-client silence of a fault (ms), or null if it was not measured. */
export function recoveryMs(f: FaultResult): number | null {
  return f.silenceMs ? Math.max(...CLIENTS.map((c) => f.silenceMs![c])) : null;
}

export function soakTable(r: SoakResult): string {
  const header = ['#', 'at s', 'fault', 'longest without reply c1 / c2 ms', 'settled ms', 'active before → after', 'bulk again ms', 'client failovers', 'stalls'];
  const rows = r.faults.map((f) => {
    const cells = [String(f.index), f.atS.toFixed(1), f.what];
    if (f.error !== undefined) return [...cells, `error: ${f.error}`, '', '', '', '', ''];
    return [...cells, `${f.silenceMs!.c1} / ${f.silenceMs!.c2}`, String(f.settleMs), `${f.activeBefore} → ${f.activeAfter}`,
      String(f.bulkResumeMs), String(f.clientFailovers), String(f.stalls)];
  });
  return table(header, rows);
}

function movedAnyway(faults: readonly FaultResult[]): string {
  const spared = faults.filter((f) => f.sparesActive);
  const moved = spared.filter((f) => f.activeAfter !== f.activeBefore);
  return `${moved.length} of ${spared.length}${moved.length ? ` (${moved.map((f) => `#${f.index}`).join(', ')})` : ''}`;
}

/** Summary lines under the table: seed, totals, the worst recovery and settle, memory, exits. */
export function soakSummary(r: SoakResult): string {
  const measured = r.faults.filter((f) => f.error === undefined);
  const worst = measured.reduce<FaultResult | null>((w, f) => (w === null || recoveryMs(f)! > recoveryMs(w)! ? f : w), null);
  const worstSettle = Math.max(0, ...measured.map((f) => f.settleMs!));
  const byKind = new Map<string, number>();
  const worstByKind = new Map<string, number>();
  for (const f of r.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  for (const f of measured) worstByKind.set(f.kind, Math.max(worstByKind.get(f.kind) ?? 0, recoveryMs(f)!));
  const perClient = (c: (typeof CLIENTS)[number]) => {
    const q = r.requests[c];
    const b = r.bulk[c];
    return `${c} ${q.ok} answered / ${q.failed} failed requests, ${b.ok} transfers ok (${b.mb.toFixed(0)} MiB) / ${b.failed} broken / ${b.corrupt} corrupt`;
  };
  const resources = r.resources.filter((n) => n.longRunning && n.trend).map((n) =>
    `${n.host} ${n.trend!.rssQuartersMb.map((mb) => mb.toFixed(1)).join(' / ')} MiB, ${n.trend!.fdsStart} → ${n.trend!.fdsEnd} fds`);
  return [
    `seed ${r.plan.seed}, ${r.faults.length} faults in ${r.seconds.toFixed(0)} s: ` +
      [...byKind].map(([k, n]) => `${n} ${k}`).join(', '),
    worst
      ? `worst recovery: ${recoveryMs(worst)} ms without a reply, fault ${worst.index} (${worst.what}); bound ${RECOVERY_BOUND_MS} ms; ` +
        `worst per kind: ${[...worstByKind].map(([k, ms]) => `${k} ${ms} ms`).join(', ')}`
      : 'worst recovery: no fault measured',
    `faults that spared the active server yet moved it: ${movedAnyway(measured)}`,
    `worst settle: ${worstSettle} ms (bound ${SETTLE_BOUND_MS} ms); bulk again within ${Math.max(0, ...measured.map((f) => f.bulkResumeMs!))} ms of settling (bound ${BULK_RESUME_BOUND_MS} ms)`,
    `${perClient('c1')}; ${perClient('c2')}`,
    `long-running nodes, VmRSS by quarter of the soak (medians) and descriptors, first → last quarter: ${resources.join('; ') || 'none sampled'}`,
    `hacloud exits nobody asked for: ${r.unexpectedExits.length === 0 ? 'none' : r.unexpectedExits.join('; ')}; ` +
      `stall warnings ${r.stalls}, "peer lost" lines ${r.peersLost}`,
    ...(r.error ? [`stopped early: ${r.error}`] : []),
  ].join('\n');
}
