// The fully resolved configuration the daemon consumes. Every value here has been validated
// and defaulted (src/config/resolve.ts); durations are milliseconds, addresses are parsed.
import type { Family, HostPort, Prefix } from '../wire/addr.js';
import type { LogLevel } from '../log/levels.js';
import type { HaEvent } from '../core/events.js';

export const ALGORITHMS = ['aes256-gcm', 'chacha20-poly1305', 'plain'] as const;
/** Data-channel AEAD names, as written in flags and YAML. */
export type Algorithm = (typeof ALGORITHMS)[number];

/** The TUN interface address: `--ip 10.0.0.1/24` → address 10.0.0.1, prefix 10.0.0.0/24. */
export interface InterfaceIp {
  readonly family: Family;
  /** The interface's own address (4 or 16 bytes). */
  readonly address: Uint8Array;
  /** The interface's network (host bits cleared); /24 (IPv4) or /64 (IPv6) when not given. */
  readonly prefix: Prefix;
  /** Canonical "ADDR/LEN" with the address itself, e.g. "10.0.0.1/24", for `ip addr add`. */
  readonly text: string;
}

export interface DeviceConfig {
  /** Only 'tun': hacloud routes IP packets by claims ('tap' is refused with a clear error). */
  readonly type: 'tun';
  /** Interface name or kernel template ("hacloud%d"). At most 15 characters. */
  readonly name: string;
  /** The TUN clone device. */
  readonly path: string;
}

/** Event hooks: scripts run on HA events (daemon/event-hooks.ts). */
export interface EventHookConfig {
  /** Scripts for every event (--hook, hooks: as a list or hooks.all). */
  readonly all: readonly string[];
  /** Scripts per event (hooks.<event>). */
  readonly byEvent: Partial<Record<HaEvent, readonly string[]>>;
  /** Each run is stopped after this long. */
  readonly timeoutMs: number;
}

/** A health check of a claim's service (config form; the daemon runs it). */
export type HealthProbeSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string }
  | { kind: 'exec'; command: string };

export interface HealthCheckConfig {
  probe: HealthProbeSpec;
  /** A check starts this long after the previous one started (or right after it ended). */
  intervalMs: number;
  /** A check that takes longer than this has failed. */
  timeoutMs: number;
  /** Consecutive successes before the claim is advertised (again). */
  rise: number;
  /** Consecutive failures before it is withdrawn. */
  fall: number;
}

/** One of this node's claims (`claims:`, `--claim`) with its options. */
export interface ClaimConfig {
  prefix: Prefix;
  /** 0..255, higher preferred among claims of the same prefix (default 100). */
  priority: number;
  /** Take the prefix from a lower-priority claimant that serves it (default false). */
  preempt: boolean;
  /** With preempt: wait this long after the claim came up (default 0). */
  preemptDelayMs: number;
  health: HealthCheckConfig | null;
}

/** `relay-limit`: relayed traffic allowed per (origin, destination) pair each second. */
export interface RelayLimit {
  readonly packetsPerSec: number;
  readonly bytesPerSec: number;
}

/** `claim-rights`: the node with public key `key` may claim `prefixes` and anything inside them. */
export interface ClaimRight {
  /** Canonical public key (as parsePeerId gives it), i.e. the node's id. */
  readonly key: string;
  readonly prefixes: readonly Prefix[];
}

export interface CryptoConfig {
  /** Password mode: the network key is derived from this. Null in key mode. */
  readonly password: string | null;
  /** Password mode: goes into the password's salt, so each network needs its own dictionary. */
  readonly network: string;
  /** Password mode: this node's identity key (created if missing). Null in key mode. */
  readonly identityFile: string | null;
  /** Key mode: this node's private key (32-byte Ed25519 seed, base64url, 43 chars). */
  readonly privateKey: string | null;
  /** Optional; when given it was checked to belong to privateKey. */
  readonly publicKey: string | null;
  /** Public keys (X25519, base64url, 43 chars: node ids) this node trusts, deduplicated. */
  readonly trustedKeys: readonly string[];
  /** Preference order, deduplicated. Default aes256-gcm, chacha20-poly1305. */
  readonly algorithms: readonly Algorithm[];
}

export interface Config {
  /** The YAML file the settings came from (as given with --config), or null. */
  readonly configFile: string | null;
  readonly device: DeviceConfig;
  /** The interface address; null when no --ip was given (the node then only relays/claims). */
  readonly ip: InterfaceIp | null;
  /** Local UDP endpoint; host '' = all addresses (one dual-stack socket). Port 0 = any. */
  readonly listen: HostPort;
  /** Peers to connect to (host may be a name, resolved by the daemon), deduplicated. */
  readonly peers: readonly HostPort[];
  /** --claim subnets with their options, deduplicated by prefix (host bits cleared). */
  readonly claims: readonly ClaimConfig[];
  /** Also claim the --ip address as a host prefix (/32 or /128). See claimedPrefixes(). */
  readonly autoClaim: boolean;
  /** A peer is dropped after this long without an authenticated packet. */
  readonly peerTimeoutMs: number;
  /** Interval of keepalives; always < peerTimeoutMs. */
  readonly keepaliveMs: number;
  /** TUN MTU: 'auto' = underlay MTU minus hacloud's overhead, or a fixed number of bytes. */
  readonly mtu: number | 'auto';
  /** Shell commands run after the device is up / before it goes down (IFNAME in env). */
  readonly ifup: string | null;
  readonly ifdown: string | null;
  /** Scripts run on HA events (`hooks:`, `--hook`). */
  readonly hooks: EventHookConfig;
  readonly logLevel: LogLevel;
  /** Append log lines here instead of stderr. */
  readonly logFile: string | null;
  readonly crypto: CryptoConfig;
  /** Unix socket for `hacloud status`. */
  readonly controlSocket: string;
  /** Prometheus endpoint; null = off. A bare port means 127.0.0.1. */
  readonly metricsListen: HostPort | null;
  /** YAML stats file rewritten periodically; null = off. */
  readonly statsFile: string | null;
  readonly pidFile: string | null;
  /** Drop privileges to this user/group (name or numeric id) after the device is set up. */
  readonly user: string | null;
  readonly group: string | null;
  /** Add kernel routes through the TUN for other nodes' claimed subnets (--no-routes: off). */
  readonly routes: boolean;
  /**
   * Who may claim what: one entry per key, prefixes of repeated keys joined. Null when not
   * configured: every member may then claim anything routable.
   */
  readonly claimRights: readonly ClaimRight[] | null;
  /** Prefixes peers may claim (and get kernel routes for) beyond the private and shared ranges. */
  readonly allowedRoutes: readonly Prefix[];
  /** `advertise-addresses`: where peers may reach us besides what they see; port 0 = our listen port. */
  readonly advertise: readonly HostPort[];
  /** Relaying for peers that cannot reach each other: 'off' (--no-relay), 'on' (default), 'preferred' (relay: true). */
  readonly relay: 'off' | 'on' | 'preferred';
  /** Relayed traffic per (origin, destination) pair. */
  readonly relayLimit: RelayLimit;
  /** Things worth a warning at start-up; cli/main.ts logs them before the daemon starts. */
  readonly warnings: readonly string[];
}
