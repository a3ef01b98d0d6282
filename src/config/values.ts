// Parsers for single config values, shared by the YAML loader and the command line so both
// accept exactly the same text. Each throws ValueError; the caller adds the key or flag.
import { Buffer } from 'node:buffer';
import {
  AddressError, formatAddress, parseAddress, parseHostPort, parsePrefix,
  type HostPort, type Prefix,
} from '../wire/addr.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../log/levels.js';
import { parseDurationMs } from './duration.js';
import { parseClaimItem, type ClaimItem } from './claim-config.js';
import { HA_EVENTS, type HaEvent } from '../core/events.js';
import { ValueError } from './errors.js';
import {
  DEFAULT_IPV4_PREFIX_LEN, DEFAULT_IPV6_PREFIX_LEN, DEFAULT_PORT, MAX_MTU, MIN_MTU,
} from './defaults.js';
import { KeyFormatError, parsePeerId } from '../crypto/keys.js';
import { ALGORITHMS, type Algorithm, type ClaimRight, type InterfaceIp } from './types.js';

/**
 * One value as written. YAML scalars keep their source text, so `password: 0123` stays
 * "0123" instead of becoming the number 123; flags are always strings or booleans.
 */
export interface Scalar {
  readonly value: string | number | boolean;
  readonly text: string;
}

export function scalar(value: string | number | boolean, text = String(value)): Scalar {
  return { value, text };
}

/** Text fields accept YAML numbers as written (`user: 1000`) but not booleans. */
export function parseString(s: Scalar): string {
  if (typeof s.value === 'boolean') {
    throw new ValueError(`expected text, got the boolean ${s.text} (quote it if you mean the text)`);
  }
  if (s.text === '') throw new ValueError('is empty');
  return s.text;
}

export function parseBoolean(s: Scalar): boolean {
  if (typeof s.value !== 'boolean') throw new ValueError(`expected true or false, got '${s.text}'`);
  return s.value;
}

export function parseDuration(s: Scalar): number {
  if (typeof s.value === 'boolean') throw new ValueError(`expected a duration, got ${s.text}`);
  return parseDurationMs(s.value);
}

function wrapAddressError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AddressError) throw new ValueError(e.message);
    throw e;
  }
}

function addressText(s: Scalar, what: string): string {
  if (typeof s.value !== 'string' && typeof s.value !== 'number') {
    throw new ValueError(`expected ${what}, got ${s.text}`);
  }
  if (s.text === '') throw new ValueError('is empty');
  return s.text.trim();
}

/** `ADDR[/LEN]`: the interface address and its network (default /24 or /64). */
export function parseInterfaceIp(s: Scalar): InterfaceIp {
  const text = addressText(s, 'an address like 10.0.0.1/24');
  const slash = text.indexOf('/');
  const address = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (!address) throw new ValueError(`'${text}' is not an IP address (expected ADDR[/LEN], e.g. 10.0.0.1/24)`);
  if (address.every((b) => b === 0)) throw new ValueError(`'${text}' is not a usable interface address`);
  const family = address.length === 4 ? 4 : 6;
  const prefix = wrapAddressError(() =>
    parsePrefix(text, family === 4 ? DEFAULT_IPV4_PREFIX_LEN : DEFAULT_IPV6_PREFIX_LEN));
  return { family, address, prefix, text: `${formatAddress(address)}/${prefix.len}` };
}

/** `ADDR[/LEN]` for a claim; a bare address claims just that host (/32 or /128). */
export function parseClaim(s: Scalar): Prefix {
  const text = addressText(s, 'a prefix like 10.0.1.0/24');
  return wrapAddressError(() => parsePrefix(text));
}

/** One item of --claim / claims: a prefix, or KEY=VALUE for the prefix before it (claim-config.ts). */
export function parseClaimText(s: Scalar): ClaimItem {
  const text = addressText(s, 'a prefix like 10.0.1.0/24 or a claim option like priority=150');
  return parseClaimItem(text);
}

/** One event hook: a script for every event, or one for `event` (`hooks:` map, EVENT=SCRIPT). */
export interface HookItem {
  event: HaEvent | 'all';
  script: string;
}

/**
 * `--hook SCRIPT` (every event), or from a `hooks:` map `EVENT=SCRIPT` (the loader writes map
 * entries that way). Only a known event name before '=' makes it a map entry, so a script
 * may contain '=' itself.
 */
export function parseHook(s: Scalar): HookItem {
  const text = parseString(s);
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq).trim() : '';
  if (key === 'all' || (HA_EVENTS as readonly string[]).includes(key)) {
    const script = text.slice(eq + 1).trim();
    if (script === '') throw new ValueError(`${key}: the script is empty`);
    return { event: key as HaEvent | 'all', script };
  }
  return { event: 'all', script: text };
}

/** `KEY=PREFIX[,PREFIX...]`: a public key and the prefixes that node may claim. */
export function parseClaimRight(s: Scalar): ClaimRight {
  const text = parseString(s).trim();
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ValueError(`'${text}' is not KEY=PREFIX[,PREFIX...] (a public key, '=', the prefixes it may claim)`);
  let key: string;
  try {
    key = parsePeerId(text.slice(0, eq).trim(), 'the key');
  } catch (e) {
    if (e instanceof KeyFormatError) throw new ValueError(e.message);
    throw e;
  }
  const items = text.slice(eq + 1).split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (items.length === 0) throw new ValueError(`'${text}' names no prefix after '='`);
  return { key, prefixes: items.map((p) => wrapAddressError(() => parsePrefix(p))) };
}

/** `[IP:]PORT` to bind; the host must be an IP literal (or absent: all addresses). */
export function parseListen(s: Scalar, defaultHost = ''): HostPort {
  const text = addressText(s, '[IP:]PORT');
  const hp = wrapAddressError(() => parseHostPort(text, DEFAULT_PORT));
  if (hp.host !== '' && !parseAddress(hp.host)) {
    throw new ValueError(`'${text}': the address to listen on must be an IP address, not a host name`);
  }
  return { host: hp.host === '' ? defaultHost : hp.host, port: hp.port };
}

/** Listening endpoint for metrics: a bare port binds to localhost only, never to the world. */
export function parseMetricsListen(s: Scalar): HostPort {
  const hp = parseListen(s, '127.0.0.1');
  if (hp.port === 0) throw new ValueError(`'${s.text}' needs a port other than 0`);
  return hp;
}

/** `HOST[:PORT]` of a peer (default port 3210); the host may be a name. */
export function parsePeer(s: Scalar): HostPort {
  const text = addressText(s, 'HOST[:PORT]');
  const hp = wrapAddressError(() => parseHostPort(text, DEFAULT_PORT));
  if (hp.host === '') throw new ValueError(`'${text}' has no host (expected HOST[:PORT])`);
  if (hp.port === 0) throw new ValueError(`'${text}' has port 0`);
  return hp;
}

/**
 * `HOST[:PORT]` where peers may reach this node (a port forward, a public address in front of
 * it); without a port, the port we listen on (port 0 here). The host may be a name.
 */
export function parseAdvertise(s: Scalar): HostPort {
  const text = addressText(s, 'HOST[:PORT]');
  const hp = wrapAddressError(() => parseHostPort(text, 0));
  if (hp.host === '') throw new ValueError(`'${text}' has no host (expected HOST[:PORT])`);
  return hp;
}

/** Decimal size suffixes for byte rates (k = 1000, M = 1000000). */
const RATE_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };

/**
 * `PACKETS,BYTES`: relayed traffic allowed per (origin, destination) pair each second, e.g.
 * `10000,12.5M` or `10000/s, 12.5MB/s`. Bytes take k/M/G (powers of 1000).
 */
export function parseRelayLimit(s: Scalar): { packetsPerSec: number; bytesPerSec: number } {
  const text = s.text.trim();
  const parts = text.split(',').map((p) => p.trim().replace(/\/s$/i, '').trim());
  const usage = `expected PACKETS,BYTES a second (e.g. 10000,12.5M), got '${text}'`;
  if (parts.length !== 2) throw new ValueError(usage);
  const pk = /^(\d+)(?:\s*(?:p|pkts?|packets?))?$/i.exec(parts[0]!);
  const by = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?B)?$/.exec(parts[1]!);
  if (!pk || !by) throw new ValueError(usage);
  const packetsPerSec = Number(pk[1]);
  const bytesPerSec = Math.round(Number(by[1]) * RATE_UNITS[by[2]!]!);
  if (packetsPerSec < 1 || bytesPerSec < 1500) {
    throw new ValueError(`'${text}': at least 1 packet and 1500 bytes a second (one full packet)`);
  }
  if (packetsPerSec > 10_000_000 || bytesPerSec > 100e9) throw new ValueError(`'${text}' is beyond any link`);
  return { packetsPerSec, bytesPerSec };
}

export function parseMtu(s: Scalar): number | 'auto' {
  if (s.value === 'auto') return 'auto';
  const n = typeof s.value === 'number' ? s.value : /^\d+$/.test(s.text) ? Number(s.text) : NaN;
  if (!Number.isInteger(n)) throw new ValueError(`expected 'auto' or a number of bytes, got '${s.text}'`);
  if (n < MIN_MTU || n > MAX_MTU) throw new ValueError(`${n} is outside ${MIN_MTU}..${MAX_MTU}`);
  return n;
}

export function parseDeviceType(s: Scalar): 'tun' {
  const t = parseString(s).toLowerCase();
  if (t === 'tun') return 'tun';
  if (t === 'tap') {
    throw new ValueError("device type 'tap' is not supported: hacloud routes IP packets by claim and needs 'tun'");
  }
  throw new ValueError(`unknown device type '${s.text}' (only 'tun' is supported)`);
}

/** Linux interface names: 1..15 bytes, no '/', ':' or white space; '%d' lets the kernel number it. */
export function parseDeviceName(s: Scalar): string {
  const name = parseString(s);
  const bare = name.replace('%d', '');
  if (name.length > 15 || name === '.' || name === '..' || /[\s/:%]/.test(bare)) {
    throw new ValueError(`'${name}' is not a valid interface name (at most 15 characters, no '/', ':' or spaces)`);
  }
  return name;
}

/** A file path; must not be empty. */
/** A password-mode network name: 1..64 printable characters (it goes into the password's salt). */
export function parseNetworkName(s: Scalar): string {
  const name = parseString(s);
  if ([...name].length > 64) throw new ValueError('is longer than 64 characters');
  if (/[\p{Cc}]/u.test(name)) throw new ValueError('contains a control character');
  return name;
}

export function parsePath(s: Scalar): string {
  return parseString(s);
}

/** Unix socket paths are limited to 107 bytes by sockaddr_un. */
export function parseSocketPath(s: Scalar): string {
  const p = parseString(s);
  if (Buffer.byteLength(p) > 107) throw new ValueError(`'${p}' is longer than a Unix socket path may be (107 bytes)`);
  return p;
}

/** A user or group: a name or a numeric id. */
export function parseAccount(s: Scalar): string {
  const a = parseString(s);
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(a)) throw new ValueError(`'${a}' is not a user or group name or id`);
  return a;
}

/** Ed25519 keys travel as 32 bytes in unpadded base64url: exactly 43 characters. */
export function parseKey(s: Scalar): string {
  // The message never echoes the text: it may be a mistyped private key.
  const key = parseString(s).trim();
  if (!/^[A-Za-z0-9_-]*$/.test(key)) {
    throw new ValueError("is not a key: only base64url characters (A-Z a-z 0-9 - _) are allowed, as printed by 'hacloud genkey'");
  }
  if (key.length !== 43) {
    throw new ValueError(`is not a key: expected 43 base64url characters, got ${key.length}, as printed by 'hacloud genkey'`);
  }
  if (Buffer.from(key, 'base64url').toString('base64url') !== key) {
    throw new ValueError('is not a key: its last character does not fit 32 bytes of base64url');
  }
  return key;
}

/** VpnCloud spellings are accepted so its configs keep working. */
const ALGORITHM_ALIASES: Record<string, Algorithm> = {
  aes256: 'aes256-gcm',
  'aes-256-gcm': 'aes256-gcm',
  chacha20: 'chacha20-poly1305',
  'chacha20poly1305': 'chacha20-poly1305',
};

export function parseAlgorithm(s: Scalar): Algorithm {
  const name = parseString(s).trim().toLowerCase();
  if ((ALGORITHMS as readonly string[]).includes(name)) return name as Algorithm;
  const alias = ALGORITHM_ALIASES[name];
  if (alias) return alias;
  throw new ValueError(`unknown algorithm '${s.text}' (choose from ${ALGORITHMS.join(', ')})`);
}

export function parseLogLevel(s: Scalar): LogLevel {
  const level = parseString(s).toLowerCase();
  if (!isLogLevel(level)) throw new ValueError(`unknown log level '${s.text}' (choose from ${LOG_LEVELS.join(', ')})`);
  return level;
}
