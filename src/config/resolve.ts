// Merged settings → the Config the daemon runs with: defaults filled in, values that depend
// on each other checked (keepalive < peer-timeout, credentials, key pair, MTU vs IPv6).
import { basename, extname, join } from 'node:path';
import { formatPrefix, prefixEquals, type HostPort, type Prefix } from '../wire/addr.js';
import { routeDenial } from '../core/claim-policy.js';
import { DEFAULT_LOG_LEVEL } from '../log/levels.js';
import { ConfigError, ValueError } from './errors.js';
import { groupClaimItems, plainClaim } from './claim-config.js';
import { formatDurationMs } from './duration.js';
import {
  CONTROL_SOCKET_DIR, DEFAULT_ALGORITHMS, DEFAULT_DEVICE_NAME, DEFAULT_DEVICE_PATH, DEFAULT_NETWORK, IDENTITY_DIR,
  DEFAULT_KEEPALIVE_MS, DEFAULT_PEER_TIMEOUT_MS, DEFAULT_PORT, MIN_KEEPALIVE_MS, MIN_MTU_IPV6,
} from './defaults.js';
import type { FieldKey, FieldValue, Settings, Sourced } from './fields.js';
import { publicKeyOf } from './keys.js';
import { weakPasswordWarning } from '../crypto/password-strength.js';
import type { ClaimConfig, ClaimRight, Config, CryptoConfig, EventHookConfig } from './types.js';
import type { HookItem } from './values.js';
import type { HaEvent } from '../core/events.js';
import { DEFAULT_HOOK_TIMEOUT_MS } from './defaults.js';
import { DEFAULT_RELAY_BYTES_PER_S, DEFAULT_RELAY_PACKETS_PER_S } from '../core/constants.js';

export interface ResolveOptions {
  /** The --config file, if any (used for the default control socket name). */
  readonly configFile?: string | null;
}

export function resolveSettings(settings: Settings, opts: ResolveOptions = {}): Config {
  const one = <K extends FieldKey>(key: K): Sourced<FieldValue<K>> | undefined => {
    const values = settings[key] as Sourced<FieldValue<K>>[] | undefined;
    return values?.[values.length - 1];
  };
  const all = <K extends FieldKey>(key: K): Sourced<FieldValue<K>>[] =>
    (settings[key] as Sourced<FieldValue<K>>[] | undefined) ?? [];
  const warnings: string[] = [];
  const configFile = opts.configFile ?? null;

  const daemon = one('daemon');
  if (daemon?.value) {
    throw new ConfigError(daemon.where === '--daemon'
      ? '--daemon is not supported; run under systemd (see examples/systemd)'
      : `${daemon.where}: daemon mode is not supported; run under systemd (see examples/systemd)`);
  }

  const ip = one('ip')?.value ?? null;
  const mtu = one('mtu');
  if (mtu && typeof mtu.value === 'number' && ip?.family === 6 && mtu.value < MIN_MTU_IPV6) {
    throw new ConfigError(`${mtu.where}: ${mtu.value} is below ${MIN_MTU_IPV6}, the minimum MTU for IPv6`);
  }

  const keepalive = one('keepaliveMs');
  const peerTimeout = one('peerTimeoutMs');
  const keepaliveMs = keepalive?.value ?? DEFAULT_KEEPALIVE_MS;
  const peerTimeoutMs = peerTimeout?.value ?? DEFAULT_PEER_TIMEOUT_MS;
  if (keepaliveMs < MIN_KEEPALIVE_MS) {
    throw new ConfigError(`${keepalive?.where}: keepalive must be at least ${MIN_KEEPALIVE_MS}ms`);
  }
  if (keepaliveMs >= peerTimeoutMs) {
    const ka = `keepalive ${formatDurationMs(keepaliveMs)}`;
    const pt = `peer-timeout ${formatDurationMs(peerTimeoutMs)}`;
    throw new ConfigError(keepalive
      ? `${keepalive.where}: ${ka} must be shorter than ${pt} (${peerTimeout?.where ?? 'default'})`
      : `${peerTimeout!.where}: ${pt} must be longer than ${ka} (default)`);
  }

  const claimItems = all('claims');
  let grouped: ClaimConfig[];
  try {
    grouped = groupClaimItems(claimItems.map((c) => c.value), (i) => claimItems[i]!.where);
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(e.message);
    throw e;
  }
  const claims = dedupe(grouped, (a, b) => prefixEquals(a.prefix, b.prefix));
  const autoClaim = one('autoClaim')?.value ?? true;
  if (claims.length === 0 && (!autoClaim || !ip)) {
    warnings.push('this node claims no address, so no traffic will be routed to it');
  }

  const allowedRoutes = dedupe(all('allowedRoutes').map((p) => p.value), prefixEquals);
  const unsafe = claims.filter((c) => routeDenial(c.prefix, allowedRoutes) !== null).map((c) => formatPrefix(c.prefix));
  if (unsafe.length > 0) {
    warnings.push(`claim ${unsafe.join(', ')} is outside the private and shared ranges: peers ignore it ` +
      'unless their allowed-routes cover it');
  }
  // Whether the rights cover this node's own claims depends on its identity: the daemon checks.
  const rightsGiven = all('claimRights');
  const claimRights = rightsGiven.length > 0 ? joinRights(rightsGiven.map((r) => r.value)) : null;

  const algorithms = dedupe(all('algorithms').map((a) => a.value), (a, b) => a === b);
  if (algorithms.includes('plain')) {
    warnings.push("algorithm 'plain' is enabled: traffic with peers that also allow it is NOT encrypted");
  }

  const device = {
    type: one('deviceType')?.value ?? 'tun',
    name: one('deviceName')?.value ?? DEFAULT_DEVICE_NAME,
    path: one('devicePath')?.value ?? DEFAULT_DEVICE_PATH,
  } as const;

  return {
    configFile,
    device,
    ip,
    listen: one('listen')?.value ?? { host: '', port: DEFAULT_PORT },
    peers: dedupe(all('peers').map((p) => p.value), sameHostPort),
    claims,
    autoClaim,
    peerTimeoutMs,
    keepaliveMs,
    mtu: mtu?.value ?? 'auto',
    ifup: one('ifup')?.value ?? null,
    ifdown: one('ifdown')?.value ?? null,
    hooks: hookConfig(all('hooks').map((h) => h.value), one('hookTimeoutMs')?.value ?? DEFAULT_HOOK_TIMEOUT_MS),
    logLevel: one('logLevel')?.value ?? DEFAULT_LOG_LEVEL,
    logFile: one('logFile')?.value ?? null,
    crypto: resolveCrypto({
      password: one('password'), privateKey: one('privateKey'), publicKey: one('publicKey'), network: one('network'),
      identityFile: one('identityFile'), defaultIdentityFile: defaultIdentityFile(device.name, configFile),
    }, all('trustedKeys').map((k) => k.value), algorithms.length ? algorithms : [...DEFAULT_ALGORITHMS], warnings),
    controlSocket: one('controlSocket')?.value ?? defaultControlSocket(device.name, configFile),
    metricsListen: one('metricsListen')?.value ?? null,
    statsFile: one('statsFile')?.value ?? null,
    pidFile: one('pidFile')?.value ?? null,
    user: one('user')?.value ?? null,
    group: one('group')?.value ?? null,
    routes: one('routes')?.value ?? true,
    claimRights,
    allowedRoutes,
    advertise: dedupe(all('advertise').map((a) => a.value), sameHostPort),
    relay: relayMode(one('relay')?.value),
    relayLimit: one('relayLimit')?.value ?? { packetsPerSec: DEFAULT_RELAY_PACKETS_PER_S, bytesPerSec: DEFAULT_RELAY_BYTES_PER_S },
    warnings,
  };
}

interface CryptoSettings {
  password: Sourced<string> | undefined;
  privateKey: Sourced<string> | undefined;
  publicKey: Sourced<string> | undefined;
  network: Sourced<string> | undefined;
  identityFile: Sourced<string> | undefined;
  defaultIdentityFile: string;
}

function resolveCrypto(
  { password, privateKey, publicKey, network, identityFile, defaultIdentityFile }: CryptoSettings,
  trustedKeys: string[],
  algorithms: CryptoConfig['algorithms'],
  warnings: string[],
): CryptoConfig {
  if (!password && !privateKey) {
    throw new ConfigError('no credentials: give a password (-p/--password, the PASSWORD environment variable ' +
      "or crypto.password) or a private key (--private-key or crypto.private-key; 'hacloud genkey' makes one)");
  }
  if (password && privateKey) {
    throw new ConfigError(`both a password (${password.where}) and a private key (${privateKey.where}) are given; use one`);
  }
  if (publicKey && !privateKey) {
    throw new ConfigError(`${publicKey.where}: a public key is only used with its private key (--private-key)`);
  }
  if (publicKey && privateKey && publicKeyOf(privateKey.value) !== publicKey.value) {
    throw new ConfigError(`${publicKey.where}: does not belong to the private key (${privateKey.where})`);
  }
  if (privateKey && identityFile) {
    throw new ConfigError(`${identityFile.where}: an identity file is for password mode; ` +
      `with a private key (${privateKey.where}) the key is the identity`);
  }
  if (privateKey && network) {
    throw new ConfigError(`${network.where}: a network name only applies to a password (password mode)`);
  }
  const weak = password ? weakPasswordWarning(password.value) : null;
  if (weak) warnings.push(weak);
  if (password?.where === '--password') {
    warnings.push('a password given with --password is visible in the process list; ' +
      'prefer the PASSWORD environment variable or crypto.password in a root-only file');
  }
  return {
    password: password?.value ?? null,
    network: network?.value ?? DEFAULT_NETWORK,
    identityFile: privateKey ? null : identityFile?.value ?? defaultIdentityFile,
    privateKey: privateKey?.value ?? null,
    publicKey: publicKey?.value ?? null,
    trustedKeys: dedupe(trustedKeys, (a, b) => a === b),
    algorithms,
  };
}

/**
 * The instance name of a node, which names its default files: the device name when it is
 * fixed, else the config file's name (hacloud@office.service reads office.yaml → office),
 * else "hacloud".
 */
export function instanceName(deviceName: string, configFile: string | null): string {
  let instance = 'hacloud';
  if (!deviceName.includes('%')) instance = deviceName;
  else if (configFile) instance = basename(configFile, extname(configFile)) || instance;
  return instance;
}

/** /run/hacloud/<instance>.sock */
export function defaultControlSocket(deviceName: string, configFile: string | null): string {
  return join(CONTROL_SOCKET_DIR, `${instanceName(deviceName, configFile)}.sock`);
}

/** /var/lib/hacloud/<instance>.key: password mode's identity (daemon/identity-file.ts). */
export function defaultIdentityFile(deviceName: string, configFile: string | null): string {
  return join(IDENTITY_DIR, `${instanceName(deviceName, configFile)}.key`);
}

/**
 * What this node claims: --claim subnets with their options plus, with auto-claim, its --ip as a
 * host route (default options, unless a --claim of the same prefix gives some).
 */
export function ownClaims(config: Config): ClaimConfig[] {
  const out = [...config.claims];
  if (config.autoClaim && config.ip) {
    const host: Prefix = { family: config.ip.family, bytes: config.ip.address, len: config.ip.family === 4 ? 32 : 128 };
    if (!out.some((c) => prefixEquals(c.prefix, host))) out.push(plainClaim(host));
  }
  return out;
}

/** The prefixes of ownClaims(). */
export function claimedPrefixes(config: Config): Prefix[] {
  return ownClaims(config).map((c) => c.prefix);
}

/** `relay: true` makes a preferred relay, `relay: false` (--no-relay) none; unset: relays when needed. */
function relayMode(value: boolean | undefined): Config['relay'] {
  return value === undefined ? 'on' : value ? 'preferred' : 'off';
}

function hookConfig(items: readonly HookItem[], timeoutMs: number): EventHookConfig {
  const byEvent: Partial<Record<HaEvent, string[]>> = {};
  const all: string[] = [];
  for (const h of items) {
    if (h.event === 'all') all.push(h.script);
    else (byEvent[h.event] ??= []).push(h.script);
  }
  return { all, byEvent, timeoutMs };
}

/** One right per key: the prefixes of repeated keys joined, in order, without duplicates. */
function joinRights(rights: readonly ClaimRight[]): ClaimRight[] {
  const byKey = new Map<string, Prefix[]>();
  for (const r of rights) byKey.set(r.key, dedupe([...(byKey.get(r.key) ?? []), ...r.prefixes], prefixEquals));
  return [...byKey].map(([key, prefixes]) => ({ key, prefixes }));
}

/** Claim rights as the engine takes them (key -> prefixes), or null when none are configured. */
export function claimRightsMap(config: Config): Map<string, readonly Prefix[]> | null {
  return config.claimRights ? new Map(config.claimRights.map((r) => [r.key, r.prefixes])) : null;
}

function sameHostPort(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase();
}

function dedupe<T>(items: T[], same: (a: T, b: T) => boolean): T[] {
  const out: T[] = [];
  for (const item of items) if (!out.some((o) => same(o, item))) out.push(item);
  return out;
}

