// Human form of `hacloud status`: a few aligned tables. Pure; everything shown comes from the
// StatusJson (so `status` and `status --json` never disagree). Peer ids are shortened
// (log/text.ts), which is plenty to tell a mesh's nodes apart.
import type { StatusJson, TrafficJson } from './status-json.js';
import { shortId } from '../log/text.js';

export function renderStatus(s: StatusJson): string {
  const out: string[] = [];
  const n = s.node;
  const endpointOf = new Map(s.peers.map((p) => [p.id, p.endpoint]));
  const who = (id: string | null): string => {
    if (id === null) return '-';
    if (id === n.id) return `${shortId(id)} (self)`;
    const ep = endpointOf.get(id);
    return ep ? `${shortId(id)} (${ep})` : shortId(id);
  };

  out.push(table([
    ['node', n.id],
    ['version', n.version],
    ['device', `${n.device}  ${n.addresses.join(', ') || '(no address)'}`],
    ['listen', n.listen + (n.selfEndpoints.length > 0 ? `  (self: ${n.selfEndpoints.join(', ')})` : '')],
    ['uptime', `${formatDuration(n.uptimeMs)}  (since ${n.bootTime})`],
    ['claims', n.claims.join(', ') || '-'],
    ['timing', `keepalive ${formatDuration(n.keepaliveMs)}, peer timeout ${formatDuration(n.peerTimeoutMs)}`],
    ...(n.leaving ? [['state', 'leaving']] : []),
  ]));

  out.push('', `PEERS (${s.peers.length})`);
  if (s.peers.length === 0) out.push('  none');
  else {
    out.push(table([
      ['ID', 'ENDPOINT', 'STATE', 'LAST SEEN', 'RTT', 'HANDSHAKE', 'UPTIME', 'RX', 'TX', 'CLAIMS'],
      ...s.peers.map((p) => [
        shortId(p.id),
        p.endpoint,
        p.session ? p.state : `${p.state} (no session)`,
        `${formatDuration(p.lastSeenAgoMs)} ago`,
        p.rttMs === null ? '-' : formatRtt(p.rttMs),
        p.handshakeAgoMs === null ? '-' : `${formatDuration(p.handshakeAgoMs)} ago`,
        p.uptimeMs === null ? '-' : formatDuration(p.uptimeMs),
        formatTraffic(p.rx),
        formatTraffic(p.tx),
        p.claims.join(', ') || '-',
      ]),
    ], '  '));
  }
  const denied = s.peers.flatMap((p) => p.deniedClaims.map((d) => [shortId(p.id), d.prefix, d.reason]));
  if (denied.length > 0) {
    out.push('', `DENIED CLAIMS (${denied.length})   ignored: no route, no traffic from these sources`);
    out.push(table([['PEER', 'PREFIX', 'WHY'], ...denied], '  '));
  }
  if (s.connecting.length > 0) {
    out.push('', `CONNECTING (${s.connecting.length})`);
    out.push(table([
      ['ENDPOINT', 'KIND', 'ATTEMPTS', 'NEXT TRY'],
      ...s.connecting.map((c) => [c.endpoint, c.kind, String(c.attempts), `in ${formatDuration(c.nextAttemptInMs)}`]),
    ], '  '));
  }

  out.push('', `ROUTES (${s.routes.length})   * = active`);
  if (s.routes.length === 0) out.push('  none');
  else {
    const rows: string[][] = [['', 'PREFIX', 'CLAIMANT', 'UPTIME', 'WHY ACTIVE']];
    for (const r of s.routes) {
      if (r.claimants.length === 0) rows.push(['', r.prefix, '-', '-', r.reason]);
      r.claimants.forEach((c, i) => {
        const extra = [c.health === null ? '' : `health ${c.health}`, c.priority === null ? '' : `priority ${c.priority}`]
          .filter(Boolean).join(', ');
        rows.push([
          c.active ? '*' : '',
          i === 0 ? r.prefix : '',
          who(c.id),
          formatDuration(c.uptimeMs) + (extra ? ` (${extra})` : ''),
          c.active ? r.reason : '',
        ]);
      });
    }
    out.push(table(rows, '  '));
  }

  out.push('', `RECENT FAILOVERS (${s.failovers.recent.length} shown, ${s.failovers.total} total)`);
  if (s.failovers.recent.length === 0) out.push('  none');
  else {
    out.push(table([
      ['WHEN', 'PREFIX', 'FROM', 'TO', 'CAUSE', 'GAP'],
      ...s.failovers.recent.map((f) => [
        `${formatDuration(f.agoMs)} ago`,
        f.prefix,
        who(f.from),
        who(f.to),
        f.cause,
        formatDuration(f.gapMs),
      ]),
    ], '  '));
  }

  const dropped = Object.entries(s.drops.byReason).filter(([, count]) => count > 0);
  out.push('', `DROPPED PACKETS: ${s.drops.total}${dropped.length > 0 ? `  (${dropped.map(([r, c]) => `${r} ${c}`).join(', ')})` : ''}`);
  out.push(`TRAFFIC: rx ${formatTraffic(s.traffic.rx)}, tx ${formatTraffic(s.traffic.tx)}`);
  return `${out.join('\n')}\n`;
}


/** 0ms, 850ms, 4.2s, 59s, 3m05s, 2h03m, 3d04h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const totalS = Math.floor(s);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${pad2(totalS % 60)}s`;
  if (totalS < 86400) return `${Math.floor(totalS / 3600)}h${pad2(Math.floor(totalS / 60) % 60)}m`;
  return `${Math.floor(totalS / 86400)}d${pad2(Math.floor(totalS / 3600) % 24)}h`;
}

function formatRtt(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}

/** 512 B, 1.5 KiB, 12 MiB ... */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function formatTraffic(t: TrafficJson): string {
  return `${formatBytes(t.bytes)}/${t.packets}p`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
function table(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
