// Claims with options: what `claims:` items (a prefix, or an object) and `--claim` values (a
// prefix, optionally followed by KEY=VALUE items) mean.
//
//   claims:                                  --claim 10.0.0.1/32,priority=150,preempt=yes,
//     - 10.9.0.0/16                                  preempt-delay=30s,health=tcp:127.0.0.1:8000,
//     - prefix: 10.0.0.1/32                          interval=1s,timeout=500ms,rise=2,fall=2
//       priority: 150
//       preempt: true
//       preempt-delay: 30s
//       health: { tcp: 127.0.0.1:8000, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
//
// In the compact form, items with '=' belong to the prefix before them (an http URL that
// contains a comma must go in the YAML). health= takes tcp:HOST:PORT, http(s)://URL or
// exec:COMMAND.
import { DEFAULT_HEALTH_FALL, DEFAULT_HEALTH_RISE } from '../core/health.js';
import { DEFAULT_PRIORITY, MAX_PRIORITY } from '../core/routing.js';
import { formatPrefix, parseHostPort, parsePrefix, type Prefix } from '../wire/addr.js';
import { parseDurationMs } from './duration.js';
import { ValueError } from './errors.js';
import { closest } from './suggest.js';
import type { ClaimConfig, HealthCheckConfig, HealthProbeSpec } from './types.js';

export const DEFAULT_HEALTH_INTERVAL_MS = 1_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 500;
/** Checks are separate processes or sockets: not more often than this. */
export const MIN_HEALTH_INTERVAL_MS = 100;
/** More than this many consecutive results would only slow a failover down. */
const MAX_RISE_FALL = 100;

/** One item of the claims list before the compact form's options are attached to their prefix. */
export type ClaimItem =
  | { kind: 'claim'; claim: ClaimConfig; compact: boolean }
  | { kind: 'option'; key: string; value: string };

const OPTION_KEYS = ['priority', 'preempt', 'preempt-delay', 'health', 'interval', 'timeout', 'rise', 'fall'] as const;
const OBJECT_KEYS = ['prefix', 'priority', 'preempt', 'preempt-delay', 'health'] as const;
const HEALTH_KEYS = ['tcp', 'http', 'exec', 'interval', 'timeout', 'rise', 'fall'] as const;

export function plainClaim(prefix: Prefix): ClaimConfig {
  return { prefix, priority: DEFAULT_PRIORITY, preempt: false, preemptDelayMs: 0, health: null };
}

/** A text item of `--claim` or of `claims:`: a prefix, or KEY=VALUE for the prefix before it. */
export function parseClaimItem(text: string): ClaimItem {
  const eq = text.indexOf('=');
  if (eq < 0) return { kind: 'claim', claim: plainClaim(parseClaimPrefix(text)), compact: true };
  const key = text.slice(0, eq).trim().toLowerCase();
  if (!(OPTION_KEYS as readonly string[]).includes(key)) {
    const guess = closest(key, OPTION_KEYS);
    throw new ValueError(`unknown claim option '${key}'${guess ? ` (did you mean '${guess}'?)` : ''}; options: ${OPTION_KEYS.join(', ')}`);
  }
  return { kind: 'option', key, value: text.slice(eq + 1).trim() };
}

/** A `claims:` item written as a YAML object. */
export function parseClaimObject(value: unknown): ClaimConfig {
  const o = asObject(value, 'a claim');
  checkKeys(o, OBJECT_KEYS, 'claim');
  if (o['prefix'] === undefined) throw new ValueError('a claim written as an object needs prefix: ADDR/LEN');
  const claim = plainClaim(parseClaimPrefix(String(o['prefix'])));
  if (o['priority'] !== undefined) claim.priority = priorityOf(o['priority']);
  if (o['preempt'] !== undefined) claim.preempt = booleanOf(o['preempt'], 'preempt');
  if (o['preempt-delay'] !== undefined) claim.preemptDelayMs = durationOf(o['preempt-delay'], 'preempt-delay');
  if (o['health'] !== undefined) claim.health = healthObject(o['health']);
  return claim;
}

/**
 * Attach compact options to the prefix before them, in order. `where(i)` names item i for
 * errors ("--claim", "a.yaml:4: claims").
 */
export function groupClaimItems(items: readonly ClaimItem[], where: (i: number) => string): ClaimConfig[] {
  const out: ClaimConfig[] = [];
  let current: { claim: ClaimConfig; compact: boolean; health: Partial<HealthCheckConfig> | null } | null = null;
  const finish = (at: number) => {
    if (current?.health) current.claim.health = completeHealth(current.health, where(at));
  };
  items.forEach((item, i) => {
    if (item.kind === 'claim') {
      finish(i);
      current = { claim: { ...item.claim }, compact: item.compact, health: null };
      out.push(current.claim);
      return;
    }
    const fail = (msg: string): never => {
      throw new ValueError(`${where(i)}: ${item.key}=${item.value}: ${msg}`);
    };
    if (!current) fail('a claim option must follow the prefix it belongs to (e.g. --claim 10.0.0.1/32,priority=150)');
    if (!current!.compact) fail('options of a claim written as a YAML object go inside the object');
    try {
      applyOption(current!, item.key, item.value);
    } catch (e) {
      if (e instanceof ValueError) fail(e.message);
      throw e;
    }
  });
  finish(items.length - 1);
  return out;
}

function applyOption(c: { claim: ClaimConfig; health: Partial<HealthCheckConfig> | null }, key: string, value: string): void {
  const health = () => (c.health ??= {});
  switch (key) {
    case 'priority': c.claim.priority = priorityOf(value); return;
    case 'preempt': c.claim.preempt = booleanOf(value, 'preempt'); return;
    case 'preempt-delay': c.claim.preemptDelayMs = durationOf(value, 'preempt-delay'); return;
    case 'health': health().probe = probeFromText(value); return;
    case 'interval': health().intervalMs = intervalOf(value); return;
    case 'timeout': health().timeoutMs = durationOf(value, 'timeout', 1); return;
    case 'rise': health().rise = countOf(value, 'rise'); return;
    case 'fall': health().fall = countOf(value, 'fall'); return;
  }
}

function completeHealth(h: Partial<HealthCheckConfig>, where: string): HealthCheckConfig {
  if (!h.probe) throw new ValueError(`${where}: interval, timeout, rise and fall need health=tcp:HOST:PORT, http://URL or exec:COMMAND`);
  return {
    probe: h.probe,
    intervalMs: h.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS,
    timeoutMs: h.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
    rise: h.rise ?? DEFAULT_HEALTH_RISE,
    fall: h.fall ?? DEFAULT_HEALTH_FALL,
  };
}

function healthObject(value: unknown): HealthCheckConfig {
  const o = asObject(value, 'health: a section with tcp, http or exec');
  checkKeys(o, HEALTH_KEYS, 'health');
  const probes = (['tcp', 'http', 'exec'] as const).filter((k) => o[k] !== undefined);
  if (probes.length !== 1) throw new ValueError('health needs exactly one of tcp: HOST:PORT, http: URL, exec: COMMAND');
  const kind = probes[0]!;
  const text = String(o[kind]);
  const h: Partial<HealthCheckConfig> = { probe: kind === 'tcp' ? tcpProbe(text) : kind === 'http' ? httpProbe(text) : execProbe(text) };
  if (o['interval'] !== undefined) h.intervalMs = intervalOf(o['interval']);
  if (o['timeout'] !== undefined) h.timeoutMs = durationOf(o['timeout'], 'timeout', 1);
  if (o['rise'] !== undefined) h.rise = countOf(o['rise'], 'rise');
  if (o['fall'] !== undefined) h.fall = countOf(o['fall'], 'fall');
  return completeHealth(h, 'health');
}

/** health=tcp:HOST:PORT | http(s)://URL | exec:COMMAND */
function probeFromText(text: string): HealthProbeSpec {
  if (/^https?:\/\//i.test(text)) return httpProbe(text);
  if (/^tcp:/i.test(text)) return tcpProbe(text.slice(4));
  if (/^exec:/i.test(text)) return execProbe(text.slice(5));
  throw new ValueError(`expected tcp:HOST:PORT, http://URL, https://URL or exec:COMMAND, got '${text}'`);
}

function tcpProbe(text: string): HealthProbeSpec {
  let hp;
  try {
    hp = parseHostPort(text.trim(), 0);
  } catch (e) {
    throw new ValueError(`tcp check: ${(e as Error).message}`);
  }
  if (hp.port === 0) throw new ValueError(`tcp check '${text}' needs a port (HOST:PORT)`);
  return { kind: 'tcp', host: hp.host, port: hp.port };
}

function httpProbe(text: string): HealthProbeSpec {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ValueError(`http check: '${text}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValueError(`http check: '${text}' is not an http:// or https:// URL`);
  return { kind: 'http', url: url.href };
}

function execProbe(text: string): HealthProbeSpec {
  if (text.trim() === '') throw new ValueError('exec check needs a command');
  return { kind: 'exec', command: text };
}

function parseClaimPrefix(text: string): Prefix {
  try {
    return parsePrefix(text.trim());
  } catch (e) {
    throw new ValueError((e as Error).message);
  }
}

function priorityOf(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n) || n < 0 || n > MAX_PRIORITY) throw new ValueError(`priority must be a whole number from 0 to ${MAX_PRIORITY}, got '${String(v)}'`);
  return n;
}

function countOf(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_RISE_FALL) throw new ValueError(`${what} must be a whole number from 1 to ${MAX_RISE_FALL}, got '${String(v)}'`);
  return n;
}

function booleanOf(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  const t = String(v).trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(t)) return true;
  if (['false', 'no', 'off', '0'].includes(t)) return false;
  throw new ValueError(`${what} must be true or false, got '${String(v)}'`);
}

function durationOf(v: unknown, what: string, minMs = 0): number {
  if (typeof v !== 'number' && typeof v !== 'string') throw new ValueError(`${what} must be a duration like 500ms or 2s`);
  let ms: number;
  try {
    ms = parseDurationMs(typeof v === 'string' ? v.trim() : v);
  } catch (e) {
    throw new ValueError(`${what}: ${(e as Error).message}`);
  }
  if (ms < minMs) throw new ValueError(`${what} must be at least ${minMs}ms`);
  return ms;
}

function intervalOf(v: unknown): number {
  return durationOf(v, 'interval', MIN_HEALTH_INTERVAL_MS);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValueError(`expected ${what}`);
  return v as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    const guess = closest(k, allowed);
    throw new ValueError(`unknown ${what} key '${k}'${guess ? ` (did you mean '${guess}'?)` : ''}; keys: ${allowed.join(', ')}`);
  }
}

/** Text form for logs and warnings. */
export function describeClaim(c: ClaimConfig): string {
  return formatPrefix(c.prefix);
}
