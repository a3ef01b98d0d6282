// Human form of `hacloud status`: a few aligned tables. Pure; everything shown comes from the
// StatusJson (so `status` and `status --json` never disagree). Peer ids are shortened
// (log/text.ts), which is plenty to tell a mesh's nodes apart.
import type { PathJson, SocketJson, StatusJson, TrafficJson } from './status-json.js';
import { shortId } from '../log/text.js';

export function renderStatus(s: StatusJson): string {
  const out: string[] = [];
  const n = s.node;
  const endpointOf = new Map(s.peers.map((p) => [p.id, pathText(p.path)]));
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
    ['candidates', n.candidates.map((c) => `${c.endpoint} (${c.kind})`).join(', ') || '-'],
    ['relay', relayText(s)],
    ['timing', `keepalive ${formatDuration(n.keepaliveMs)}, peer timeout ${formatDuration(n.peerTimeoutMs)}`],
    ...(n.leaving ? [['state', 'leaving']] : []),
  ]));

  out.push('', `CLAIMS (${s.claims.length})`);
  if (s.claims.length === 0) out.push('  none');
  else {
    out.push(table([
      ['PREFIX', 'ROLE', 'PRIO', 'PREEMPT', 'HEALTH'],
      ...s.claims.map((c) => [
        c.prefix,
        c.role === 'withdrawn' ? `withdrawn (${c.state === 'drained' ? 'drained' : 'health'})` : c.role,
        String(c.priority),
        c.preempt ? (c.preemptDelayMs > 0 ? `yes, after ${formatDuration(c.preemptDelayMs)}` : 'yes') : 'no',
        c.health === null ? '-' : formatHealth(c.health),
      ]),
    ], '  '));
  }

  out.push('', `PEERS (${s.peers.length})`);
  if (s.peers.length === 0) out.push('  none');
  else {
    out.push(table([
      ['ID', 'PATH', 'STATE', 'LAST SEEN', 'RTT', 'HANDSHAKE', 'UPTIME', 'RX', 'TX', 'CLAIMS'],
      ...s.peers.map((p) => [
        shortId(p.id),
        pathText(p.path),
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
  // Every path known to a peer, when there is more than the one in use (relays, punches).
  const paths = s.peers.filter((p) => p.candidates.length > 1 || p.path.kind === 'relay');
  if (paths.length > 0) {
    out.push('', 'PATHS   * = active');
    out.push(table([
      ['', 'PEER', 'PATH', 'STATE', 'RTT', 'LAST HEARD'],
      ...paths.flatMap((p) => p.candidates.map((c) => [
        c.state === 'active' ? '*' : '',
        shortId(p.id),
        pathText(c.path),
        c.state,
        c.rttMs === null ? '-' : formatRtt(c.rttMs),
        c.lastHeardAgoMs === null ? 'never' : `${formatDuration(c.lastHeardAgoMs)} ago`,
      ])),
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
    const rows: string[][] = [['', 'PREFIX', 'CLAIMANT', 'PRIO', 'STATE', 'UPTIME', 'WHY ACTIVE']];
    for (const r of s.routes) {
      if (r.claimants.length === 0) rows.push(['', r.prefix, '-', '-', '-', '-', r.reason]);
      r.claimants.forEach((c, i) => {
        rows.push([
          c.active ? '*' : '',
          i === 0 ? r.prefix : '',
          who(c.id),
          String(c.priority),
          c.health !== 'up' ? c.health : c.epoch > 0 ? 'serving' : c.preempt ? 'standby, preempts' : 'standby',
          formatDuration(c.uptimeMs),
          c.active ? r.reason : i === 0 ? r.reason : '',
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

  if (s.events.length > 0) {
    const shown = s.events.slice(0, EVENTS_SHOWN);
    out.push('', `RECENT EVENTS (${shown.length} shown)`);
    out.push(table([
      ['WHEN', 'EVENT', 'PREFIX', 'PEER / MOVE', 'REASON'],
      ...shown.map((e) => [
        `${formatDuration(e.agoMs)} ago`,
        e.event,
        e.prefix ?? '',
        e.event === 'failover' ? `${who(e.from)} -> ${who(e.to)}` : e.peer ? who(e.peer) : '',
        [e.reason ?? '', e.gapMs === null || e.event !== 'failover' ? '' : `gap ${formatDuration(e.gapMs)}`].filter(Boolean).join(', '),
      ]),
    ], '  '));
  }

  const dropped = Object.entries(s.drops.byReason).filter(([, count]) => count > 0);
  out.push('', `DROPPED PACKETS: ${s.drops.total}${dropped.length > 0 ? `  (${dropped.map(([r, c]) => `${r} ${c}`).join(', ')})` : ''}`);
  out.push(`TRAFFIC: rx ${formatTraffic(s.traffic.rx)}, tx ${formatTraffic(s.traffic.tx)}`);
  if (s.socket) out.push(formatSocket(s.socket));
  return `${out.join('\n')}\n`;
}

/** The UDP socket's line: what it did, and what it (or the kernel, its buffer full) dropped. */
function formatSocket(k: SocketJson): string {
  const n = (v: number | null): string => (v === null ? '?' : String(v));
  const kernel = `${n(k.kernelReceiveDrops)} by the kernel (receive buffer full)`;
  if (k.sent === null) return `SOCKET (${k.implementation}): received datagrams dropped ${kernel}`;
  return `SOCKET (${k.implementation}): sent ${n(k.sent)} (${n(k.sendDrops)} dropped), received ${n(k.received)} ` +
    `(${n(k.receiveDrops)} dropped here, ${kernel}), errors ${n(k.errors)}`;
}


/** Recent events listed by the text form (the JSON has the whole bounded history). */
const EVENTS_SHOWN = 10;

function formatHealth(h: NonNullable<StatusJson['claims'][number]['health']>): string {
  const state = h.healthy ? 'healthy' : h.checks === 0 ? 'not checked yet' : 'failing';
  const last = h.lastOk === null ? '' : `, last check ${h.lastOk ? 'ok' : 'failed'}${h.lastDetail ? `: ${h.lastDetail}` : ''}`;
  return `${state} (rise ${h.rise}, fall ${h.fall}${last})`;
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

/** "192.0.2.1:3210" for a direct path, "via ABCDEFGH" through a relay peer. */
function pathText(p: PathJson): string {
  return p.kind === 'direct' ? p.endpoint : `via ${shortId(p.via)}`;
}

function relayText(s: StatusJson): string {
  const r = s.relay;
  if (r.mode === 'off') return 'off';
  const limit = `${r.limit.packetsPerSec} packets/s, ${formatBytes(r.limit.bytesPerSec)}/s per pair`;
  return `${r.mode} (${limit}); forwarded ${formatTraffic(r.forwarded)}`;
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
