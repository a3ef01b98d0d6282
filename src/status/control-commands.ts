// The control socket's commands besides status: drain and undrain. They validate what a
// client sent (never trusting its shape), act on the engine, and for drain wait — bounded —
// until every peer has acknowledged the NodeInfo that withdraws the claims.
import type { DrainProgress, DrainResult } from '../core/engine-api.js';

export interface DrainReply extends DrainResult, DrainProgress {
  /** How long the node waited for its peers. */
  waitedMs: number;
}

export interface DrainTarget {
  drain(prefixes: readonly string[] | null): DrainResult;
  undrain(prefixes: readonly string[] | null): DrainResult;
  drainProgress(prefixes: readonly string[] | null): DrainProgress;
}

/** A client may not make the node wait longer than this for one drain. */
export const MAX_DRAIN_WAIT_MS = 60_000;
const POLL_MS = 10;

export async function controlDrain(target: DrainTarget, args: Record<string, unknown>, undo: boolean): Promise<DrainReply> {
  const prefixes = prefixList(args['prefixes']);
  const waitMs = Math.min(MAX_DRAIN_WAIT_MS, Math.max(0, Number(args['timeoutMs'] ?? 10_000) || 0));
  const started = Date.now();
  const result = undo ? target.undrain(prefixes) : target.drain(prefixes);
  let progress = target.drainProgress(result.prefixes);
  while (!undo && !progress.settled && Date.now() - started < waitMs) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    progress = target.drainProgress(result.prefixes);
  }
  return { ...result, ...progress, waitedMs: Date.now() - started };
}

function prefixList(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.length > 1024 || !v.every((p) => typeof p === 'string' && p.length <= 64)) {
    throw new Error('"prefixes" must be null or a list of prefixes');
  }
  return v as string[];
}
