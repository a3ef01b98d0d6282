// The engine's interface. Sans-IO: the daemon (or the simulator) feeds it datagrams, TUN
// packets and timeouts with the current monotonic time in ms (performance.now()), and it
// answers through the callbacks it was given. After any call, re-arm one timer at
// nextDeadline() and call handleTimeout() then (early or extra calls are harmless).
//
//   const engine = createEngine({ config, makeChannel: (sink) => new SecureChannel({ ..., sink }),
//     send: (to, dgram) => udp.send(to, dgram), deliver: (pkt) => tun.write(pkt), onEvent, rng });
//   engine.start(now);  engine.setSeeds(now, resolvedPeers);
//   udp  -> engine.handleDatagram(now, from, data)     tun -> engine.handleTunPacket(now, pkt)
//   timer -> engine.handleTimeout(now)                  SIGTERM -> engine.leave(now), wait for
//   leaveSettled (bounded), exit.
import type { Prefix } from '../wire/addr.js';
import type { Channel, ChannelSink } from './channel.js';
import type { Timing } from './constants.js';
import type { EngineEvent } from './events.js';
import type { OwnClaimSpec } from './own-claims.js';
import type { RecordAuth } from './record-auth.js';
import type { RelayLimit } from './relay-limit.js';
import type { RelayMode } from '../wire/control.js';
import type { EngineStatus } from './status.js';
import type { Endpoint, PeerId, Rng } from './types.js';

export interface EngineConfig {
  /**
   * Our claims: --ip as /32 or /128 unless --no-auto-claim, plus every --claim, with their
   * options (a bare Prefix means priority 100, no preemption, no health check).
   */
  claims: readonly (Prefix | OwnClaimSpec)[];
  /** Our own wall-clock start time (epoch ms), announced to everyone. */
  bootTimeMs: number;
  /** Resolved -c/--peer endpoints. */
  seeds: readonly Endpoint[];
  keepaliveMs: number;
  peerTimeoutMs: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  lostPeerRetryMs?: number;
  /**
   * Claim rights: public key (canonical PeerId) -> the prefixes that node may claim (each
   * covering itself and everything more specific). Absent or null: any member may claim
   * anything routable.
   */
  claimRights?: ReadonlyMap<PeerId, readonly Prefix[]> | null;
  /** Prefixes peers may claim beyond the private and shared ranges (claim-policy.ts). */
  allowedRoutes?: readonly Prefix[];
  /** Relaying for others: 0 never (--no-relay), 1 yes (default), 2 as a preferred relay (`relay: true`). */
  relay?: RelayMode;
  /** Relayed traffic per (origin, destination) pair (default 10 000 packets/s, 12.5 MB/s). */
  relayLimit?: RelayLimit;
  /**
   * The largest inner packet a relayed path carries without fragmenting in the underlay (the
   * TUN MTU for the underlay minus RELAY_OVERHEAD_BYTES). Larger packets to a relayed peer get
   * an ICMP "too big" answer instead. Default: no limit.
   */
  relayMtu?: number;
  /**
   * Meshes of at most this many members (us included) keep a session with every member, as a
   * full mesh; larger ones keep sessions only with the peers they use and detect other
   * failures with SWIM (default DEFAULT_FULL_MESH_MAX, 8).
   */
  fullMeshMax?: number;
  /** Sessions held at once (default MAX_SESSIONS); tests lower it. */
  maxSessions?: number;
  /** --advertise-address endpoints: static candidates we announce. */
  advertise?: readonly Endpoint[];
}

export interface EngineOptions {
  config: EngineConfig;
  /** Build the secure channel (or the simulator's) around the engine's sink. */
  makeChannel(sink: ChannelSink): Channel;
  /**
   * Signs our node records and checks others' (crypto/record-auth.ts: the Ed25519 key of the
   * channel's identity). Must belong to the channel's identity.
   */
  recordAuth: RecordAuth;
  /** Put a datagram on the UDP socket. */
  send(to: Endpoint, datagram: Uint8Array): void;
  /** Write an IP packet to the TUN device. Only valid during the call. */
  deliver(packet: Uint8Array): void;
  onEvent?(event: EngineEvent): void;
  rng: Rng;
}

/** What drain/undrain touched. */
export interface DrainResult {
  /** Our claims it applies to (prefix text). */
  prefixes: string[];
  /** Prefixes asked for that we do not claim. */
  unknown: string[];
}

/** How far peers are in switching away from drained claims. */
export interface DrainProgress {
  peers: number;
  /** Peers that acknowledged the NodeInfo announcing the drain. */
  acked: number;
  settled: boolean;
}

export interface Engine {
  readonly localId: PeerId;
  readonly timing: Timing;
  /** Announce our claims and start connecting to the seeds. */
  start(now: number): void;
  /** A UDP datagram arrived from `from`. */
  handleDatagram(now: number, from: Endpoint, data: Uint8Array): void;
  /** An IP packet was read from the TUN device. */
  handleTunPacket(now: number, packet: Uint8Array): void;
  /** Run due timers. Calling it early is harmless. */
  handleTimeout(now: number): void;
  /** Monotonic time of the next handleTimeout() with work (Infinity: none). */
  nextDeadline(): number;
  /** Replace the seed endpoints (the daemon re-resolved -c host names). */
  setSeeds(now: number, endpoints: readonly Endpoint[]): void;
  /**
   * Our own candidate endpoints: `host` (interface addresses with our port, found by the
   * daemon), `advertise` (resolved --advertise-address). Omitted fields stay as they are.
   */
  setCandidates(now: number, c: { host?: readonly Endpoint[]; advertise?: readonly Endpoint[] }): void;
  /** Graceful stop: tell every peer we leave (retransmitted until acknowledged). */
  leave(now: number): void;
  /** Every peer acknowledged our Leave (or none was connected); the daemon may exit. */
  readonly leaveSettled: boolean;
  /** A health check of our claim `prefix` (its text, e.g. "10.0.0.1/32") ended. */
  healthResult(now: number, prefix: string, ok: boolean, detail?: string): void;
  /**
   * Withdraw our claims `prefixes` (all when null) gracefully: peers move them elsewhere while
   * we keep serving the connections we have. undrain() announces them again.
   */
  drain(now: number, prefixes: readonly string[] | null): DrainResult;
  undrain(now: number, prefixes: readonly string[] | null): DrainResult;
  /** Have all peers acknowledged the drain of `prefixes` (all when null)? */
  drainProgress(prefixes: readonly string[] | null): DrainProgress;
  /** Active claimant for an address (4 or 16 bytes); localId means ourselves; null: no route. */
  routeFor(addr: Uint8Array): PeerId | null;
  /** The prefixes another node is the active claimant of (what kernel routes point here). */
  prefixesRoutedToOthers(): Prefix[];
  status(now: number): EngineStatus;
}
