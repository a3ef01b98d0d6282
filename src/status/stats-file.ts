// --stats-file: VpnCloud's idea of a small YAML file with peers, claims and traffic that other
// tools can read, rewritten periodically. Written to a temporary file in the same directory
// and renamed over the old one, so a reader never sees a half-written file.
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { Logger } from '../log/logger.js';
import type { StatusJson } from './status-json.js';

export const DEFAULT_STATS_INTERVAL_MS = 60_000;

export interface StatsFile {
  close(): void;
}

/** The document written to the stats file (kebab-case keys like the config file). */
export function statsDocument(s: StatusJson): Record<string, unknown> {
  return {
    'format': s.format,
    'time': s.time,
    'node': {
      'id': s.node.id,
      'version': s.node.version,
      'device': s.node.device,
      'addresses': s.node.addresses,
      'listen': s.node.listen,
      'uptime-ms': s.node.uptimeMs,
      'boot-time': s.node.bootTime,
      'claims': s.node.claims,
    },
    'peers': s.peers.map((p) => ({
      'id': p.id,
      'endpoint': p.endpoint,
      'state': p.state,
      'last-seen-ago-ms': p.lastSeenAgoMs,
      'rtt-ms': p.rttMs,
      'claims': p.claims,
      'denied-claims': p.deniedClaims.map((d) => ({ 'prefix': d.prefix, 'reason': d.reason })),
      'traffic': {
        'rx-bytes': p.rx.bytes, 'rx-packets': p.rx.packets,
        'tx-bytes': p.tx.bytes, 'tx-packets': p.tx.packets,
      },
    })),
    'routes': s.routes.map((r) => ({
      'prefix': r.prefix,
      'active': r.active,
      'active-is-self': r.activeIsSelf,
      'reason': r.reason,
      'claimants': r.claimants.map((c) => ({ 'id': c.id, 'self': c.self, 'uptime-ms': c.uptimeMs })),
    })),
    'traffic': {
      'rx-bytes': s.traffic.rx.bytes, 'rx-packets': s.traffic.rx.packets,
      'tx-bytes': s.traffic.tx.bytes, 'tx-packets': s.traffic.tx.packets,
    },
    'failovers-total': s.failovers.total,
    'dropped': { 'total': s.drops.total, ...s.drops.byReason },
  };
}

export function renderStatsFile(s: StatusJson): string {
  return `# hacloud stats, rewritten periodically; fields as in docs/status-json.md (kebab-case)\n${stringify(statsDocument(s))}`;
}

/**
 * Writes once now, then every intervalMs (the timer does not keep the process alive).
 * Failures never throw: they are logged once (and once more when writing works again).
 */
export function startStatsFile(path: string, intervalMs: number, getStatus: () => StatusJson, log?: Logger): StatsFile {
  const tmp = `${path}.${process.pid}.tmp`;
  let failing = false;
  const write = (): void => {
    try {
      writeFileSync(tmp, renderStatsFile(getStatus()), { mode: 0o644 });
      renameSync(tmp, path);
      if (failing) log?.info('stats file written again', { path });
      failing = false;
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      if (!failing) log?.warn('cannot write stats file', { path, error: (e as Error).message });
      failing = true;
    }
  };
  write();
  const timer = setInterval(write, Math.max(1, intervalMs));
  timer.unref();
  return {
    close(): void {
      clearInterval(timer);
    },
  };
}
