// Command line → what to do. VpnCloud's flags keep their names so VpnCloud users can switch
// by changing the program name. Pure apart from reading --config: main.ts does the I/O.
import yargs, { type Argv, type Options } from 'yargs';
import { ConfigError } from '../config/errors.js';
import { FIELD_KEYS, FIELDS, parseSourced, splitCommaList, type FieldKey, type FieldSpec, type Settings, type Sourced } from '../config/fields.js';
import { loadConfigFile } from '../config/load.js';
import { mergeSettings } from '../config/merge.js';
import { defaultControlSocket, resolveSettings } from '../config/resolve.js';
import { closest } from '../config/suggest.js';
import { parseBoolean, scalar } from '../config/values.js';
import { DEFAULT_DEVICE_NAME } from '../config/defaults.js';
import type { Config } from '../config/types.js';
import { readVersion } from '../version.js';
import { formatPrefix, parsePrefix } from '../wire/addr.js';
import { DEFAULT_LOG_LEVEL, levelFromVerbosity, type LogLevel } from '../log/levels.js';

export type Command =
  /** Run the node (the default command). */
  | { kind: 'run'; config: Config }
  | { kind: 'genkey' }
  | { kind: 'status'; json: boolean; controlSocket: string }
  /** drain / undrain: withdraw (or announce again) this node's claims, all or the PREFIXes given. */
  | { kind: 'drain' | 'undrain'; prefixes: string[] | null; controlSocket: string; timeoutMs: number }
  | { kind: 'demo'; logLevel: LogLevel }
  /** --help or --version: print `text` on stdout and exit 0. */
  | { kind: 'print'; text: string };

export type Env = Record<string, string | undefined>;

interface FlagDoc {
  describe: string;
  group: string;
  alias?: string[];
}

const G_NET = 'Network:';
const G_SEC = 'Security:';
const G_HA = 'Failover:';
const G_OPS = 'Operations:';
const G_LOG = 'Logging:';

/** Help text and aliases of the flags in the settings table (config/fields.ts). */
const FLAG_DOCS: Record<FieldKey, FlagDoc | null> = {
  deviceType: { describe: 'device type; only tun', group: G_NET, alias: ['t'] },
  deviceName: { describe: 'interface name, %d = next free number [default: hacloud%d]', group: G_NET, alias: ['d'] },
  devicePath: { describe: 'TUN clone device [default: /dev/net/tun]', group: G_NET },
  ip: { describe: 'ADDR[/LEN] interface address and network [default length: /24]', group: G_NET },
  listen: { describe: '[IP:]PORT for UDP [default: 3210]', group: G_NET, alias: ['l'] },
  peers: { describe: 'HOST[:PORT] peer to connect to; repeatable', group: G_NET, alias: ['c', 'peer'] },
  mtu: { describe: "'auto' (underlay MTU minus overhead) or bytes [default: auto]", group: G_NET },
  ifup: { describe: 'command run when the device is up (IFNAME set)', group: G_NET },
  ifdown: { describe: 'command run before the device goes down', group: G_NET },
  advertise: {
    describe: 'HOST[:PORT] where peers can also reach this node (a port forward, a public address); ' +
      'port defaults to the listen port; repeatable',
    group: G_NET,
  },
  relay: {
    describe: 'forward traffic between peers that cannot reach each other; --relay: be a preferred relay, ' +
      '--no-relay: never relay [default: relay when needed]',
    group: G_NET,
  },
  relayLimit: { describe: 'PACKETS,BYTES relayed per second per pair of peers [default: 10000,12.5M: 100 Mbit/s]', group: G_NET },
  routes: { describe: "kernel routes for other nodes' claimed subnets; --no-routes: none [default: on]", group: G_NET },
  claimRights: {
    describe: 'KEY=PREFIX[,PREFIX...]: the node with this public key may claim these prefixes and anything inside ' +
      'them; once any is given, claims no right covers are ignored; repeatable',
    group: G_SEC,
  },
  allowedRoutes: {
    describe: 'PREFIX peers may claim outside 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 ' +
      '(0.0.0.0/0 allows any); repeatable',
    group: G_SEC,
  },
  claims: {
    describe: 'ADDR/LEN[,OPTION=VALUE...] subnet to claim with options priority, preempt, preempt-delay, ' +
      'health (tcp:HOST:PORT, http://URL, exec:CMD), interval, timeout, rise, fall; comma-separated; repeatable',
    group: G_HA,
  },
  hooks: { describe: 'script run on every HA event (EVENT, PREFIX, PEER... in its environment); repeatable', group: G_HA },
  hookTimeoutMs: { describe: 'stop an ifup/ifdown or event hook script after this long [default: 10s]', group: G_HA },
  autoClaim: { describe: 'claim the --ip address; --no-auto-claim: do not [default: on]', group: G_HA },
  peerTimeoutMs: { describe: 'drop a peer silent this long [default: 3s]', group: G_HA },
  keepaliveMs: { describe: 'keepalive interval [default: 0.5s]', group: G_HA },
  password: { describe: 'network password (or env PASSWORD)', group: G_SEC, alias: ['p'] },
  network: { describe: 'password mode: network name, part of the password salt [default: hacloud]', group: G_SEC },
  identityFile: { describe: "password mode: this node's key, created if missing [default: /var/lib/hacloud/<name>.key]", group: G_SEC },
  privateKey: { describe: "this node's private key (hacloud genkey)", group: G_SEC },
  publicKey: { describe: 'its public key, checked against the private key', group: G_SEC },
  trustedKeys: { describe: 'public key of a trusted node; repeatable', group: G_SEC },
  algorithms: { describe: 'aes256-gcm, chacha20-poly1305 or plain; in order of preference, repeatable', group: G_SEC },
  logLevel: null, // -v/-q
  logFile: { describe: 'append log lines to this file instead of stderr', group: G_LOG },
  controlSocket: { describe: 'Unix socket for hacloud status [default: /run/hacloud/<name>.sock]', group: G_OPS },
  metricsListen: { describe: '[IP:]PORT for Prometheus metrics; a bare port is 127.0.0.1 [default: off]', group: G_OPS },
  statsFile: { describe: 'YAML file with peers, claims and traffic, rewritten periodically', group: G_OPS },
  daemon: { describe: 'not supported: run under systemd (examples/systemd)', group: G_OPS },
  pidFile: { describe: 'write the process id here', group: G_OPS },
  user: { describe: 'drop privileges to this user after the device is set up', group: G_OPS },
  group: { describe: 'drop privileges to this group after the device is set up', group: G_OPS },
};

const COMMANDS = ['genkey', 'status', 'drain', 'undrain', 'demo'] as const;

function isBooleanField(spec: FieldSpec<unknown>): boolean {
  return spec.parse === (parseBoolean as FieldSpec<unknown>['parse']);
}

const GROUP_ORDER = [G_NET, G_HA, G_SEC, G_LOG, G_OPS];

function runOptions(y: Argv): Argv {
  // yargs prints groups in the order they are first used.
  for (const group of GROUP_ORDER) {
    for (const key of FIELD_KEYS) {
      const spec = FIELDS[key] as FieldSpec<unknown>;
      const doc = FLAG_DOCS[key];
      if (spec.flag === null || doc === null || doc.group !== group) continue;
      const boolean = isBooleanField(spec);
      const opt: Options = { type: boolean ? 'boolean' : 'string', describe: doc.describe, group };
      if (!boolean) opt.requiresArg = true;
      if (doc.alias) opt.alias = doc.alias;
      y = y.option(spec.flag, opt);
    }
    if (group === G_LOG) {
      y = y
        .option('verbose', { alias: 'v', type: 'count', describe: 'more log detail (-vv: trace)', group })
        .option('quiet', { alias: 'q', type: 'count', describe: 'warnings and errors only (-qq: errors)', group });
    }
    if (group === G_OPS) {
      y = y.option('config', { type: 'string', requiresArg: true, describe: 'YAML config file; flags override it, lists are merged', group });
    }
  }
  return y;
}

/** How status, drain and undrain find the node's control socket. */
function socketOptions(y: Argv): Argv {
  return y
    .option('control-socket', { type: 'string', requiresArg: true, describe: "the node's control socket" })
    .option('config', { type: 'string', requiresArg: true, describe: "the node's config file (to find its socket)" })
    .option('device', { alias: 'd', type: 'string', requiresArg: true, describe: "the node's device name (to find its socket)" });
}

/** `hacloud drain` waits this long for every peer to switch, unless --timeout says otherwise. */
const DEFAULT_DRAIN_WAIT_MS = 10_000;

function buildParser(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('hacloud')
    .locale('en')
    .parserConfiguration({ 'dot-notation': false, 'camel-case-expansion': false })
    .strict()
    .exitProcess(false)
    .usage('Usage: hacloud [options] to run a node, or hacloud <command> [options]')
    .help('help').alias('help', 'h')
    .version('version', 'Show the version', readVersion()).alias('version', 'V')
    .command('$0', false, runOptions)
    .command('genkey', 'print a new private key and its public key (the node id)', (y) =>
      // gone: accepted only to explain why (see parseCommand)
      y.option('password', { alias: 'p', type: 'string', hidden: true }))
    .command('status', "show this node's peers, claims and failovers", (y) =>
      socketOptions(y.option('json', { type: 'boolean', describe: 'stable JSON instead of tables' })))
    .command('drain [prefixes..]', "withdraw this node's claims (all, or the PREFIXes given) gracefully: peers switch, " +
      'existing connections keep being served; waits until every peer has switched', (y) => socketOptions(y)
      .positional('prefixes', { type: 'string', array: true, describe: 'claims to drain (default: all)' })
      .option('timeout', { type: 'string', requiresArg: true, describe: 'give up waiting for peers after this long [default: 10s]' }))
    .command('undrain [prefixes..]', 'announce drained claims again (all, or the PREFIXes given)', (y) => socketOptions(y)
      .positional('prefixes', { type: 'string', array: true, describe: 'claims to announce again (default: all)' }))
    .command('demo', 'run a local failover demo in network namespaces (root)', (y) =>
      y.option('verbose', { alias: 'v', type: 'count', describe: 'more detail' }))
    .epilogue('Durations: seconds (0.5, 2) or with a unit (300ms, 2s, 5m, 1h). See README.md and config/example.yaml.')
    .fail((message: string | null, error: Error | null) => {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(translateYargsMessage(message ?? error?.message ?? 'invalid arguments', argv));
    });
}

/**
 * Parse a command line (without "node" and the script). Reads the --config file if one is
 * given; has no other side effects. Throws ConfigError with a one-line message.
 */
export function parseCommand(argv: string[], env: Env = {}): Command {
  argv = attachDashValues(argv);
  let output = '';
  const parsed = buildParser(argv).parseSync(argv, {}, (_err, _args, out) => { output = out; }) as Record<string, unknown>;
  if (output !== '' || parsed['help'] || parsed['version']) return { kind: 'print', text: output };

  const command = (parsed['_'] as (string | number)[])[0];
  switch (command) {
    case undefined:
      return { kind: 'run', config: resolveArgs(parsed, env) };
    case 'genkey':
      if (parsed['password'] !== undefined) {
        throw new ConfigError('genkey --password is gone: a key derived from the password let anyone test passwords ' +
          'offline and gave every node one identity; in password mode each node keeps its own key in --identity-file ' +
          '(created on first start)');
      }
      return { kind: 'genkey' };
    case 'status':
      return { kind: 'status', json: parsed['json'] === true, controlSocket: statusSocket(parsed) };
    case 'drain':
    case 'undrain': {
      const raw = (parsed['prefixes'] as unknown[] | undefined) ?? [];
      const prefixes = raw.flatMap((p) => splitCommaList(String(p))).map((p) => canonicalPrefix(p));
      const timeout = singleString(parsed, 'timeout');
      return {
        kind: command,
        prefixes: prefixes.length > 0 ? prefixes : null,
        controlSocket: statusSocket(parsed),
        timeoutMs: timeout === null ? DEFAULT_DRAIN_WAIT_MS : parseSourced(FIELDS.hookTimeoutMs, scalar(timeout), '--timeout').value,
      };
    }
    case 'demo':
      return { kind: 'demo', logLevel: levelFromVerbosity(Number(parsed['verbose'] ?? 0), 0) };
    default:
      throw new ConfigError(`unknown command '${command}'; see hacloud --help`);
  }
}

/** Flags that take a value, as typed: "--ip", "-c", ... (all commands). */
function valueFlags(): Set<string> {
  const out = new Set(['--config', '--control-socket', '--device', '-d', '--password', '-p']);
  for (const key of FIELD_KEYS) {
    const spec = FIELDS[key] as FieldSpec<unknown>;
    if (spec.flag === null || isBooleanField(spec)) continue;
    out.add(`--${spec.flag}`);
    for (const alias of FLAG_DOCS[key]?.alias ?? []) out.add(alias.length === 1 ? `-${alias}` : `--${alias}`);
  }
  return out;
}

/**
 * Could this token be meant as a flag? "-secret" or "-Ab3..." (a key) cannot, nor "--Xy9..."
 * (one key in 4096 starts with two dashes): a long one counts only if it names a known flag.
 */
function looksLikeFlag(token: string, longFlags: Set<string>): boolean {
  if (token.startsWith('--')) {
    const name = token.slice(2).split('=')[0]!;
    return name === '' || longFlags.has(name) || (name.startsWith('no-') && longFlags.has(name.slice(3)));
  }
  return /^-[A-Za-z]$/.test(token) || /^-[vq]+$/.test(token);
}

/** Every long flag name of every command, without the dashes. */
function longFlagNames(): Set<string> {
  return new Set([...runFlags(), ...Object.values(COMMAND_FLAGS).flat()]);
}

/**
 * A value may start with '-' (one base64url key in 64 does, and so may a password), and a
 * parser would take it for flags: "--private-key -Ab3..." becomes "--private-key=-Ab3...",
 * "--private-key --Ab3..." likewise.
 */
function attachDashValues(argv: string[]): string[] {
  const flags = valueFlags();
  const longFlags = longFlagNames();
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') { out.push(...argv.slice(i)); break; }
    if (flags.has(arg) && next !== undefined && next.length > 1 && next.startsWith('-') && !looksLikeFlag(next, longFlags)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The Config for running a node; ConfigError if the command line is not a plain run. */
export function parseArgs(argv: string[], env: Env = {}): Config {
  const command = parseCommand(argv, env);
  if (command.kind !== 'run') throw new ConfigError(`expected options to run a node, got '${command.kind}'`);
  return command.config;
}

function resolveArgs(parsed: Record<string, unknown>, env: Env): Config {
  const configFile = singleString(parsed, 'config');
  const file = configFile ? loadConfigFile(configFile) : {};
  return resolveSettings(mergeSettings(file, settingsFromEnv(env), settingsFromArgs(parsed)), { configFile });
}

/** Only PASSWORD, like VpnCloud; the flag still wins over it. */
export function settingsFromEnv(env: Env): Settings {
  const password = env['PASSWORD'];
  if (password === undefined || password === '') return {};
  return { password: [{ value: password, where: 'PASSWORD environment variable' }] };
}

/** Turn yargs' values into a settings layer, parsing each with the same parsers as YAML. */
export function settingsFromArgs(parsed: Record<string, unknown>): Settings {
  const settings: Record<string, Sourced<unknown>[]> = {};
  for (const key of FIELD_KEYS) {
    const spec = FIELDS[key] as FieldSpec<unknown>;
    if (spec.flag === null) continue;
    const raw = parsed[spec.flag];
    if (raw === undefined) continue;
    const where = `--${spec.flag}`;
    const boolean = isBooleanField(spec);
    let values = Array.isArray(raw) ? raw : [raw];
    if (boolean) values = [values[values.length - 1]]; // --no-routes --routes: the last one counts
    if (spec.merge === 'single' && values.length > 1) {
      throw new ConfigError(`${where} is given ${values.length} times; give it once`);
    }
    const out: Sourced<unknown>[] = [];
    for (const value of values) {
      if (!boolean && typeof value === 'boolean') {
        throw new ConfigError(value ? `${where} needs a value` : `--no-${spec.flag} is not an option`);
      }
      const texts = spec.commaList ? splitCommaList(String(value)) : [value];
      if (texts.length === 0) throw new ConfigError(`${where}: empty list`);
      for (const text of texts) out.push(parseSourced(spec, scalar(text as string | boolean), where));
    }
    settings[key] = out;
  }
  const verbose = Number(parsed['verbose'] ?? 0);
  const quiet = Number(parsed['quiet'] ?? 0);
  if (verbose > 0 || quiet > 0) {
    settings['logLevel'] = [{ value: levelFromVerbosity(verbose, quiet, DEFAULT_LOG_LEVEL), where: '-v/-q' }];
  }
  return settings as Settings;
}

function singleString(parsed: Record<string, unknown>, flag: string): string | null {
  const raw = parsed[flag];
  if (raw === undefined) return null;
  if (Array.isArray(raw)) throw new ConfigError(`--${flag} is given ${raw.length} times; give it once`);
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`--${flag} needs a value`);
  return raw;
}

/** A PREFIX argument in the form the node names its claims ("10.0.0.1" -> "10.0.0.1/32"). */
function canonicalPrefix(text: string): string {
  try {
    return formatPrefix(parsePrefix(text));
  } catch (e) {
    throw new ConfigError(`'${text}' is not a prefix: ${(e as Error).message}`);
  }
}

/** --control-socket, else the config file's, else the same default the node computes. */
function statusSocket(parsed: Record<string, unknown>): string {
  const explicit = singleString(parsed, 'control-socket');
  if (explicit) return explicit;
  const configFile = singleString(parsed, 'config');
  const file = configFile ? loadConfigFile(configFile) : {};
  const fromFile = file.controlSocket?.[0]?.value;
  if (fromFile) return fromFile;
  const device = singleString(parsed, 'device') ?? file.deviceName?.[0]?.value ?? DEFAULT_DEVICE_NAME;
  return defaultControlSocket(device, configFile);
}

/** Long flags of the subcommands, for suggestions. */
const COMMAND_FLAGS: Record<(typeof COMMANDS)[number], string[]> = {
  genkey: ['password'],
  status: ['json', 'control-socket', 'config', 'device'],
  drain: ['control-socket', 'config', 'device', 'timeout'],
  undrain: ['control-socket', 'config', 'device'],
  demo: ['verbose'],
};

/** yargs' messages → ours: name the flag as the user typed it and suggest a close one. */
function translateYargsMessage(message: string, argv: string[]): string {
  const command = COMMANDS.find((c) => argv.includes(c));
  const help = command ? `hacloud ${command} --help` : 'hacloud --help';
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) {
    const name = unknown[1]!.split(', ')[0]!;
    const typed = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}`);
    if (typed === undefined && !argv.some((a) => a.startsWith('-') && a.slice(1).includes(name))) {
      const guess = command ? null : closest(name, COMMANDS);
      return `unexpected argument '${name}'${guess ? ` (did you mean the command '${guess}'?)` : ''}; see ${help}`;
    }
    // yargs reports "--no-foo" as "foo".
    const negated = typed === undefined && argv.some((a) => a === `--no-${name}` || a.startsWith(`--no-${name}=`));
    const no = negated ? 'no-' : '';
    const flag = name.length === 1 ? `-${name}` : `--${no}${name}`;
    const guess = name.length > 1 ? closest(name, command ? COMMAND_FLAGS[command] : runFlags()) : null;
    const where = command ? ` for '${command}'` : '';
    return `unknown option ${flag}${where}${guess ? ` (did you mean --${no}${guess}?)` : ''}; see ${help}`;
  }
  const missing = /^Not enough arguments following: (.*)$/.exec(message);
  if (missing) {
    const flag = `${missing[1]!.length === 1 ? '-' : '--'}${missing[1]!}`;
    const next = argv[argv.indexOf(flag) + 1];
    const hint = next?.startsWith('-') ? ` (for a value starting with '-' write ${flag}=VALUE)` : '';
    return `${flag} needs a value${hint}`;
  }
  return `${message.split('\n')[0]}; see ${help}`;
}

function runFlags(): string[] {
  const flags = FIELD_KEYS.flatMap((k) => {
    const f = FIELDS[k].flag;
    return f === null ? [] : [f, ...(FLAG_DOCS[k]?.alias?.filter((a) => a.length > 1) ?? [])];
  });
  return [...flags, 'config', 'verbose', 'quiet', 'help', 'version'];
}
