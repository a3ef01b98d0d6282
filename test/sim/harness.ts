// The simulator: N engines on a SimNetwork under one virtual clock that jumps to the next
// thing that happens (a datagram arriving, an engine deadline, a scheduled action). Nodes
// crash, restart (same identity in key mode, a fresh one in password mode), stop gracefully
// or freeze (a stalled process). A tiny "ping" application on every node answers requests to
// its claimed addresses, so tests observe the data path end to end: which server replied.
//
// Scale: datagrams, scheduled actions and node timers each sit in a heap (the nodes at the
// time they next have work, re-read after every call into a node, as the daemon re-arms its
// timer), so a step costs the same with 10 nodes or 1 000. A run that goes wrong fails fast
// instead of spinning: more than MAX_EVENTS_PER_INSTANT events at one simulated instant is a
// livelock, more than the step budget (SimOptions.maxEvents) a storm; both throw naming the
// seed and the busiest nodes.
//
// Everything random comes from the seed; a failing scenario reports it (see runSeeded) and
// SIM_SEED=<seed> replays exactly that run.
import type { Channel, ChannelSink } from '../../src/core/channel.js';
import { FAST_KEEPALIVE_MS, FAST_PEER_TIMEOUT_MS } from '../../src/core/constants.js';
import { createEngine, type Engine, type EngineConfig } from '../../src/core/engine.js';
import type { OwnClaimSpec } from '../../src/core/own-claims.js';
import type { EngineEvent } from '../../src/core/events.js';
import type { RecordAuth } from '../../src/core/record-auth.js';
import { Timer, TimerHeap, withTimer } from '../../src/core/timer-heap.js';
import type { Endpoint, PeerId } from '../../src/core/types.js';
import { formatAddress, formatPrefix, parseIPv4, parsePrefix, prefixContains, type Prefix } from '../../src/wire/addr.js';
import type { NatKind, NatOptions } from './nat.js';
import { LAN, SimNetwork, type LinkProfile } from './network.js';
import { SimRng } from './rng.js';
import { SimChannel } from './sim-channel.js';
import { simRecordAuth } from './sim-record-auth.js';

/** Wall clock of simulated time 0. */
export const EPOCH_MS = 1_700_000_000_000;

/** Wall-clock time at simulated time 0. */
const SIM_WALL_EPOCH_MS = 1_700_000_000_000;

export interface ChannelContext {
  name: string;
  incarnation: number;
  /** Stable across restarts in key mode, fresh per start in password mode. */
  identity: string;
  rng: SimRng;
  sink: ChannelSink;
  /** Simulated wall-clock time, the same for every node (their monotonic clocks differ). */
  wallClock: () => number;
}
export interface ChannelFactory {
  (ctx: ChannelContext): Channel;
  /** Node records of an identity string (default: the simulator's stand-in, sim-record-auth.ts). */
  recordAuth?: (identity: string) => RecordAuth;
}

export const simChannel: ChannelFactory = (ctx) => new SimChannel({ id: ctx.identity, rng: ctx.rng, sink: ctx.sink });

export interface NodeSpec {
  name: string;
  /** Tunnel address; claimed as /32 unless noAutoClaim. */
  ip: string;
  claims?: string[];
  noAutoClaim?: boolean;
  /** Names of the nodes this one is configured to connect to (-c). */
  seeds?: string[];
  /** 'key': restarts keep the identity; 'password': every start gets a fresh one. */
  identity?: 'key' | 'password';
  /** Offset of this node's wall clock (affects only its announced boot time). */
  wallSkewMs?: number;
  /** Options of its claims by prefix text ('10.0.0.1' means /32): priority, preemption, health. */
  claimOptions?: Record<string, Partial<Omit<OwnClaimSpec, 'prefix'>>>;
  /** More engine settings (relay mode and limit, advertised addresses...). */
  config?: Partial<EngineConfig>;
  /**
   * A NAT in front of the node (network.ts, nat.ts): it gets a private endpoint only nodes
   * behind the same box reach; nodes with the same `id` (default: the node's name) share one box.
   */
  nat?: { kind: NatKind; mappingTimeoutMs?: number; id?: string; hairpin?: boolean };
  /** A stateful firewall in front of the (public) node: unsolicited inbound UDP is dropped. */
  firewall?: boolean;
}

/** Events (datagram deliveries, scheduled actions, node wake-ups) at one simulated instant beyond which a run is a livelock. */
export const MAX_EVENTS_PER_INSTANT = 100_000;
/** Default event budget of one Sim: far above any test's (a swarm seed takes ~10 000), stops a storm within a minute or so. */
export const DEFAULT_MAX_EVENTS = 20_000_000;

/**
 * The public endpoint of the i-th host: 192.0.2.1–254, then 198.18.0.0/15 (a benchmark range).
 * Numbering on past 192.0.2.254 gave 192.0.2.256 and up: no address at all, so from the 255th node
 * on nobody could dial them and the 1 000-node runs measured false suspicions instead of SWIM.
 */
export function publicEndpoint(i: number): Endpoint {
  if (i < 254) return `192.0.2.${i + 1}:3210`;
  const n = i - 254;
  if (n >= 2 * 65_536) throw new Error(`the simulator numbers at most ${254 + 2 * 65_536} public hosts`);
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}:3210`;
}

export interface SimOptions {
  seed: number;
  /** Events the whole run may take before it fails (default DEFAULT_MAX_EVENTS). */
  maxEvents?: number;
  /**
   * Engine events kept for sim.events() and failure traces: all by default; the newest this
   * many when set (1 000 nodes log millions of route changes while they form: gigabytes).
   */
  logLimit?: number;
  keepaliveMs?: number;
  peerTimeoutMs?: number;
  reconnectMaxMs?: number;
  link?: Partial<LinkProfile>;
  channel?: ChannelFactory;
}

export interface LoggedEvent {
  t: number;
  node: string;
  incarnation: number;
  event: EngineEvent;
}

export interface Reply {
  seq: number;
  sentAt: number;
  at: number;
  server: string;
}

const PING_PROTOCOL = 253; // RFC 3692 experimental
const REQUEST = 1;
const REPLY = 2;

export class SimNode {
  engine: Engine | null = null;
  incarnation = 0;
  alive = false;
  id: PeerId = '';
  readonly ids: PeerId[] = [];
  bootTimeMs = 0;
  /** Monotonic clock of the current process = simulated time + offset. */
  clockOffsetMs = 0;
  frozenUntil = -Infinity;
  readonly inbox: [Endpoint, Uint8Array][] = [];
  /** IP packets its engines wrote to the TUN device, all incarnations. */
  tunPackets = 0;
  /** A copy of the last packet the engine wrote to this node's TUN. */
  lastTunPacket: Uint8Array | null = null;
  stopAt: number | null = null;
  readonly claims: Prefix[];
  readonly address: Uint8Array;
  /** Its place in the simulator's heap of node wake-ups (sim.ts rearm). */
  readonly timer = new Timer<SimNode>();
  /** Events it handled (datagrams and wake-ups), for the budget's report. */
  handled = 0;
  /** Timer wake-ups (handleTimeout calls) of its engines. */
  timeouts = 0;

  constructor(readonly spec: NodeSpec, readonly index: number, readonly endpoint: Endpoint) {
    const ip = parseIPv4(spec.ip);
    if (!ip) throw new Error(`node ${spec.name}: bad ip ${spec.ip}`);
    this.address = ip;
    this.claims = [...(spec.noAutoClaim ? [] : [parsePrefix(spec.ip)]), ...(spec.claims ?? []).map((c) => parsePrefix(c))];
    this.timer.owner = this;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Its claims with the options of spec.claimOptions. */
  claimSpecs(): OwnClaimSpec[] {
    const options = new Map(Object.entries(this.spec.claimOptions ?? {}).map(([k, o]) => [formatPrefix(parsePrefix(k)), o]));
    return this.claims.map((prefix) => ({
      prefix, priority: 100, preempt: false, preemptDelayMs: 0, health: null, ...options.get(formatPrefix(prefix)),
    }));
  }

  get running(): boolean {
    return this.alive && this.engine !== null;
  }

  mustEngine(): Engine {
    if (!this.engine) throw new Error(`node ${this.name} is not running`);
    return this.engine;
  }
}

interface Scheduled {
  readonly fn: () => void;
  readonly timer: Timer<Scheduled>;
}

export class Pinger {
  readonly replies: Reply[] = [];
  readonly sent = new Map<number, number>();
  seq = 0;
  stopped = false;

  constructor(readonly client: string, readonly dst: string, readonly intervalMs: number) {}

  /** Replies received in (from, to]. */
  between(from: number, to = Infinity): Reply[] {
    return this.replies.filter((r) => r.at > from && r.at <= to);
  }

  firstReplyAfter(t: number, server?: string): Reply | undefined {
    return this.replies.find((r) => r.at > t && (server === undefined || r.server === server));
  }
}

let current: Sim | null = null;

export class Sim {
  readonly rng: SimRng;
  readonly net: SimNetwork;
  readonly keepaliveMs: number;
  readonly peerTimeoutMs: number;
  now = 0;
  readonly log: LoggedEvent[] = [];
  /** When the process with each identity last exited (crash, or exit after a graceful stop). */
  readonly diedAt = new Map<PeerId, number>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly list: SimNode[] = [];
  private readonly byId = new Map<PeerId, SimNode>();
  /** Scheduled actions; equal times run in the order they were scheduled. */
  private readonly scheduled = new TimerHeap<Scheduled>();
  /** Running nodes by when they next have work: an engine deadline, a thaw, a stop. */
  private readonly wakeups = new TimerHeap<SimNode>();
  /** Events run so far (see maxEvents). */
  eventsRun = 0;
  private readonly maxEvents: number;
  /** The simulated instant events are being counted for, and how many it had. */
  private instant = -Infinity;
  private instantEvents = 0;
  private readonly channel: ChannelFactory;
  private readonly pingers: Pinger[] = [];

  constructor(readonly options: SimOptions) {
    this.rng = new SimRng(options.seed);
    this.net = new SimNetwork(this.rng.fork(), { ...LAN, ...options.link });
    this.keepaliveMs = options.keepaliveMs ?? FAST_KEEPALIVE_MS;
    this.peerTimeoutMs = options.peerTimeoutMs ?? FAST_PEER_TIMEOUT_MS;
    this.channel = options.channel ?? simChannel;
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    current = this;
  }

  static get current(): Sim | null {
    return current;
  }

  // ---------------------------------------------------------------------------------------
  // Nodes

  add(...specs: NodeSpec[]): SimNode[] {
    return specs.map((spec) => {
      if (this.nodes.has(spec.name)) throw new Error(`duplicate node ${spec.name}`);
      const i = this.list.length;
      const node = new SimNode(spec, i, spec.nat ? this.behindNat(spec.name, spec.nat) : publicEndpoint(i));
      if (spec.firewall) {
        if (spec.nat) throw new Error(`node ${spec.name}: a firewall or a NAT, not both`);
        this.net.setFirewall(node.endpoint, true);
      }
      this.nodes.set(spec.name, node);
      this.list.push(node);
      return node;
    });
  }

  private behindNat(name: string, nat: NonNullable<NodeSpec['nat']>): Endpoint {
    const id = nat.id ?? name;
    const box = this.net.hasNat(id) ? this.net.nat(id) : this.net.addNat(id, nat);
    if (box.kind !== nat.kind) throw new Error(`node ${name}: NAT ${id} is ${box.kind}, not ${nat.kind}`);
    return this.net.addHostBehind(id);
  }

  /** Reconfigure the NAT in front of `name` (a new kind flushes its mappings). */
  setNat(name: string, options: Partial<NatOptions>): void {
    const box = this.net.boxFor(this.node(name).endpoint);
    if (!box?.translates) throw new Error(`node ${name} is not behind a NAT`);
    box.reconfigure(options);
  }

  /** Put up or lift the firewall in front of `name`. */
  setFirewall(name: string, on: boolean): void {
    this.net.setFirewall(this.node(name).endpoint, on);
  }

  /** The endpoint `name` is seen at by `by` (its mapped public one across a NAT), or null if none yet. */
  seenAt(name: string, by: string): Endpoint | null {
    const node = this.node(name);
    const st = this.node(by).mustEngine().status(this.clock(this.node(by)));
    return st.peers.find((p) => p.id === node.id)?.endpoint ?? null;
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  get all(): readonly SimNode[] {
    return this.list;
  }

  live(): SimNode[] {
    return this.list.filter((n) => n.running);
  }

  /** Start (or restart after a crash) a node's process. */
  start(...names: string[]): void {
    for (const name of names) this.boot(this.node(name));
  }

  private boot(node: SimNode): void {
    if (node.alive) throw new Error(`node ${node.name} is already running`);
    node.incarnation++;
    node.alive = true;
    node.stopAt = null;
    node.frozenUntil = -Infinity;
    node.inbox.length = 0;
    const rng = this.rng.fork();
    const mode = node.spec.identity ?? 'key';
    const identity = mode === 'key' ? `${node.name}.key` : `${node.name}.${node.incarnation}.${rng.u32().toString(16)}`;
    node.clockOffsetMs = 1_000 * (1 + rng.int(1_000_000));
    node.bootTimeMs = Math.round(EPOCH_MS + this.now + (node.spec.wallSkewMs ?? 0));
    const inc = node.incarnation;
    let channelId = '';
    const engine = createEngine({
      config: {
        claims: node.claimSpecs(),
        bootTimeMs: node.bootTimeMs,
        seeds: (node.spec.seeds ?? []).map((s) => this.net.addressOf(this.node(s).endpoint, node.endpoint)),
        keepaliveMs: this.keepaliveMs,
        peerTimeoutMs: this.peerTimeoutMs,
        ...(this.options.reconnectMaxMs ? { reconnectMaxMs: this.options.reconnectMaxMs } : {}),
        ...node.spec.config,
      },
      makeChannel: (sink) => {
        const channel = this.channel({
          name: node.name, incarnation: inc, identity, rng: rng.fork(), sink, wallClock: () => SIM_WALL_EPOCH_MS + this.now,
        });
        channelId = channel.localId;
        return channel;
      },
      recordAuth: this.channel.recordAuth?.(identity) ?? simRecordAuth(() => channelId),
      send: (to, datagram) => this.net.send(this.now, node.endpoint, to, datagram),
      deliver: (packet) => this.onDeliver(node, packet),
      onEvent: (event) => this.logEvent({ t: this.now, node: node.name, incarnation: inc, event }),
      rng,
    });
    node.engine = engine;
    node.id = engine.localId;
    node.ids.push(node.id);
    this.byId.set(node.id, node);
    this.net.attach(node.endpoint, (from, data) => this.onDatagram(node, from, data));
    // like the daemon: its own interface address with its port is a host candidate
    engine.setCandidates(this.clock(node), { host: [node.endpoint] });
    engine.start(this.clock(node));
    this.rearm(node);
  }

  /** kill -9: the process is gone, in-flight datagrams to it are lost. */
  crash(name: string): void {
    const node = this.node(name);
    if (node.running) this.diedAt.set(node.id, this.now);
    node.alive = false;
    node.engine = null;
    node.inbox.length = 0;
    this.wakeups.cancel(node.timer);
    this.net.detach(node.endpoint);
  }

  restart(name: string): void {
    const node = this.node(name);
    if (node.alive) this.crash(name);
    this.boot(node);
  }

  /** SIGTERM: Leave to every peer, exit once acknowledged or after maxWaitMs. */
  stop(name: string, maxWaitMs = 500): void {
    const node = this.node(name);
    node.mustEngine().leave(this.clock(node));
    node.stopAt = this.now + maxWaitMs;
    this.rearm(node);
  }

  /** One health check result for `name`'s claim `prefix` (as the daemon's checker reports it). */
  health(name: string, prefix: string, ok: boolean): void {
    const node = this.node(name);
    if (!node.running || node.frozenUntil > this.now) return;
    node.mustEngine().healthResult(this.clock(node), formatPrefix(parsePrefix(prefix)), ok, ok ? 'ok' : 'failed');
    this.rearm(node);
  }

  /**
   * A health checker for `name`'s claim `prefix`: every intervalMs, while that process runs,
   * report `ok(now)`. Returns a function that stops it.
   */
  checkHealth(name: string, prefix: string, intervalMs: number, ok: (now: number) => boolean): () => void {
    const node = this.node(name);
    const inc = node.incarnation;
    let stopped = false;
    const tick = (): void => {
      if (stopped || !node.running || node.incarnation !== inc) return;
      this.health(name, prefix, ok(this.now));
      this.after(intervalMs, tick);
    };
    this.after(0, tick);
    return () => { stopped = true; };
  }

  /** `hacloud drain` / `undrain` on `name` (all its claims when prefixes is omitted). */
  drain(name: string, prefixes: string[] | null = null): void {
    const node = this.node(name);
    node.mustEngine().drain(this.clock(node), prefixes?.map((p) => formatPrefix(parsePrefix(p))) ?? null);
    this.rearm(node);
  }

  undrain(name: string, prefixes: string[] | null = null): void {
    const node = this.node(name);
    node.mustEngine().undrain(this.clock(node), prefixes?.map((p) => formatPrefix(parsePrefix(p))) ?? null);
    this.rearm(node);
  }

  /** The process does not run for `ms` (suspend, SIGSTOP); datagrams queue in its socket. */
  freeze(name: string, ms: number): void {
    const node = this.node(name);
    node.frozenUntil = this.now + ms;
    this.rearm(node);
  }

  clock(node: SimNode): number {
    return this.now + node.clockOffsetMs;
  }

  nameOf(id: PeerId | null): string | null {
    if (id === null) return null;
    return this.byId.get(id)?.name ?? `?${id}`;
  }

  /** The node `name` sends packets for `ip` to (its own name when it delivers locally). */
  routeOf(name: string, ip: string): string | null {
    const node = this.node(name);
    return this.nameOf(node.mustEngine().routeFor(parseIPv4(ip)!));
  }

  /** Every live node's route for `ip`, as "name->owner" (tests compare whole views). */
  routesTo(ip: string): string[] {
    return this.live().map((n) => `${n.name}->${this.routeOf(n.name, ip)}`);
  }

  /** The endpoints of the named nodes (for sim.net.partition). */
  endpointsOf(names: readonly string[]): string[] {
    return names.map((n) => this.node(n).endpoint);
  }

  /** Is `id` the identity of a process that is running now? */
  isLiveId(id: PeerId): boolean {
    const n = this.byId.get(id);
    return !!n && n.running && n.id === id;
  }

  private logEvent(e: LoggedEvent): void {
    this.log.push(e);
    const limit = this.options.logLimit;
    if (limit !== undefined && this.log.length >= 2 * limit) this.log.splice(0, this.log.length - limit);
  }

  events(filter?: (e: LoggedEvent) => boolean): LoggedEvent[] {
    return filter ? this.log.filter(filter) : this.log;
  }

  // ---------------------------------------------------------------------------------------
  // The ping application

  /** `client` sends a request to `dst` every intervalMs; claimants answer. */
  ping(client: string, dst: string, intervalMs: number): Pinger {
    const p = new Pinger(client, dst, intervalMs);
    this.pingers.push(p);
    const tick = (): void => {
      if (p.stopped) return;
      const node = this.node(client);
      if (node.running && node.frozenUntil <= this.now) {
        p.seq++;
        p.sent.set(p.seq, this.now);
        node.engine!.handleTunPacket(this.clock(node), pingPacket(node.address, parseIPv4(dst)!, REQUEST, 0, p.seq));
        this.rearm(node);
      }
      this.after(intervalMs, tick);
    };
    this.after(0, tick);
    return p;
  }

  private onDeliver(node: SimNode, packet: Uint8Array): void {
    node.tunPackets++;
    node.lastTunPacket = packet.slice();
    if (packet.length < 28 || packet[9] !== PING_PROTOCOL) return;
    const kind = packet[20];
    const seq = readU32(packet, 24);
    if (kind === REQUEST) {
      const reply = pingPacket(packet.subarray(16, 20), packet.subarray(12, 16), REPLY, node.index, seq);
      const inc = node.incarnation;
      this.after(0, () => {
        if (!node.running || node.incarnation !== inc) return;
        node.engine!.handleTunPacket(this.clock(node), reply);
        this.rearm(node);
      });
    } else if (kind === REPLY) {
      const src = formatAddress(packet.subarray(12, 16));
      const p = this.pingers.find((x) => x.client === node.name && x.dst === src);
      const sentAt = p?.sent.get(seq);
      if (p && sentAt !== undefined) p.replies.push({ seq, sentAt, at: this.now, server: this.list[packet[21]!]!.name });
    }
  }

  // ---------------------------------------------------------------------------------------
  // The clock

  at(t: number, fn: () => void): void {
    const item = withTimer<Scheduled>({ fn, timer: new Timer() });
    this.scheduled.schedule(item.timer, t);
  }

  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  run(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Run until `pred()` holds (checked after every step) or `maxMs` passed; returns whether it held. */
  runUntilTrue(pred: () => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    if (pred()) return true;
    return this.runUntil(end, pred);
  }

  runUntil(end: number, stop?: () => boolean): boolean {
    for (;;) {
      const t = Math.min(this.net.nextTime(), this.scheduled.next(), this.wakeups.next());
      if (t > end) break;
      if (t > this.now) this.now = t;
      this.step();
      if (stop?.()) return true;
    }
    this.now = Math.max(this.now, end);
    return stop ? stop() : true;
  }

  /** Everything due now: datagrams, then scheduled actions, then node wake-ups. */
  private step(): void {
    const now = this.now;
    while (this.net.deliverOne(now)) this.count(); // receivers run inside deliverOne
    for (const item of this.scheduled.popDue(now)) {
      this.count();
      item.fn();
    }
    for (const node of this.wakeups.popDue(now)) {
      this.count(node);
      this.wake(node);
    }
  }

  /** One more event; fail fast on a livelock (too many at this instant) or a storm (over the budget). */
  private count(waking?: SimNode): void {
    this.eventsRun++;
    if (this.now !== this.instant) {
      this.instant = this.now;
      this.instantEvents = 0;
    }
    if (++this.instantEvents > MAX_EVENTS_PER_INSTANT) {
      const due = this.live().filter((n) => n === waking || (n.timer.pos >= 0 && n.timer.at <= this.now))
        .map((n) => `${n.name} (deadline ${n.engine!.nextDeadline() - n.clockOffsetMs}, frozen until ${n.frozenUntil})`);
      throw new Error(`simulator livelock at t=${this.now} (seed ${this.options.seed}): ${MAX_EVENTS_PER_INSTANT} events at one instant; ` +
        `nodes due: ${due.slice(0, 10).join(', ') || 'none'}; ${this.net.inFlight} datagrams in flight`);
    }
    if (this.eventsRun > this.maxEvents) {
      const busiest = [...this.list].sort((a, b) => b.handled - a.handled).slice(0, 5).map((n) => `${n.name} ${n.handled}`);
      throw new Error(`simulator step budget of ${this.maxEvents} events exceeded at t=${this.now.toFixed(1)} ms (seed ${this.options.seed}); ` +
        `busiest nodes: ${busiest.join(', ')}; ${this.net.inFlight} datagrams in flight`);
    }
  }

  /** A node's wake-up: thaw (the overdue timer first, then the queued datagrams), stop, timers. */
  private wake(n: SimNode): void {
    if (!n.running) return;
    n.handled++;
    if (n.frozenUntil > this.now) return this.rearm(n);
    if (n.inbox.length > 0) {
      // Waking up: the overdue timer runs before the queued datagrams (the harsh order).
      this.timeoutIfDue(n);
      for (const [from, data] of n.inbox.splice(0)) n.engine!.handleDatagram(this.clock(n), from, data);
    }
    if (n.stopAt !== null && (n.engine!.leaveSettled || this.now >= n.stopAt)) return this.crash(n.name);
    this.timeoutIfDue(n);
    this.rearm(n);
  }

  private timeoutIfDue(n: SimNode): void {
    const due = n.engine!.nextDeadline();
    // at least the deadline itself: sim time and node clock differ by an offset, and rounding
    // must not hand the engine a time a hair before the deadline it asked for
    if (due - n.clockOffsetMs > this.now) return;
    n.timeouts++;
    n.engine!.handleTimeout(Math.max(this.clock(n), due));
  }

  /** When `node` next has work; called after every call into its engine (as the daemon re-arms its timer). */
  private rearm(node: SimNode): void {
    if (!node.running) return this.wakeups.cancel(node.timer);
    let at: number;
    if (node.frozenUntil > this.now) {
      at = node.frozenUntil;
    } else {
      at = node.inbox.length > 0 ? this.now : node.engine!.nextDeadline() - node.clockOffsetMs;
      if (node.stopAt !== null) at = Math.min(at, node.engine!.leaveSettled ? this.now : node.stopAt);
    }
    this.wakeups.schedule(node.timer, at);
  }

  private onDatagram(node: SimNode, from: Endpoint, data: Uint8Array): void {
    if (!node.running) return;
    node.handled++;
    if (node.frozenUntil > this.now) {
      node.inbox.push([from, data]);
      return;
    }
    node.engine!.handleDatagram(this.clock(node), from, data);
    this.rearm(node);
  }

  // ---------------------------------------------------------------------------------------
  // Reporting

  /** The last `n` events, one line each, for failure messages. */
  traceTail(n = 80): string {
    return this.log
      .slice(-n)
      .map((e) => `  ${e.t.toFixed(1).padStart(9)} ${e.node}#${e.incarnation} ${describe(this, e.event)}`)
      .join('\n');
  }
}

function describe(sim: Sim, e: EngineEvent): string {
  const n = (id: PeerId | null | undefined): string => (id === undefined ? '-' : String(sim.nameOf(id)));
  switch (e.type) {
    case 'peer-up':
    case 'peer-suspect':
    case 'peer-recovered':
    case 'peer-roam':
    case 'peer-claims':
    case 'peer-restart':
      return `${e.type} ${n(e.peer)}`;
    case 'peer-down':
      return `peer-down ${n(e.peer)} ${e.reason} silent=${e.silentMs.toFixed(0)}`;
    case 'route-change':
      return `route ${e.prefixText} ${n(e.from)} -> ${n(e.to)} (${e.cause})`;
    case 'drop':
      return `drop ${e.reason} x${e.count}${e.detail ? ` ${e.detail}` : ''}`;
    default:
      return JSON.stringify(e);
  }
}

function pingPacket(src: Uint8Array, dst: Uint8Array, kind: number, server: number, seq: number): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p[2] = 0;
  p[3] = 28;
  p[8] = 64;
  p[9] = PING_PROTOCOL;
  p.set(src, 12);
  p.set(dst, 16);
  p[20] = kind;
  p[21] = server;
  p[24] = seq >>> 24;
  p[25] = (seq >>> 16) & 0xff;
  p[26] = (seq >>> 8) & 0xff;
  p[27] = seq & 0xff;
  return p;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * The claimant every live node should pick for `ip`, by the rules, from the processes that
 * are running (and not stopping): most specific claim, earliest boot time, lowest id.
 */
/**
 * Who every live node should route `ip` to once the mesh is quiet: among the running claimants
 * of the most specific prefix, the one that serves it (its own engine says its claim is
 * active). Exactly one must: none or several is reported as '<nobody serves>' /
 * '<several serve: ...>', which no route equals, so the caller's check fails with the names.
 */
export function expectedClaimant(sim: Sim, ip: string): string | null {
  const addr = parseIPv4(ip)!;
  let bestLen = -1;
  let claimants: SimNode[] = [];
  for (const n of sim.live()) {
    if (n.stopAt !== null) continue;
    for (const c of n.claims) {
      if (!prefixContains(c, addr) || c.len < bestLen) continue;
      if (c.len > bestLen) {
        bestLen = c.len;
        claimants = [];
      }
      claimants.push(n);
    }
  }
  if (claimants.length === 0) return null;
  const serving = claimants.filter((n) => {
    const own = n.mustEngine().status(sim.clock(n)).ownClaims.find((c) => prefixContains(parsePrefix(c.prefix), addr) && parsePrefix(c.prefix).len === bestLen);
    return own?.role === 'active';
  });
  if (serving.length === 1) return serving[0]!.name;
  return serving.length === 0 ? '<nobody serves>' : `<several serve: ${serving.map((n) => n.name).join(', ')}>`;
}

/** Is the undirected graph "u seeds v" over the running nodes connected? */
export function seedGraphConnected(sim: Sim): boolean {
  const live = sim.live().filter((x) => x.stopAt === null);
  if (live.length === 0) return true;
  const names = new Set(live.map((x) => x.name));
  const adj = new Map<string, string[]>(live.map((x) => [x.name, []]));
  for (const x of live) {
    for (const s of x.spec.seeds ?? []) {
      if (!names.has(s) || s === x.name) continue;
      adj.get(x.name)!.push(s);
      adj.get(s)!.push(x.name);
    }
  }
  const seen = new Set([live[0]!.name]);
  const todo = [live[0]!.name];
  while (todo.length > 0) for (const y of adj.get(todo.pop()!)!) if (!seen.has(y)) (seen.add(y), todo.push(y));
  return seen.size === names.size;
}

/**
 * Run the simulator in steps of `stepMs` until `pred()` holds (checked before each step) or
 * `maxMs` passed: the time it took, or null. Cheaper than runUntilTrue for a predicate that
 * reads every node (it is not checked after every single event).
 */
export function pollUntil(sim: Sim, pred: () => boolean, maxMs: number, stepMs = 20): number | null {
  const t0 = sim.now;
  while (sim.now - t0 <= maxMs) {
    if (pred()) return sim.now - t0;
    sim.run(stepMs);
  }
  return null;
}

/** Does every running node route `ip` to the node named `want` (null: to nobody)? `want` itself may deliver it. */
export function routedByAll(sim: Sim, ip: string, want: string | null): boolean {
  const addr = parseIPv4(ip)!;
  return sim.live().every((n) => sim.nameOf(n.engine!.routeFor(addr)) === want || (want !== null && n.name === want));
}

/**
 * Run `fn` with `seed`; on failure the error names the seed, the replay command and the
 * simulator's last events. SIM_SEED in the environment overrides the seed.
 */
export function runSeeded<T>(label: string, seed: number, fn: (seed: number) => T): T {
  const env = process.env['SIM_SEED'];
  const s = env !== undefined && env !== '' ? Number(env) : seed;
  try {
    return fn(s);
  } catch (err) {
    const e = err as Error;
    const trace = Sim.current ? `\nlast events (t in simulated ms):\n${Sim.current.traceTail()}` : '';
    e.message = `${label}: failed with seed ${s} — replay with SIM_SEED=${s}\n${e.message}${trace}`;
    throw e;
  }
}

/** The ten nodes besides a and b in twelveNodes(). */
export const TWELVE_OTHERS = ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'] as const;

/**
 * Twelve nodes past full-mesh-max (fullMeshMax 4, so SWIM membership and sessions on demand):
 * a seeds b, everyone else (TWELVE_OTHERS, 10.0.0.100 on, and `extra`) seeds a and b; all
 * started, then run for `settleMs`.
 */
export function twelveNodes(seed: number, o: { ipA: string; ipB: string; extra?: Omit<NodeSpec, 'config'>[]; settleMs: number }): Sim {
  const sim = new Sim({ seed });
  const config = { fullMeshMax: 4 };
  sim.add({ name: 'a', ip: o.ipA, seeds: [], config }, { name: 'b', ip: o.ipB, seeds: ['a'], config });
  TWELVE_OTHERS.forEach((n, i) => sim.add({ name: n, ip: `10.0.0.${100 + i}`, seeds: ['a', 'b'], config }));
  for (const spec of o.extra ?? []) sim.add({ seeds: ['a', 'b'], ...spec, config });
  sim.start('a');
  sim.run(50);
  sim.start('b', ...TWELVE_OTHERS, ...(o.extra ?? []).map((s) => s.name));
  sim.run(o.settleMs);
  return sim;
}
