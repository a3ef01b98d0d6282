// Engine events as log lines: one line each. The default level shows what an operator must
// know (start, failovers, peers lost, rejected handshakes); -v adds peer and claim changes.
import type { EngineEvent } from '../core/events.js';
import type { Logger } from '../log/logger.js';
import { shortId } from '../log/text.js';

/** Drops that point at a misconfigured or hostile sender are worth a line by default. */
const LOUD_DROPS = new Set(['auth', 'untrusted', 'rate-limited', 'self', 'bad-source', 'gossip-limit', 'dial-limit']);

export function short(id: string | null): string {
  return id === null ? 'none' : shortId(id);
}

export function logEngineEvent(log: Logger, e: EngineEvent): void {
  switch (e.type) {
    case 'started':
      return log.info(`node ${e.id} started`);
    case 'peer-up':
      return log.debug(`peer ${short(e.peer)} connected`, { endpoint: e.endpoint });
    case 'peer-down':
      return log.info(`peer ${short(e.peer)} lost`, { reason: e.reason, silent_ms: Math.round(e.silentMs) });
    case 'peer-restart':
      return log.info(`peer ${short(e.peer)} restarted`);
    case 'peer-roam':
      return log.debug(`peer ${short(e.peer)} moved`, { from: e.from, to: e.to });
    case 'peer-suspect':
      return log.debug(`peer ${short(e.peer)} silent, probing`, { silent_ms: Math.round(e.silentMs) });
    case 'peer-recovered':
      return log.debug(`peer ${short(e.peer)} answered again`, { silent_ms: Math.round(e.silentMs) });
    case 'peer-claims':
      return log.debug(`peer ${short(e.peer)} claims ${e.claims.join(',') || 'nothing'}`);
    case 'claim-denied':
      return log.warn(`peer ${short(e.peer)} claims ${e.prefix}: ignored (${e.reason})`);
    case 'boot-time-clamped':
      return log.warn(`peer ${short(e.peer)} announced a start time ${Math.round((e.announcedMs - e.usedMs) / 1000)} s ` +
        'beyond the allowed clock skew; its claims rank as if it had just started');
    case 'route-change':
      return log.info(`route ${e.prefixText} -> ${e.toSelf ? 'self' : short(e.to)}`, {
        from: short(e.from),
        cause: e.cause,
      });
    case 'self-detected':
      return log.debug(`endpoint ${e.endpoint} is this node itself; not connecting to it`);
    case 'stall':
      return log.warn(`process was stalled for ${Math.round(e.gapMs)} ms; peers get a grace period`);
    case 'drop': {
      const text = `dropped ${e.count} packet(s): ${e.reason}${e.detail ? ` (${e.detail})` : ''}`;
      return LOUD_DROPS.has(e.reason) ? log.info(text, { total: e.total }) : log.debug(text, { total: e.total });
    }
    case 'left':
      return log.debug('every peer acknowledged our leave');
  }
}
