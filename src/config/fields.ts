// Every setting once: its YAML key, its flag, how it merges and how its text is parsed.
// The YAML loader and the command line both read through this table, so a value means the
// same thing wherever it is written, and errors name the key or the flag it came from.
import type { HostPort, Prefix } from '../wire/addr.js';
import type { LogLevel } from '../log/levels.js';
import type { Algorithm, ClaimRight, InterfaceIp, RelayLimit } from './types.js';
import { ConfigError, ValueError } from './errors.js';
import * as v from './values.js';
import type { HookItem } from './values.js';
import { parseClaimObject, type ClaimItem } from './claim-config.js';

function parseClaimObjectItem(value: unknown): ClaimItem {
  return { kind: 'claim', claim: parseClaimObject(value), compact: false };
}

export interface FieldSpec<T> {
  /** Dotted YAML path, e.g. 'crypto.private-key'. */
  readonly yaml: string;
  /** Long flag without dashes; null for file-only settings. */
  readonly flag: string | null;
  /**
   * 'single': one value, a later layer (file < env < command line) replaces it.
   * 'append': a list, the layers' lists are joined. 'replace': a list a later layer replaces.
   */
  readonly merge: 'single' | 'append' | 'replace';
  /** A list whose items may also be written comma-separated ("a,b"). */
  readonly commaList?: boolean;
  /**
   * In YAML a map `KEY: VALUE` or `KEY: [VALUE, ...]`; each value becomes the item "KEY=VALUE",
   * the form the flag takes.
   */
  readonly yamlMap?: boolean;
  readonly parse: (s: v.Scalar) => T;
  /** For list items written as YAML objects (claims): their plain JS value. */
  readonly parseObject?: (value: unknown) => T;
}

function field<T>(spec: FieldSpec<T>): FieldSpec<T> {
  return spec;
}

export const FIELDS = {
  deviceType: field<'tun'>({ yaml: 'device.type', flag: 'type', merge: 'single', parse: v.parseDeviceType }),
  deviceName: field<string>({ yaml: 'device.name', flag: 'device', merge: 'single', parse: v.parseDeviceName }),
  devicePath: field<string>({ yaml: 'device.path', flag: 'device-path', merge: 'single', parse: v.parsePath }),
  ip: field<InterfaceIp>({ yaml: 'ip', flag: 'ip', merge: 'single', parse: v.parseInterfaceIp }),
  listen: field<HostPort>({ yaml: 'listen', flag: 'listen', merge: 'single', parse: (s) => v.parseListen(s) }),
  peers: field<HostPort>({ yaml: 'peers', flag: 'connect', merge: 'append', parse: v.parsePeer }),
  claims: field<ClaimItem>({
    yaml: 'claims', flag: 'claim', merge: 'append', commaList: true, parse: v.parseClaimText, parseObject: parseClaimObjectItem,
  }),
  autoClaim: field<boolean>({ yaml: 'auto-claim', flag: 'auto-claim', merge: 'single', parse: v.parseBoolean }),
  peerTimeoutMs: field<number>({ yaml: 'peer-timeout', flag: 'peer-timeout', merge: 'single', parse: v.parseDuration }),
  keepaliveMs: field<number>({ yaml: 'keepalive', flag: 'keepalive', merge: 'single', parse: v.parseDuration }),
  mtu: field<number | 'auto'>({ yaml: 'mtu', flag: 'mtu', merge: 'single', parse: v.parseMtu }),
  ifup: field<string>({ yaml: 'ifup', flag: 'ifup', merge: 'single', parse: v.parseString }),
  ifdown: field<string>({ yaml: 'ifdown', flag: 'ifdown', merge: 'single', parse: v.parseString }),
  hooks: field<HookItem>({ yaml: 'hooks', flag: 'hook', merge: 'append', yamlMap: true, parse: v.parseHook }),
  hookTimeoutMs: field<number>({ yaml: 'hook-timeout', flag: 'hook-timeout', merge: 'single', parse: v.parseDuration }),
  // On the command line the level comes from -v/-q counts (see cli/args.ts).
  logLevel: field<LogLevel>({ yaml: 'log-level', flag: null, merge: 'single', parse: v.parseLogLevel }),
  logFile: field<string>({ yaml: 'log-file', flag: 'log-file', merge: 'single', parse: v.parsePath }),
  password: field<string>({ yaml: 'crypto.password', flag: 'password', merge: 'single', parse: v.parseString }),
  network: field<string>({ yaml: 'crypto.network', flag: 'network', merge: 'single', parse: v.parseNetworkName }),
  identityFile: field<string>({ yaml: 'crypto.identity-file', flag: 'identity-file', merge: 'single', parse: v.parsePath }),
  privateKey: field<string>({ yaml: 'crypto.private-key', flag: 'private-key', merge: 'single', parse: v.parseKey }),
  publicKey: field<string>({ yaml: 'crypto.public-key', flag: 'public-key', merge: 'single', parse: v.parseKey }),
  trustedKeys: field<string>({ yaml: 'crypto.trusted-keys', flag: 'trusted-key', merge: 'append', parse: v.parseKey }),
  // A preference order: joining two orders would mean nothing, so the command line replaces.
  algorithms: field<Algorithm>({
    yaml: 'crypto.algorithms', flag: 'algorithm', merge: 'replace', commaList: true, parse: v.parseAlgorithm,
  }),
  controlSocket: field<string>({ yaml: 'control-socket', flag: 'control-socket', merge: 'single', parse: v.parseSocketPath }),
  metricsListen: field<HostPort>({ yaml: 'metrics-listen', flag: 'metrics-listen', merge: 'single', parse: v.parseMetricsListen }),
  statsFile: field<string>({ yaml: 'stats-file', flag: 'stats-file', merge: 'single', parse: v.parsePath }),
  daemon: field<boolean>({ yaml: 'daemon', flag: 'daemon', merge: 'single', parse: v.parseBoolean }),
  pidFile: field<string>({ yaml: 'pid-file', flag: 'pid-file', merge: 'single', parse: v.parsePath }),
  user: field<string>({ yaml: 'user', flag: 'user', merge: 'single', parse: v.parseAccount }),
  group: field<string>({ yaml: 'group', flag: 'group', merge: 'single', parse: v.parseAccount }),
  routes: field<boolean>({ yaml: 'routes', flag: 'routes', merge: 'single', parse: v.parseBoolean }),
  claimRights: field<ClaimRight>({ yaml: 'claim-rights', flag: 'claim-right', merge: 'append', yamlMap: true, parse: v.parseClaimRight }),
  allowedRoutes: field<Prefix>({ yaml: 'allowed-routes', flag: 'allowed-route', merge: 'append', commaList: true, parse: v.parseClaim }),
  // VpnCloud's key name, so its configs keep working.
  advertise: field<HostPort>({ yaml: 'advertise-addresses', flag: 'advertise-address', merge: 'append', commaList: true, parse: v.parseAdvertise }),
  relay: field<boolean>({ yaml: 'relay', flag: 'relay', merge: 'single', parse: v.parseBoolean }),
  relayLimit: field<RelayLimit>({ yaml: 'relay-limit', flag: 'relay-limit', merge: 'single', parse: v.parseRelayLimit }),
} as const;

export type FieldKey = keyof typeof FIELDS;
export type FieldValue<K extends FieldKey> = (typeof FIELDS)[K] extends FieldSpec<infer T> ? T : never;

/** A parsed value and where it was written, for messages: "--keepalive", "a.yaml:4: keepalive". */
export interface Sourced<T> {
  readonly value: T;
  readonly where: string;
}

/**
 * One layer of settings (a file, the environment, the command line). Every value present has
 * been parsed; single-valued settings hold one entry, lists one entry per item.
 */
export type Settings = { [K in FieldKey]?: Sourced<FieldValue<K>>[] };

export const FIELD_KEYS = Object.keys(FIELDS) as FieldKey[];

/** The items of a comma-separated value ("a, b" -> ["a", "b"]); empty items are dropped. */
export function splitCommaList(text: string): string[] {
  return text.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** spec.parse() of one value; its ValueError becomes a ConfigError that starts with `where`. */
export function parseSourced<T>(spec: FieldSpec<T>, s: v.Scalar, where: string): Sourced<T> {
  try {
    return { value: spec.parse(s), where };
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

/** spec.parseObject() of a YAML object item, with the same error handling as parseSourced. */
export function parseSourcedObject<T>(spec: FieldSpec<T>, value: unknown, where: string): Sourced<T> {
  try {
    if (!spec.parseObject) throw new ValueError('list items must be single values');
    return { value: spec.parseObject(value), where };
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

/** YAML sections that hold nested keys. */
export const YAML_SECTIONS = ['device', 'crypto'] as const;

/** VpnCloud settings hacloud deliberately does not have: say so instead of "unknown key". */
export const VPNCLOUD_ONLY_KEYS: Record<string, string> = {
  mode: "hacloud always routes by claims like VpnCloud's router mode; remove 'mode'",
  'switch-timeout': 'hacloud has no switch mode; remove it',
  beacon: 'hacloud does not support beacons; list peers instead',
  'port-forwarding': 'hacloud does not do UPnP port forwarding; remove it',
  statsd: 'hacloud exports Prometheus metrics instead (metrics-listen)',
  hook: "hacloud's event scripts are set with 'hooks' (or --hook)",
  'device.fix-rp-filter': 'hacloud does not change rp_filter; remove it',
};
