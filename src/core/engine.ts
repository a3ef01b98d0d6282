// The mesh engine: composes the channel, peer table, membership, claims and the data path.
// Its interface, and how to drive it, is in engine-api.ts.
//
// Decisions worth knowing
// - Routing: longest claimed prefix; among its claimants the rule of routing.ts (health, the
//   serving claimant unless preempted, priority, uptime, id). Our own claims take part: if we
//   win, packets are delivered to our own TUN, and we announce a new serving epoch for the
//   prefix (own-claims.ts); if another wins, we announce standby.
// - Own claims change at run time: health checks (run by the daemon, hysteresis here) and
//   drain withdraw them; every change goes out at once in a new NodeInfo.
// - Drain keeps connections: while a claimant that drained a prefix it served still announces
//   it drained, TCP segments without SYN for that prefix keep going to it (its existing
//   connections) and everything else goes to the new active claimant.
// - Claims: a peer's claims are screened by claim-policy.ts (claim rights, route safety, a cap)
//   before they enter the claim table; denied ones are counted, logged once per peer and
//   prefix, and shown in status. Our own claims are the operator's and always apply.
// - Incoming Data is delivered only if its inner source address lies inside one of the
//   sender's accepted claims (WireGuard's allowed-ips rule: a member cannot spoof another's
//   address; else 'bad-source') and its destination inside one of OUR claims (active or not:
//   during a failover the sender's view may be a moment ahead of ours). hacloud does not
//   forward between peers, so anything else would be a peer using us as a router into our
//   kernel; it is dropped as 'not-claimed'.
// - Boot times are self-announced, so a member can always make itself the preferred claimant
//   of whatever it may claim by announcing an early one; only claim rights limit what that is.
//   One further ahead of our wall clock than MAX_BOOT_TIME_AHEAD_MS is clamped (a broken
//   clock); our wall clock is our own boot time advanced by the monotonic clock, so the
//   engine reads no clock.
// - Gossip is screened before it can make us dial anything (membership.ts, endpoint-policy.ts).
// - Replaced peers: if a different identity completes a handshake from the endpoint a live
//   peer is using, that peer is declared down at once ('replaced'). A UDP endpoint belongs to
//   one socket at a time and a completed handshake proves the new identity receives there now,
//   so the old identity cannot be there any more: it restarted (password mode gives a fresh
//   identity per start) or moved. If it only moved (NAT rebinding handed its old port to
//   another node), it comes back through its next handshake; meanwhile its claims fail over to
//   another live claimant, the safe direction — traffic never goes into a black hole.
// - Restart with the same identity: a NodeInfo with a newer boot time replaces its claims at
//   once, so it ranks as the youngest claimant and does not take a shared IP back.
// - Wake-from-sleep: time the process did not run is not counted as peer silence (constants.ts).
// - Established TCP connections do not survive a failover: the survivor has no state for them
//   and answers their next segment with a reset, so clients reconnect (to the survivor).
//   Connectionless traffic and new connections simply go to the new active claimant.
// - Timers by deadline: each peer's timers (liveness.ts, and paths.ts for relayed peers) sit in
//   a heap at the time they next have work (timer-heap.ts); a wake-up runs only the peers that
//   are due, so its cost does not grow with the number of peers. Whatever may bring a peer's
//   time forward wakes it (it runs at once and works out its next time).
// - Re-entrancy: the engine sends from inside channel callbacks (answers, NodeInfo on
//   establish) but defers forget/connect/cancelConnect until the channel call has returned.
//   A datagram relayed to us is handed to the channel after the call that delivered it.
// - Paths (path.ts, paths.ts, relay.ts): a peer's active path is direct or through a relay
//   peer. Datagrams the channel sends to a relay path are wrapped for the relay here (sink);
//   relay requests from peers are forwarded within their limits. Liveness is end to end: a
//   packet from a peer on any path counts, so a dead relay is not a dead claimant.
import { formatPrefix, prefixContains, type Prefix } from '../wire/addr.js';
import {
  decodeControl, encodeControl, RTT_UNKNOWN, type ClaimInfo, type ControlMessage, type NodeInfo, type PeerInfo, type StateEntry,
} from '../wire/control.js';
import type { NodeRecord } from '../wire/record.js';
import { OwnRecord } from './own-record.js';
import { RecordSync } from './record-sync.js';
import { RecordTable, type RecordEntry } from './records.js';
import { digestState, Members, STATE_CODES, type Member, type MemberState } from './members.js';
import { Prober } from './swim.js';
import { IpHeader, TCP_ACK, TCP_SYN } from '../wire/ip.js';
import { FlowSet } from './flow-set.js';
import { OwnCandidates } from './own-candidates.js';
import { isRelayKey, relayVia, type PathKey } from './path.js';
import { PathManager } from './paths.js';
import { Relay } from './relay.js';
import { TokenBucket } from './token-bucket.js';
import { packetTooBig } from '../wire/icmp-too-big.js';
import { fragmentIPv4 } from '../wire/ipv4-fragment.js';
import { ViaTable } from './vias.js';
import type { Channel, ChannelSink } from './channel.js';
import { ClaimPolicy } from './claim-policy.js';
import { ClaimTable, plainRecord, type ClaimRecord, type RouteChange } from './claims.js';
import {
  DEFAULT_RELAY_BYTES_PER_S, TOO_BIG_ANSWERS_PER_S, DEFAULT_RELAY_PACKETS_PER_S, deriveTiming, HA_EVENT_HISTORY, LEAVE_COPIES, LEAVE_GRAVE_MS,
  MAX_BOOT_TIME_AHEAD_MS, MAX_DENIED_CLAIMS_PER_PEER, MAX_GOSSIP_ENDPOINTS_PER_PEER, MAX_GOSSIP_PEERS_PER_INFO,
  MAX_PEER_CANDIDATES, PUNCH_PAIR_INTERVAL_MS, type Timing, DEFAULT_FULL_MESH_MAX, MAX_SESSIONS, KEPT_CLAIMANTS_PER_PREFIX, PREFIX_USE_MS,
  RECORD_FANOUT, FULL_MESH_HOLD_MS, REFUTE_FANOUT, MAX_STATES_PER_MESSAGE, MAX_PULL_IDS,
} from './constants.js';
import { DropCounters } from './drops.js';
import { isDialable } from './endpoint-policy.js';
import type { EngineEvent, PeerDownReason } from './events.js';
import { OwnInfo } from './gossip.js';
import type { DrainProgress, DrainResult, Engine, EngineOptions } from './engine-api.js';
import { Departure, Grave } from './leave.js';
import { deathAt, forgiveStall, runPeerTimers, type PeerTimerActions } from './liveness.js';
import { Membership } from './membership.js';
import { OwnClaims, type OwnClaimRole, type OwnClaimSpec } from './own-claims.js';
import { newPeerRecord, PeerTable, setMemberClaims, type PeerRecord } from './peers.js';
import { explainChange, FailoverLog, type ChangeContext } from './route-changes.js';
import { DEFAULT_PRIORITY } from './routing.js';
import { buildStatus, relayModeName, type EngineStatus, type HaEventRecord, type MembershipStatus } from './status.js';
import { DeadlineChanges, TimerHeap } from './timer-heap.js';
import { MsgKind, type DropReason, type Endpoint, type PeerId } from './types.js';

export type { DrainProgress, DrainResult, Engine, EngineConfig, EngineOptions } from './engine-api.js';

export function createEngine(options: EngineOptions): Engine {
  return new MeshEngine(options);
}

const EMPTY = new Uint8Array(0);
/** Own-claim epochs settle in one or two rounds; more would be a bug, not a reason to spin. */
const MAX_RECONCILE_ROUNDS = 4;

/** A bare prefix in the config is a claim with default options. */
function toOwnSpec(c: Prefix | OwnClaimSpec): OwnClaimSpec {
  return 'prefix' in c ? c : { prefix: c, priority: DEFAULT_PRIORITY, preempt: false, preemptDelayMs: 0, health: null };
}

class MeshEngine implements Engine {
  readonly localId: PeerId;
  readonly timing: Timing;
  private readonly channel: Channel;
  private readonly peers = new PeerTable();
  private readonly claims: ClaimTable;
  private readonly policy: ClaimPolicy;
  private readonly membership: Membership;
  private readonly drops: DropCounters;
  private readonly ip = new IpHeader();
  private readonly own: OwnClaims;
  /** Every prefix we claim, withdrawn or not: Data for them is ours to deliver. */
  private readonly ownPrefixes: Prefix[];
  /** Our claims as last announced (and put into our claim table). */
  private announced: ClaimRecord[] = [];
  /** Per own claim (by prefix text): the NodeInfo seq that first announced it drained. */
  private readonly drainSeq = new Map<string, number>();
  /** Connections opened while some prefix is drained (flow-set.ts); cleared when none is. */
  private readonly drainFlows = new FlowSet();
  private readonly bootTimeMs: number;
  private readonly emit: (e: EngineEvent) => void;

  private started = false;
  private startedAtMs = 0;
  /** Seeds given before start() (config, or setSeeds called early). */
  private initialSeeds: readonly Endpoint[];
  private lastNow = -Infinity;
  /** Inside channel.receive()/timeout(): channel-mutating calls wait until it returns. */
  private channelDepth = 0;
  private readonly deferred: (() => void)[] = [];
  /**
   * Changes of any deadline below (heaps, queues; entry points that change other inputs add
   * one too): nextDeadline() keeps its minimum until one changes, so the data path, which
   * changes none, reads a cached number.
   */
  private readonly changes = new DeadlineChanges();
  private cachedDeadline = Infinity;
  private cachedChanges = -1;
  private cachedPeers = -1;
  /** Peers by when their timers (liveness.ts, paths.ts) next have something due. */
  private readonly timers = new TimerHeap<PeerRecord>(this.changes);

  private readonly info: OwnInfo;
  /** Every node's latest verified record, ours included (records.ts), spread by `sync`. */
  private readonly records: RecordTable;
  private readonly sync: RecordSync;
  /** Every node we know of: its SWIM state, and what we applied of its record. */
  private readonly members: Members;
  private readonly prober: Prober;
  /** Members (us included) up to which every member is kept (EngineConfig.fullMeshMax). */
  private readonly fullMeshMax: number;
  /** EngineConfig.maxSessions. */
  private readonly maxSessions: number;
  /** The mesh is that small now: every member kept, as in a full mesh. */
  private fullMesh = true;
  /** When the kept sessions are worked out again (refreshKept). */
  private nextKeepAtMs = -Infinity;
  private readonly candidates = new OwnCandidates();
  private readonly vias = new ViaTable(this.changes);
  private readonly relay: Relay;
  /** The largest packet a relayed path carries unfragmented (EngineConfig.relayMtu). */
  private readonly relayMtu: number;
  private readonly tooBigAnswers = new TokenBucket(TOO_BIG_ANSWERS_PER_S, TOO_BIG_ANSWERS_PER_S);
  private readonly paths: PathManager;
  private readonly departure: Departure;
  private readonly grave = new Grave(this.changes);
  private leftReported = false;
  private probeSeq = 0;
  private readonly failovers = new FailoverLog();
  private readonly haEvents: HaEventRecord[] = [];
  private reconciling = false;
  /**
   * Our claims may announce serving from this time (reconcileOwn): one peer timeout after start,
   * and again one after a peer came back when we had none, so that we learn who served meanwhile
   * before we could take over (servingAllowed: that time has come).
   */
  private serveFromMs = Infinity;
  private servingAllowed = false;

  private readonly timerActions: PeerTimerActions = {
    timedOut: (rec, now) => this.peerDown(rec, 'timeout', now),
    suspected: (rec, now) => {
      this.emit({ type: 'peer-suspect', peer: rec.id, silentMs: now - rec.lastHeardMs });
      // It may have lost our session (it closed it idle, or restarted): a fresh handshake tells.
      if (!this.fullMesh) this.defer(() => this.channel.renew(now, rec.endpoint, rec.id));
    },
    idle: (rec, now) => this.closeIdle(rec, now),
    probe: (rec, now) => this.sendProbe(rec, now),
    tick: (rec, now) => this.paths.tick(rec, now),
    requestInfo: (rec, now) => this.sendControl(rec, now, { type: 'info-request' }),
    sendInfo: (rec, now, refresh) => {
      if (refresh) this.info.refresh();
      this.sendInfo(rec, now);
    },
    keepalive: (rec, now) => {
      this.channel.send(now, rec.id, MsgKind.Keepalive, EMPTY);
      rec.lastSentMs = now;
    },
    reconnect: (rec, now) => this.defer(() => this.channel.connect(now, rec.endpoint, rec.id)),
    isEstablished: (rec) => this.channel.isEstablished(rec.id),
  };

  constructor(private readonly opts: EngineOptions) {
    const { config } = opts;
    this.timing = deriveTiming(config);
    this.bootTimeMs = config.bootTimeMs;
    this.own = new OwnClaims(config.claims.map(toOwnSpec));
    this.ownPrefixes = this.own.prefixes();
    this.initialSeeds = [...config.seeds];
    this.candidates.setStatic(config.advertise ?? []);
    this.relayMtu = config.relayMtu ?? Infinity;
    this.departure = new Departure(this.timing.infoRetransmitMs, this.timing.peerTimeoutMs, this.changes);
    this.emit = opts.onEvent ?? (() => {});
    this.drops = new DropCounters(this.emit);
    this.claims = new ClaimTable();
    this.policy = new ClaimPolicy(config.claimRights ?? null, config.allowedRoutes ?? []);
    const sink: ChannelSink = {
      send: (to, datagram) => {
        if (!isRelayKey(to)) return opts.send(to, datagram);
        if (!this.relay.sendThrough(this.lastNow, to, datagram)) this.drop('no-session', this.lastNow, `relay path ${to} unavailable`);
      },
      onEstablished: (now, peer, endpoint) => this.onEstablished(now, peer, endpoint),
      onMessage: (now, peer, endpoint, kind, payload, arrival) => this.onMessage(now, peer, endpoint, kind, payload, arrival),
      onSelf: (endpoint) => this.onSelf(endpoint),
      onDrop: (reason, from) => this.drop(reason, this.lastNow, from),
    };
    this.channel = opts.makeChannel(sink);
    this.localId = this.channel.localId;
    this.info = new OwnInfo(new OwnRecord(opts.recordAuth, this.localId, this.bootTimeMs), () => ({
      candidates: this.candidates.list(), relay: this.relay.mode, claims: this.announced, leaving: this.departure.leaving,
    }), this.timing.gossipCoalesceMs);
    this.fullMeshMax = config.fullMeshMax ?? DEFAULT_FULL_MESH_MAX;
    this.maxSessions = config.maxSessions ?? MAX_SESSIONS;
    this.records = new RecordTable({
      auth: opts.recordAuth,
      localId: this.localId,
      accepts: (id) => this.channel.accepts(id),
      drop: (reason, detail) => this.drop(reason, this.lastNow, detail),
      makeRoom: () => this.members.evictDead(),
    });
    this.members = new Members({
      localId: this.localId,
      ownVersion: () => this.records.get(this.localId)?.version ?? 0,
      digest: (id, before, after) => this.sync.changed(id, before, after),
      stateChanged: (now, m, before) => this.memberStateChanged(now, m, before),
      refute: (now, version) => this.ownSeen(now, version),
      forget: (id) => this.forgetRecord(id),
    }, this.timing.swimPeriodMs);
    this.sync = new RecordSync({
      localId: this.localId,
      records: this.records,
      rng: opts.rng,
      stateOf: (id) => {
        const m = this.members.get(id);
        return m ? STATE_CODES[m.state] : 0;
      },
      shareable: (id) => id === this.localId || this.members.get(id)?.state !== 'dead',
      stateSeen: (now, id, version, state, from) => this.statesHeard(now, [{ id, version, state }], from),
      gossipPeers: () => this.gossipPeers(),
      send: (now, peer, msg) => {
        const rec = this.peers.get(peer);
        if (rec) this.sendControl(rec, now, msg);
      },
      stored: (now, entry) => this.recordStored(now, entry),
      ownSeen: (now, version) => this.ownSeen(now, version),
      drop: (reason, detail) => this.drop(reason, this.lastNow, detail),
    });
    this.relay = new Relay(
      { channel: this.channel, peers: this.peers, localId: this.localId, drop: (reason, detail) => this.drop(reason, this.lastNow, detail) },
      config.relay ?? 1,
      config.relayLimit ?? { packetsPerSec: DEFAULT_RELAY_PACKETS_PER_S, bytesPerSec: DEFAULT_RELAY_BYTES_PER_S },
    );
    this.membership = new Membership(
      this.timing,
      opts.rng,
      {
        connect: (now, ep, peer) => this.defer(() => this.channel.connect(now, ep, peer)),
        cancelConnect: (ep) => this.defer(() => this.channel.cancelConnect(ep)),
        drop: (reason, detail) => this.drop(reason, this.lastNow, detail),
      },
      this.peers,
      this.changes,
    );
    this.prober = new Prober({
      rng: opts.rng,
      probeTargets: () => [...this.members.values()].filter((m) => this.probeable(m)).map((m) => m.id),
      probeable: (id) => {
        const m = this.members.get(id);
        return m !== undefined && this.probeable(m);
      },
      deadTargets: () => [...this.members.values()].filter((m) => m.state === 'dead' && m.entry !== null && !m.entry.record.leaving).map((m) => m.id),
      probe: (now, id) => this.probeMember(now, id),
      probeAgain: (now, id) => {
        const rec = this.peers.get(id);
        if (rec !== undefined) this.defer(() => this.channel.renew(now, rec.endpoint, id));
      },
      helpers: (id) => this.gossipPeers().filter((p) => p !== id),
      pingReq: (now, helper, target) => this.sendTo(now, helper, { type: 'ping-req', target }),
      pingAck: (now, requester, target) => this.sendTo(now, requester, { type: 'ping-ack', target }),
      failed: (now, id) => this.suspectMember(now, id),
      done: (id) => this.probeDone(id),
    }, this.timing);
    this.paths = new PathManager({
      channel: this.channel, peers: this.peers, localId: this.localId, timing: this.timing, vias: this.vias,
      own: this.candidates, membership: this.membership,
      switchPath: (rec, key, now) => this.switchPath(rec, key, now),
      sendControl: (rec, now, msg) => this.sendControl(rec, now, msg),
      allowPunch: (now, origin, target) => this.relay.allowPunch(now, origin, target, PUNCH_PAIR_INTERVAL_MS),
      drop: (reason, detail, n) => this.drop(reason, this.lastNow, detail, n),
      defer: (action) => this.defer(action),
      runBy: (rec, at) => this.timers.runBy(rec.timer, at),
      wanted: (id) => this.fullMesh || this.keptIds.has(id) || this.members.get(id)?.wantedSinceMs != null,
    });
  }

  // ---------------------------------------------------------------------------------------
  // Entry points

  start(now: number): void {
    this.changes.n++; // may change deadlines kept outside the heaps (claims, NodeInfo, leaving)
    if (this.started) return;
    this.started = true;
    this.startedAtMs = now;
    this.serveFromMs = now + this.timing.peerTimeoutMs;
    this.lastNow = now;
    this.emit({ type: 'started', id: this.localId, bootTimeMs: this.bootTimeMs });
    this.own.begin(now);
    this.announceOwn(now);
    this.membership.setSeeds(now, this.initialSeeds);
    this.runTimers(now);
  }

  handleDatagram(now: number, from: Endpoint, data: Uint8Array): void {
    this.enter(now);
    this.channelDepth++;
    try {
      this.channel.receive(now, from, data);
      // A datagram relayed to us rode inside that one: its turn now (a relayed datagram that
      // carries another relay message is refused, so this runs at most once more).
      for (let path = this.relay.takePending(); path !== null; path = this.relay.takePending()) {
        this.channel.receive(now, path, this.relay.datagram());
      }
    } finally {
      this.channelDepth--;
    }
    this.flushDeferred();
  }

  handleTunPacket(now: number, packet: Uint8Array): void {
    this.enter(now);
    if (this.ip.parseDst(packet) !== 0) return this.drop('bad-packet', now);
    const entry = this.claims.lookup(this.ip.dst);
    if (entry === undefined) return this.drop('no-route', now);
    entry.lastUsedMs = now;
    let active = entry.active;
    if (entry.drainPeer !== null) active = this.drainRoute(packet, entry.drainPeer, active);
    if (active === null) return this.drop('no-route', now);
    if (active === this.localId) return this.opts.deliver(packet);
    const rec = this.peers.get(active);
    if (rec && packet.length > this.relayMtu && isRelayKey(rec.endpoint)) {
      if (this.answerTooBig(now, packet)) return;
      // IPv4 without don't-fragment: cut it here, as a router would, into pieces the relayed
      // path carries whole; the destination's kernel reassembles them.
      const fragments = fragmentIPv4(packet, this.relayMtu);
      if (fragments !== null) {
        for (const f of fragments) this.sendData(now, active, rec, f);
        return;
      }
    }
    this.sendData(now, active, rec, packet);
  }

  /** One packet to `active` (its record `rec`, if it has a session); without one, dial it. */
  private sendData(now: number, active: PeerId, rec: PeerRecord | undefined, packet: Uint8Array): void {
    if (!rec || !this.channel.send(now, active, MsgKind.Data, packet)) {
      this.drop('no-session', now);
      return this.wantSession(now, active);
    }
    rec.txPackets++;
    rec.txBytes += packet.length;
    rec.lastSentMs = now;
  }

  /**
   * A packet for a relayed peer that would be fragmented in the underlay (relaying adds
   * RELAY_OVERHEAD_BYTES): answer it the way a router would, with an ICMP "too big" into our
   * TUN, so the sender's kernel lowers its path MTU. Fragments of relayed datagrams get lost
   * in bursts at NATs (measured: a 1 MB TCP transfer stalled). False: send it anyway (IPv4
   * without DF, an ICMP error, or answers over their rate: the underlay fragments it).
   */
  private answerTooBig(now: number, packet: Uint8Array): boolean {
    const answer = packetTooBig(packet, this.relayMtu);
    if (answer === null || !this.tooBigAnswers.take(now)) return false;
    this.drop('too-big', now);
    this.opts.deliver(answer);
    return true;
  }

  /**
   * While a drained claimant still serves the connections it had: a connection opened now
   * (SYN without ACK) goes to the active claimant and is remembered; segments of remembered
   * connections follow it; every other TCP segment goes to the drained one. Anything not TCP
   * goes to the active claimant.
   */
  private drainRoute(packet: Uint8Array, drainPeer: PeerId, active: PeerId | null): PeerId | null {
    const flags = this.ip.tcpFlags(packet);
    if (flags < 0 || !this.peers.has(drainPeer)) return active;
    const flow = this.ip.tcpFlowHash(packet);
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      this.drainFlows.add(flow);
      return active;
    }
    return this.drainFlows.has(flow) ? active : drainPeer;
  }

  handleTimeout(now: number): void {
    this.changes.n++;
    this.enter(now);
    this.channelDepth++;
    try {
      this.channel.timeout(now);
    } finally {
      this.channelDepth--;
    }
    this.flushDeferred();
    this.runTimers(now);
  }

  nextDeadline(): number {
    if (this.cachedChanges !== this.changes.n || this.cachedPeers !== this.peers.version) {
      this.cachedDeadline = this.engineDeadline();
      this.cachedChanges = this.changes.n;
      this.cachedPeers = this.peers.version; // membership looks at its targets when the peer table changed
    }
    return Math.max(this.lastNow, Math.min(this.cachedDeadline, this.channel.nextDeadline()));
  }

  setSeeds(now: number, endpoints: readonly Endpoint[]): void {
    this.changes.n++;
    if (!this.started) {
      this.initialSeeds = [...endpoints];
      return;
    }
    this.enter(now);
    this.membership.setSeeds(now, endpoints);
    this.runTimers(now);
  }

  setCandidates(now: number, c: { host?: readonly Endpoint[]; advertise?: readonly Endpoint[] }): void {
    this.changes.n++;
    this.enter(now);
    let changed = false;
    if (c.host && this.candidates.setHost(c.host)) changed = true;
    if (c.advertise && this.candidates.setStatic(c.advertise)) changed = true;
    if (changed && this.started) this.ownCandidatesChanged(now);
  }

  leave(now: number): void {
    this.changes.n++;
    this.enter(now);
    if (this.departure.leaving) return;
    this.departure.begin(now, [...this.peers.values()].map((rec) => rec.id));
    if (this.started) this.publishOwn(now, this.info.claimsChanged(now)); // our last record says we leave
    for (const rec of this.peers.values()) {
      for (let i = 0; i < LEAVE_COPIES; i++) this.sendControl(rec, now, { type: 'leave', bootTimeMs: this.bootTimeMs });
    }
    this.checkLeft();
  }

  get leaveSettled(): boolean {
    return this.departure.settled;
  }

  healthResult(now: number, prefix: string, ok: boolean, detail = ''): void {
    this.changes.n++;
    this.enter(now);
    const c = this.own.get(prefix);
    if (!c || !c.observeHealth(now, ok, detail)) return;
    if (this.started && !this.departure.leaving) this.announceOwn(now);
  }

  drain(now: number, prefixes: readonly string[] | null): DrainResult {
    return this.setDrained(now, prefixes, true);
  }

  undrain(now: number, prefixes: readonly string[] | null): DrainResult {
    return this.setDrained(now, prefixes, false);
  }

  drainProgress(prefixes: readonly string[] | null): DrainProgress {
    const { claims } = this.own.select(prefixes);
    let seq = 0;
    for (const c of claims) seq = Math.max(seq, this.drainSeq.get(c.key) ?? 0);
    let acked = 0;
    let peers = 0;
    for (const rec of this.peers.values()) {
      if (!rec.kept) continue; // it routes nothing to us (else it would be kept)
      peers++;
      if (rec.ackedSeq >= seq) acked++;
    }
    return { peers, acked, settled: acked === peers };
  }

  private setDrained(now: number, prefixes: readonly string[] | null, drained: boolean): DrainResult {
    this.changes.n++;
    this.enter(now);
    const { claims, unknown } = this.own.select(prefixes);
    let changed = false;
    for (const c of claims) if (c.setDrained(now, drained)) changed = true;
    if (changed && this.started) this.announceOwn(now);
    return { prefixes: claims.map((c) => c.key), unknown };
  }

  routeFor(addr: Uint8Array): PeerId | null {
    return this.claims.lookup(addr)?.active ?? null;
  }

  prefixesRoutedToOthers(): Prefix[] {
    return this.claims.entries().filter((e) => e.active !== null && e.active !== this.localId).map((e) => e.prefix);
  }

  // ---------------------------------------------------------------------------------------
  // Channel callbacks

  private onEstablished(now: number, id: PeerId, endpoint: Endpoint): void {
    if (this.departure.leaving) {
      this.defer(() => this.channel.forget(id));
      return;
    }
    if (id === this.localId) return this.onSelf(endpoint);
    this.grave.revive(id);
    const previous = this.peers.atEndpoint(endpoint);
    if (previous && previous.id !== id) this.peerDown(previous, 'replaced', now, id);

    let rec = this.peers.get(id);
    if (rec === undefined && this.peers.size >= this.maxSessions && !this.makeRoomForSession(now)) {
      this.drop('peer-limit', now, `${id}: ${this.maxSessions} sessions open, all kept`);
      this.defer(() => this.channel.forget(id));
      return;
    }
    const m = rec?.member ?? this.members.ensure(id);
    m.down = false;
    m.wantedSinceMs = null;
    if (rec) {
      rec.heardBeforeHandshakeMs = rec.lastHeardMs;
      this.heard(rec, now);
      this.moveTo(rec, endpoint, now);
      rec.ackedSeq = -1; // it may have restarted and lost our NodeInfo
    } else {
      // A record of it we did not route by may be an earlier process's: it confirms its own
      // (a full mesh routes only by peers with a session, and they all send their NodeInfo).
      if (this.fullMesh && m.appliedVersion < 0 && m.entry !== null) m.blockedUpTo = Math.max(m.blockedUpTo, m.entry.version);
      rec = newPeerRecord(m, endpoint, now, this.channel.peerKey(id), this.wantsKept(m));
      rec.nextRttProbeAtMs = now + this.timing.rttProbeIntervalMs;
      rec.nextProbeAtMs = now + this.timing.probeIntervalMs;
      rec.nextInfoRequestAtMs = now + this.timing.infoRetransmitMs; // its NodeInfo is normally on the way
      if (this.peers.size === 0) this.holdServing(now);
      if (m.entry !== null) this.copyPathInfo(rec, m);
      this.peers.add(rec);
      if (rec.kept) this.sessionKept(rec, now, endpoint);
      this.paths.reachChanged(now, id);
    }
    rec.pathHeardMs = now;
    if (rec.kept) this.sendInfo(rec, now);
    // Where we see it: a kept peer always hears it; another only if its record does not name
    // that address (a node behind NAT whose sessions are all on demand learns its mapping, or a
    // new one after its NAT rebooted, without every probe's session carrying it).
    if (rec.kept || !m.entry?.record.candidates.includes(endpoint)) this.sendObserved(rec, now);
    this.prober.heard(now, id);
    if (m.state !== 'alive') this.tellSuspect(now, m);
    // We know nobody yet: compare record tables with our first peer now, not at the next round.
    if (this.records.size <= 1) this.sync.syncWith(now, id);
    this.refreshClaims(now, m, { kind: 'claims', peer: id });
    this.wake(rec);
  }

  private onMessage(now: number, id: PeerId, endpoint: Endpoint, kind: MsgKind, payload: Uint8Array, arrival: PathKey = endpoint): void {
    let rec = this.peers.get(id);
    if (!rec) {
      if (this.grave.has(id) || this.departure.leaving) return this.fromGone(now, id, kind, payload);
      // The channel has a session we do not know (we declared the peer dead a moment ago):
      // an authenticated message proves it is alive.
      this.onEstablished(now, id, endpoint);
      rec = this.peers.get(id);
      if (!rec) return;
    }
    this.heard(rec, now);
    this.prober.heard(now, id);
    if (rec.member.state !== 'alive') this.tellSuspect(now, rec.member);
    if (endpoint !== rec.endpoint) this.moveTo(rec, endpoint, now);
    if (arrival === rec.endpoint) rec.pathHeardMs = now;
    else this.paths.heardElsewhere(rec, arrival, now);
    if (kind === MsgKind.Data) return this.receiveData(now, rec, payload);
    if (kind === MsgKind.Control) return this.receiveControl(now, rec, payload, arrival);
    if (kind === MsgKind.Relay) return this.relay.forward(now, rec, arrival, payload);
    if (kind === MsgKind.Relayed) return this.relay.accept(rec, arrival, payload);
    if (kind !== MsgKind.Keepalive) this.drop('control', now, `unknown message kind ${kind as number}`);
  }

  private onSelf(endpoint: Endpoint): void {
    if (this.membership.isSelf(endpoint)) return;
    this.membership.markSelf(this.lastNow, endpoint);
    this.emit({ type: 'self-detected', endpoint });
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private receiveData(now: number, rec: PeerRecord, packet: Uint8Array): void {
    rec.rxPackets++;
    rec.rxBytes += packet.length;
    if (this.ip.parse(packet) !== 0) return this.drop('bad-packet', now);
    if (rec.member.sources.lookup(this.ip.src) === undefined) return this.drop('bad-source', now);
    rec.lastDataInMs = now;
    const dst = this.ip.dst;
    for (let i = 0; i < this.ownPrefixes.length; i++) {
      if (prefixContains(this.ownPrefixes[i]!, dst)) return this.opts.deliver(packet);
    }
    this.drop('not-claimed', now);
  }

  private receiveControl(now: number, rec: PeerRecord, payload: Uint8Array, arrival: PathKey): void {
    const res = decodeControl(payload);
    if (!res.ok) return this.drop('control', now, res.error);
    const msg = res.msg;
    this.changes.n++; // member states, probes, sync: deadlines kept outside the heaps may move
    switch (msg.type) {
      case 'node-info':
        return this.applyNodeInfo(now, rec, msg);
      case 'info-ack':
        if (msg.bootTimeMs === this.bootTimeMs && msg.seq > rec.ackedSeq) rec.ackedSeq = Math.min(msg.seq, this.info.seq);
        return;
      case 'leave':
        // A Leave from an earlier incarnation (reordered past its restart) is stale.
        if (rec.member.bootTimeMs !== null && msg.bootTimeMs !== rec.member.bootTimeMs) return;
        this.sendControl(rec, now, { type: 'leave-ack', bootTimeMs: msg.bootTimeMs });
        return this.peerDown(rec, 'leave', now);
      case 'leave-ack':
        if (msg.bootTimeMs === this.bootTimeMs) this.departure.done(rec.id);
        this.checkLeft();
        return;
      case 'info-request':
        rec.ackedSeq = -1; // retransmitted until acknowledged
        this.sendInfo(rec, now);
        return this.wake(rec);
      case 'probe': {
        // answered on the path it came in on: that is the path the prober is testing
        const ack = encodeControl({ type: 'probe-ack', id: msg.id, sentAtMs: msg.sentAtMs });
        if (arrival === rec.endpoint) this.channel.send(now, rec.id, MsgKind.Control, ack);
        else this.channel.sendVia(now, rec.id, arrival, MsgKind.Control, ack);
        rec.lastSentMs = now;
        return;
      }
      case 'probe-ack': {
        const rtt = now - msg.sentAtMs;
        if (rtt < 0 || rtt > this.timing.peerTimeoutMs * 4) return; // not one of our clock's times
        if (arrival !== rec.endpoint) return this.paths.probeAnswered(rec, arrival, rtt);
        rec.lastRttMs = rtt;
        rec.rttMs = rec.rttMs === null ? rtt : rec.rttMs * 0.875 + rtt * 0.125;
        return;
      }
      case 'observed': {
        const changed = this.candidates.observe(rec.id, msg.endpoint);
        if (changed === null) return this.drop('gossip-limit', now, `observed address ${msg.endpoint} is not dialable`);
        if (changed) this.ownCandidatesChanged(now);
        return;
      }
      case 'punch-request':
        return this.paths.punchRequest(now, rec, msg.target, msg.candidates);
      case 'punch':
        return this.paths.punch(now, rec, msg.origin, msg.candidates);
      case 'records':
        return this.sync.onRecords(now, rec.id, msg.records, msg.sync);
      case 'digest':
        return this.sync.onDigest(now, rec.id, msg);
      case 'summary':
        return this.sync.onSummary(now, rec.id, msg);
      case 'pull':
        return this.sync.onPull(now, rec.id, msg.ids);
      case 'ping-req': {
        const known = this.members.get(msg.target)?.entry != null;
        const refused = this.prober.onPingReq(now, rec.id, msg.target, known);
        if (refused !== null) this.drop('gossip-limit', now, refused);
        return;
      }
      case 'ping-ack':
        return this.prober.heard(now, msg.target);
      case 'states':
        return this.statesHeard(now, msg.entries, rec.id);
    }
  }

  /** Messages from a peer that left (or while we leave): only the Leave handshake matters. */
  private fromGone(now: number, id: PeerId, kind: MsgKind, payload: Uint8Array): void {
    // Its session lives on briefly (to acknowledge Leave retransmits); its data is not wanted.
    if (kind === MsgKind.Data) return this.drop('unknown-session', now, 'data from a peer that left');
    if (kind === MsgKind.Relay || kind === MsgKind.Relayed) return this.drop('relay-denied', now, 'relay message from a peer that left');
    if (kind !== MsgKind.Control) return;
    const res = decodeControl(payload);
    if (!res.ok) return this.drop('control', now, res.error);
    if (res.msg.type === 'leave' && this.grave.has(id)) {
      this.channel.send(now, id, MsgKind.Control, encodeControl({ type: 'leave-ack', bootTimeMs: res.msg.bootTimeMs }));
    } else if (res.msg.type === 'leave-ack' && res.msg.bootTimeMs === this.bootTimeMs) {
      this.departure.done(id);
      this.checkLeft();
    }
  }

  private applyNodeInfo(now: number, rec: PeerRecord, msg: NodeInfo): void {
    const offered = this.records.offer(msg.record, now);
    if (offered.kind === 'dropped') return this.ackInfo(rec, now, msg); // counted; acknowledged, or it would repeat it forever
    if (offered.kind === 'own' || offered.entry.id !== rec.id) {
      this.drop('record', now, 'a NodeInfo with another node\'s record');
      return this.ackInfo(rec, now, msg);
    }
    if (offered.kind === 'stale') {
      // Its current record is older than one we hold: it restarted with its wall clock
      // stepped back. Show it the newer one, so it signs past it.
      this.sendControl(rec, now, { type: 'records', records: [offered.entry.bytes], sync: true });
      return this.ackInfo(rec, now, msg);
    }
    if (offered.kind === 'new') {
      this.recordStored(now, offered.entry);
      this.sync.spread(now, [offered.entry], rec.id);
    }
    // A NodeInfo reordered behind a newer one of the same process changes nothing more.
    if (msg.bootTimeMs === rec.infoBootTimeMs && msg.seq < rec.infoSeq) return this.ackInfo(rec, now, msg);
    rec.infoSeq = msg.seq;
    rec.infoBootTimeMs = msg.bootTimeMs;
    const m = rec.member;
    m.confirmedVersion = offered.entry.version;
    this.refreshClaims(now, m, { kind: 'claims', peer: m.id });
    this.ackInfo(rec, now, msg);
    this.learnGossip(now, rec, msg.peers);
  }

  /** A record new to us was stored (from its owner or passed on): use it. */
  private recordStored(now: number, entry: RecordEntry): void {
    const m = this.members.recordStored(now, entry);
    // It signed again: it runs (a new process, or it refuted our suspicion). Unless we use one
    // of its prefixes (then only a session of our own clears it: we dial it meanwhile), SWIM
    // watches it again.
    if (m.down && !this.usesAnyOf(entry.record)) m.down = false;
    this.refreshClaims(now, m, { kind: 'claims', peer: m.id });
    const rec = this.peers.get(m.id);
    if (rec) this.applyPathInfo(now, rec, entry.record);
    else if (this.fullMesh || m.wantedSinceMs !== null) this.learnRecord(now, entry.record);
  }

  /** Did we send to one of the prefixes `r` claims within PREFIX_USE_MS? */
  private usesAnyOf(r: NodeRecord): boolean {
    for (const c of r.claims) {
      const e = this.claims.get(c.prefix);
      if (e !== undefined && this.lastNow - e.lastUsedMs < PREFIX_USE_MS) return true;
    }
    return false;
  }

  /** Sign-and-publish path of our own record: into our table, and out to a few peers. */
  private publishOwn(now: number, bytes: Uint8Array): RecordEntry {
    const before = this.records.get(this.localId);
    const entry = this.records.setOwn(bytes);
    this.sync.changed(this.localId, before ? { version: before.version, state: 0 } : null, { version: entry.version, state: 0 });
    this.sync.spread(now, [entry], null);
    return entry;
  }

  /**
   * The mesh holds a record of ours at `version` (an earlier run's, or says we are suspect or
   * dead): sign past it. The new record goes to every peer we may gossip with (up to
   * REFUTE_FANOUT), not just a few: whoever suspects us must hear it before its suspicion runs
   * out, and refutations are rare.
   */
  private ownSeen(now: number, version: number): void {
    if (!this.started || this.departure.leaving || !this.info.supersede(version)) return;
    const entry = this.publishOwn(now, this.info.claimsChanged(now));
    for (const id of this.gossipPeers().slice(0, REFUTE_FANOUT)) this.sendTo(now, id, { type: 'records', records: [entry.bytes], sync: false });
    this.infoDueForAll(now);
  }

  /** A dead member's time is up: its record goes (its member too, unless we have a session). */
  private forgetRecord(id: PeerId): void {
    this.records.remove(id);
    const m = this.members.get(id);
    if (!m) return;
    if (m.appliedVersion >= 0) this.withdrawMember(this.lastNow, m, { kind: 'claims', peer: id });
    if (!this.peers.has(id)) this.members.drop(m);
  }

  // ---------------------------------------------------------------------------------------
  // Members: claims from records, SWIM, sessions on demand

  /**
   * Do `m`'s claims belong in our claim table? In a full mesh, only a peer with a session (as
   * hacloud always did), and a record from before we lost it counts once it confirms it; in a
   * larger one, any member not dead by SWIM and not down by our own session (a dead one we
   * still hear directly keeps them: it will refute).
   */
  private claimsApply(m: Member): boolean {
    const e = m.entry;
    if (e === null || e.record.leaving) return false;
    const rec = this.peers.get(m.id);
    if (this.fullMesh) return rec !== undefined && (e.version > m.blockedUpTo || m.confirmedVersion === e.version);
    // Past the full mesh most sessions exchange no NodeInfo: a member we could not reach is
    // out until we hear it again (a new process pushes its newer record at once), and SWIM
    // says who is dead.
    if (m.down) return false;
    if (m.state === 'dead') return rec !== undefined && rec.kept;
    return true;
  }

  /** Put `m`'s claims into the claim table or take them out, as claimsApply says. */
  private refreshClaims(now: number, m: Member, ctx: ChangeContext): void {
    if (this.claimsApply(m)) this.applyRecord(now, m, m.entry!, ctx);
    else if (m.appliedVersion >= 0) this.withdrawMember(now, m, ctx);
  }

  private withdrawMember(now: number, m: Member, ctx: ChangeContext): void {
    m.appliedVersion = -1;
    m.bootTimeMs = null;
    m.rankBootTimeMs = null;
    setMemberClaims(m, []);
    m.deniedClaims = [];
    this.applyChanges(now, this.claims.removePeer(m.id), ctx);
  }

  /** Apply `m`'s record: its start time and claims (and paths, for a peer with a session). */
  private applyRecord(now: number, m: Member, entry: RecordEntry, ctx: ChangeContext): void {
    if (entry.version === m.appliedVersion) return;
    const r = entry.record;
    const rec = this.peers.get(m.id);
    // A different boot time means a new process (record versions keep an older one from
    // coming back).
    const known = m.bootTimeMs;
    const restarted = known !== null && r.bootTimeMs !== known;
    if (restarted) {
      this.emit({ type: 'peer-restart', peer: m.id, bootTimeMs: r.bootTimeMs, previousBootTimeMs: known });
      if (rec) {
        rec.ackedSeq = -1;
        // The new process has none of our sessions; ours would carry our NodeInfo nowhere.
        if (this.channel.isEstablished(m.id)) this.defer(() => this.channel.renew(now, rec.endpoint, m.id));
        this.wake(rec); // our NodeInfo goes to the new process
      }
    }
    // Ranked with one value per incarnation: a clamp recomputed per record would move it.
    if (restarted || m.rankBootTimeMs === null) m.rankBootTimeMs = this.rankBootTime(now, m.id, r.bootTimeMs);
    const rankBootTimeMs = m.rankBootTimeMs;
    m.bootTimeMs = r.bootTimeMs;
    m.appliedVersion = entry.version;
    if (rec) this.applyPathInfo(now, rec, r);
    const records = this.screenClaims(now, m, r.claims);
    const prefixes = records.map((c) => c.prefix);
    const prefixesChanged = restarted || known === null || !samePrefixes(prefixes, m.claims);
    // Withdrawn claims stay valid sources: a drained or unhealthy server still answers.
    if (prefixesChanged) setMemberClaims(m, prefixes);
    const why: ChangeContext = restarted ? { kind: 'restart', peer: m.id, silentSinceMs: rec?.heardBeforeHandshakeMs ?? now } : ctx;
    this.applyChanges(now, this.claims.setClaims(m.id, rankBootTimeMs, records), why);
    if (prefixesChanged) this.emit({ type: 'peer-claims', peer: m.id, claims: prefixes.map(formatPrefix) });
  }

  /** A member's SWIM state changed: routes may change, and the mesh's size. */
  private memberStateChanged(now: number, m: Member, before: MemberState): void {
    const applied = m.appliedVersion >= 0;
    if (m.state === 'dead') {
      const reason: PeerDownReason = m.entry?.record.leaving ? 'leave' : 'failed';
      this.refreshClaims(now, m, { kind: 'down', peer: m.id, reason, silentSinceMs: before === 'suspect' ? m.suspectedAtMs : now });
      if (applied && m.appliedVersion < 0) {
        // A session with it reports nothing more when it ends (a Leave after its leaving record)
        const rec = this.peers.get(m.id);
        if (rec) rec.downReported = true;
        this.emit({ type: 'peer-down', peer: m.id, reason, silentMs: before === 'suspect' ? now - m.suspectedAtMs : 0 });
        this.noteHaEvent(now, { event: 'peer-down', peer: m.id, reason });
      }
    } else {
      this.refreshClaims(now, m, { kind: 'claims', peer: m.id });
    }
    if (m.state !== before) this.checkMeshSize(now);
    this.changes.n++;
  }

  /**
   * Full mesh or not: the mesh grew past fullMeshMax or shrank back. A larger count must hold
   * for FULL_MESH_HOLD_MS before we leave the full mesh (records of nodes that died a moment
   * ago are still counted alive until their suspicion runs out), unless it is over twice
   * the limit; going back to a full mesh is at once.
   */
  private checkMeshSize(now: number): void {
    const count = this.members.liveCount;
    if (count <= this.fullMeshMax) {
      this.overSinceMs = null;
      if (!this.fullMesh) this.setFullMesh(now, true);
      return;
    }
    if (!this.fullMesh) return;
    this.overSinceMs ??= now;
    if (count > 2 * this.fullMeshMax || now - this.overSinceMs >= FULL_MESH_HOLD_MS) this.setFullMesh(now, false);
    else this.nextKeepAtMs = Math.min(this.nextKeepAtMs, this.overSinceMs + FULL_MESH_HOLD_MS);
  }

  private setFullMesh(now: number, on: boolean): void {
    this.fullMesh = on;
    this.overSinceMs = null;
    this.nextKeepAtMs = now;
    for (const m of [...this.members.values()]) this.refreshClaims(now, m, { kind: 'claims', peer: m.id });
    this.changes.n++;
  }

  /** Since when the mesh is larger than fullMeshMax while we are still a full mesh. */
  private overSinceMs: number | null = null;

  /** Should we keep a session with `m` (keepalives, the peer timeout)? */
  private wantsKept(m: Member): boolean {
    return this.fullMesh || m.wantedSinceMs !== null || this.keptIds.has(m.id);
  }

  /** Peers kept at the last refreshKept (besides those wanted since). */
  private keptIds = new Set<PeerId>();

  /**
   * Work out which sessions we keep: in a full mesh all; else the claimants of every prefix we
   * sent to within PREFIX_USE_MS (the active one and the next in line), peers that sent us data
   * within it, and the relays those sessions run over. Kept peers we have no session with are
   * dialled; one we could not reach within the peer timeout is down for us (its claims go).
   */
  private refreshKept(now: number): void {
    this.checkMeshSize(now);
    this.nextKeepAtMs = now + Math.min(1_000, this.timing.keepaliveMs * 2);
    const want = new Set<PeerId>();
    if (this.fullMesh) {
      // every member we know alive (one that has no session within the peer timeout is
      // suspected, so the records of nodes that died unseen do not live on)
      for (const m of this.members.values()) {
        if (m.entry !== null && m.state !== 'dead' && !m.down && !m.entry.record.leaving && !this.grave.has(m.id)) want.add(m.id);
      }
    } else {
      for (const e of this.claims.entries()) {
        if (now - e.lastUsedMs >= PREFIX_USE_MS) continue;
        for (let i = 0; i < e.claimants.length && i < KEPT_CLAIMANTS_PER_PREFIX; i++) {
          const c = e.claimants[i]!;
          if (c.peer !== this.localId && c.state === 'up') want.add(c.peer);
        }
      }
      for (const rec of this.peers.values()) if (now - rec.lastDataInMs < PREFIX_USE_MS) want.add(rec.id);
      for (const rec of this.peers.values()) {
        const via = want.has(rec.id) ? relayVia(rec.endpoint) : null;
        if (via !== null) want.add(via);
      }
    }
    this.keptIds = want;
    for (const rec of this.peers.values()) this.setKept(rec, now, this.fullMesh || want.has(rec.id));
    for (const id of want) {
      if (this.peers.has(id)) continue;
      const m = this.members.get(id);
      if (m?.wantedSinceMs != null && m.entry !== null) this.learnRecord(now, m.entry.record); // dial on
      else this.wantSession(now, id);
    }
    for (const m of this.members.values()) {
      if (m.wantedSinceMs === null) continue;
      if (this.peers.has(m.id) || !want.has(m.id)) {
        m.wantedSinceMs = null;
      } else if (now - m.wantedSinceMs >= this.timing.peerTimeoutMs && !m.down) {
        // We wanted it for a whole peer timeout and got no session: down for us.
        this.memberDown(now, m, 'timeout', m.wantedSinceMs);
        m.wantedSinceMs = null;
      }
    }
  }

  private setKept(rec: PeerRecord, now: number, kept: boolean): void {
    if (rec.kept === kept) return;
    rec.kept = kept;
    if (!kept) return;
    // Kept from now on: it must answer within (peerTimeout - suspectAfter), probes start at
    // once if it was quiet; it gets our NodeInfo; events as for a new peer.
    rec.lastHeardMs = Math.max(rec.lastHeardMs, now - this.timing.suspectAfterMs);
    rec.nextInfoAtMs = now;
    rec.ackedSeq = -1;
    rec.nextRttProbeAtMs = now;
    this.sessionKept(rec, now, rec.endpoint);
    this.wake(rec);
  }

  /** A session we keep from now on: what a new peer used to mean. */
  private sessionKept(rec: PeerRecord, now: number, endpoint: Endpoint): void {
    rec.downReported = false;
    this.emit({ type: 'peer-up', peer: rec.id, endpoint });
    this.noteHaEvent(now, { event: 'peer-up', peer: rec.id });
    this.peerListChanged();
  }

  /**
   * We need a session with `id` (traffic for its prefix, or it is kept): dial it. Called for
   * every packet that finds no session, so it does nothing more while the dial is on
   * (refreshKept dials again once a second while it is wanted).
   */
  private wantSession(now: number, id: PeerId): void {
    const m = this.members.get(id);
    if (!m || m.entry === null || m.wantedSinceMs !== null || this.peers.has(id)) return;
    m.wantedSinceMs = now;
    this.nextKeepAtMs = Math.min(this.nextKeepAtMs, now + this.timing.peerTimeoutMs);
    this.changes.n++;
    this.paths.reachChanged(now, id); // reach it through others too, if it has no direct path
    this.learnRecord(now, m.entry.record);
  }

  /** Our own view: `m` is unreachable (its kept session timed out, or we never got one). */
  private memberDown(now: number, m: Member, reason: PeerDownReason, silentSinceMs: number): void {
    m.down = true;
    if (m.entry !== null) m.blockedUpTo = Math.max(m.blockedUpTo, m.entry.version);
    this.refreshClaims(now, m, { kind: 'down', peer: m.id, reason, silentSinceMs });
    if (reason === 'timeout') this.suspectMember(now, m.id);
    // It said goodbye itself: dead at its version, for everyone (its last record, which says
    // so too, may have been lost or reached us after its Leave).
    if (reason === 'leave' && m.entry !== null && m.state !== 'dead') {
      const version = m.entry.version;
      this.members.declareDead(now, m);
      this.spreadStates(now, [{ id: m.id, version, state: 2 }], m.id);
    }
  }

  /** We suspect `id` (our probes, or our session with it, got no answer): say so. */
  private suspectMember(now: number, id: PeerId): void {
    const m = this.members.get(id);
    if (!m || m.entry === null) return;
    // Already suspect: our own failed probe is an independent confirmation (Lifeguard), news too.
    if (this.members.suspect(now, m, this.localId)) {
      this.spreadStates(now, [{ id, version: m.entry.version, state: 1, from: this.localId }], null);
    }
  }

  /** Member states from `from` (a States message, or a Summary): what is news goes on. */
  private statesHeard(now: number, entries: readonly StateEntry[], from: PeerId): void {
    const news: StateEntry[] = [];
    const pulls: PeerId[] = [];
    const behind: Uint8Array[] = [];
    if (entries.length > MAX_STATES_PER_MESSAGE) {
      this.drop('gossip-limit', now, `${entries.length - MAX_STATES_PER_MESSAGE} member states over ${MAX_STATES_PER_MESSAGE}`, entries.length - MAX_STATES_PER_MESSAGE);
    }
    for (let i = 0; i < entries.length && i < MAX_STATES_PER_MESSAGE; i++) {
      const e = entries[i]!;
      // It holds us suspect or dead at a version we already signed past: it is behind, and so
      // may be others (our refutation may not have got far): show it, as news it passes on.
      if (e.id === this.localId && e.state !== 0 && e.version < (this.records.get(this.localId)?.version ?? 0)) {
        this.sendTo(now, from, { type: 'records', records: [this.records.get(this.localId)!.bytes], sync: false });
        continue;
      }
      const n = this.members.heard(now, e, from, (id) => pulls.push(id));
      if (n !== null) news.push(n);
      // It suspects or buries a version we know was superseded: show it the newer record.
      const held = e.state !== 0 && n === null ? this.records.get(e.id) : undefined;
      if (held !== undefined && held.version > e.version && this.members.get(e.id)?.state !== 'dead') behind.push(held.bytes);
    }
    if (behind.length > 0) this.sendTo(now, from, { type: 'records', records: behind, sync: true });
    for (let i = 0; i < pulls.length; i += MAX_PULL_IDS) this.sendTo(now, from, { type: 'pull', ids: pulls.slice(i, i + MAX_PULL_IDS) });
    this.spreadStates(now, news, from);
  }

  /**
   * Pass member states on to RECORD_FANOUT random peers (not back to `from`), and tell a
   * suspect we have a session with that it is suspected, so it refutes at once (Lifeguard).
   */
  private spreadStates(now: number, entries: readonly StateEntry[], from: PeerId | null): void {
    if (entries.length === 0) return;
    const peers = this.gossipPeers().filter((p) => p !== from);
    for (let i = 0; i < RECORD_FANOUT && peers.length > 0; i++) {
      const j = Math.floor(this.opts.rng.next() * peers.length);
      const to = peers[j]!;
      peers[j] = peers[peers.length - 1]!;
      peers.pop();
      this.sendTo(now, to, { type: 'states', entries: [...entries] });
    }
    for (const e of entries) {
      if (e.state !== 0 && e.id !== from && this.channel.isEstablished(e.id)) this.sendTo(now, e.id, { type: 'states', entries: [e] });
    }
  }

  /**
   * We hear from a member we hold suspect or dead: tell it (once per version), so it refutes
   * (Lifeguard's buddy system); its new record reaches us among the first.
   */
  private tellSuspect(now: number, m: Member): void {
    if (m.entry === null || m.toldVersion === m.entry.version) return;
    m.toldVersion = m.entry.version;
    this.sendTo(now, m.id, { type: 'states', entries: [{ id: m.id, version: m.entry.version, state: STATE_CODES[m.state] }] });
  }

  /** Members SWIM probes: alive or suspect, with a record, and no kept session of ours. */
  private probeable(m: Member): boolean {
    // (one down for us is probed too: only SWIM can find it dead for everyone)
    if (this.fullMesh || m.entry === null || m.state === 'dead' || m.entry.record.leaving) return false;
    const rec = this.peers.get(m.id);
    return rec === undefined || !rec.kept;
  }

  /** Probe `id` directly: a Probe over our session, or a handshake (which answers by itself). */
  private probeMember(now: number, id: PeerId): void {
    const rec = this.peers.get(id);
    if (rec && this.channel.isEstablished(id)) return this.sendProbe(rec, now);
    const ep = this.dialEndpoint(id);
    if (ep !== null) this.defer(() => this.channel.connect(now, ep, id));
  }

  /** A probe is over: a handshake still trying goes (unless we want the member anyway). */
  private probeDone(id: PeerId): void {
    if (this.peers.has(id) || this.members.get(id)?.wantedSinceMs != null) return;
    const ep = this.dialEndpoint(id);
    if (ep !== null && !this.membership.isTarget(ep)) this.defer(() => this.channel.cancelConnect(ep));
  }

  /** Where to shake hands with member `id`: the first usable candidate of its record. */
  private dialEndpoint(id: PeerId): Endpoint | null {
    const r = this.members.get(id)?.entry?.record;
    if (!r) return null;
    for (const ep of r.candidates) if (isDialable(ep) && !this.membership.isSelf(ep)) return ep;
    return null;
  }

  /**
   * The session table is full: close the least recently heard session that is not kept (it
   * reopens on demand). False if every one is kept. Scans the table, only ever at the cap.
   */
  private makeRoomForSession(now: number): boolean {
    let oldest: PeerRecord | null = null;
    for (const rec of this.peers.values()) if (!rec.kept && (oldest === null || rec.lastHeardMs < oldest.lastHeardMs)) oldest = rec;
    if (oldest === null) return false;
    this.closeIdle(oldest, now);
    return true;
  }

  /** A session that is not kept went unused: close it (nothing about the member changes). */
  private closeIdle(rec: PeerRecord, now: number): void {
    this.peers.remove(rec.id);
    this.timers.cancel(rec.timer);
    this.relay.forgetPeer(rec.id);
    this.paths.relayGone(rec.id, now);
    this.defer(() => this.channel.forget(rec.id));
    this.changes.n++;
  }

  private sendTo(now: number, id: PeerId, msg: ControlMessage): void {
    const rec = this.peers.get(id);
    if (rec) this.sendControl(rec, now, msg);
  }

  /** Copy a new session's relay mode and candidates from its member's record. */
  private copyPathInfo(rec: PeerRecord, m: Member): void {
    if (m.entry !== null) this.applyPathInfo(this.lastNow, rec, m.entry.record);
  }

  /** A node we have no session with: dial it where its record says (screened like gossip). */
  private learnRecord(now: number, r: NodeRecord): void {
    if (r.id === this.localId || r.leaving || this.grave.has(r.id) || this.departure.leaving) return;
    const endpoints: Endpoint[] = [];
    for (const ep of r.candidates) {
      if (endpoints.length >= MAX_PEER_CANDIDATES) break;
      if (isDialable(ep) && !endpoints.includes(ep)) endpoints.push(ep);
    }
    if (endpoints.length > 0) this.membership.learnFromGossip(now, r.id, r.id, endpoints);
  }

  /** Peers we may gossip with: an established session, and not suspect (it may be gone, or cut off). */
  private gossipPeers(): PeerId[] {
    const out: PeerId[] = [];
    for (const rec of this.peers.values()) if (rec.state === 'up' && this.channel.isEstablished(rec.id)) out.push(rec.id);
    return out;
  }

  /** Our wall clock: our announced boot time advanced by the monotonic clock. */
  private wallNow(now: number): number {
    return this.bootTimeMs + (now - this.startedAtMs);
  }

  /** The boot time `id`'s claims rank with: what it announced, at most a little ahead of our clock. */
  private rankBootTime(now: number, id: PeerId, announcedMs: number): number {
    const latest = this.wallNow(now) + MAX_BOOT_TIME_AHEAD_MS;
    if (announcedMs <= latest) return announcedMs;
    this.emit({ type: 'boot-time-clamped', peer: id, announcedMs, usedMs: latest });
    return latest;
  }

  /** The claims of `rec` we accept; the others are counted, remembered for status, logged once. */
  private screenClaims(now: number, rec: Member, announced: readonly ClaimInfo[]): ClaimRecord[] {
    const { accepted, denied } = this.policy.screen(rec.id, announced.map((c) => c.prefix));
    rec.deniedClaims = denied.slice(0, MAX_DENIED_CLAIMS_PER_PEER);
    for (const d of denied) {
      this.drop(d.reason === 'limit' ? 'claim-limit' : 'claim-denied', now, `${d.prefix} (${d.reason})`);
      const key = `${d.prefix} ${d.reason}`;
      if (rec.reportedDenials.has(key) || rec.reportedDenials.size >= MAX_DENIED_CLAIMS_PER_PEER) continue;
      rec.reportedDenials.add(key);
      this.emit({ type: 'claim-denied', peer: rec.id, prefix: d.prefix, reason: d.reason });
    }
    const announcedBy = new Map<string, ClaimInfo>();
    for (const c of announced) {
      const key = formatPrefix(c.prefix);
      if (!announcedBy.has(key)) announcedBy.set(key, c);
    }
    return accepted.map((prefix) => {
      const c = announcedBy.get(formatPrefix(prefix));
      return {
        prefix,
        priority: c?.priority ?? DEFAULT_PRIORITY,
        preempt: c?.preempt ?? false,
        state: c?.state ?? 'up',
        epoch: c?.epoch ?? 0,
      };
    });
  }

  /** Whether `rec` relays, and where it says it may be reached (screened, capped). */
  private applyPathInfo(now: number, rec: PeerRecord, msg: NodeRecord): void {
    const mode = msg.relay;
    if (mode !== rec.relayMode) {
      const stopped = rec.relayMode > 0 && mode === 0;
      rec.relayMode = mode;
      if (stopped) this.paths.relayGone(rec.id, now);
    }
    const offered = msg.candidates;
    const candidates: Endpoint[] = [];
    for (const ep of offered) {
      if (candidates.includes(ep)) continue;
      if (candidates.length >= MAX_PEER_CANDIDATES) this.drop('gossip-limit', now, `candidates over ${MAX_PEER_CANDIDATES}`);
      else if (!isDialable(ep)) this.drop('gossip-limit', now, `candidate ${ep} is not dialable`);
      else candidates.push(ep);
    }
    if (candidates.length !== rec.candidates.length || candidates.some((ep, i) => ep !== rec.candidates[i])) {
      rec.candidates = candidates;
      this.paths.candidatesChanged(rec, now);
    }
  }

  /** Peers `rec` says it reaches: dial the usable ones we do not have, within the limits. */
  private learnGossip(now: number, rec: PeerRecord, entries: readonly PeerInfo[]): void {
    const over = entries.length - MAX_GOSSIP_PEERS_PER_INFO;
    if (over > 0) this.drop('gossip-limit', now, `${over} peer entries over ${MAX_GOSSIP_PEERS_PER_INFO}`, over);
    for (let i = 0; i < entries.length && i < MAX_GOSSIP_PEERS_PER_INFO; i++) {
      const p = entries[i]!;
      if (p.id === this.localId || p.id === rec.id) continue;
      // Key mode: a key we do not trust could never complete a handshake; do not dial for it.
      if (!this.channel.accepts(p.id)) {
        this.drop('gossip-limit', now, 'untrusted peer id', Math.max(1, p.endpoints.length));
        continue;
      }
      if (p.rttMs !== undefined) {
        // it reaches p directly: a relay (and a punch informant) for it
        this.vias.note(now, p.id, rec.id, p.rttMs === RTT_UNKNOWN ? null : p.rttMs, rec.relayMode === 2);
        this.paths.reachChanged(now, p.id);
      }
      if (this.peers.has(p.id) || !this.fullMesh) continue; // a larger mesh dials on demand
      const endpoints: Endpoint[] = [];
      for (let j = 0; j < p.endpoints.length; j++) {
        const ep = p.endpoints[j]!;
        if (j >= MAX_GOSSIP_ENDPOINTS_PER_PEER) this.drop('gossip-limit', now, `endpoints over ${MAX_GOSSIP_ENDPOINTS_PER_PEER} per peer`);
        else if (!isDialable(ep)) this.drop('gossip-limit', now, `${ep} is not dialable`);
        else endpoints.push(ep);
      }
      if (endpoints.length > 0) this.membership.learnFromGossip(now, rec.id, p.id, endpoints);
    }
  }

  private ackInfo(rec: PeerRecord, now: number, msg: NodeInfo): void {
    this.sendControl(rec, now, { type: 'info-ack', bootTimeMs: msg.bootTimeMs, seq: msg.seq });
  }

  // ---------------------------------------------------------------------------------------
  // Timers

  private runTimers(now: number): void {
    if (!this.started) return;
    for (const id of this.grave.expired(now)) if (!this.peers.has(id)) this.defer(() => this.channel.forget(id));
    if (this.departure.leaving) return this.leaveTimers(now);
    if (this.ownAnnouncementStale(now)) this.announceOwn(now);
    if (!this.servingAllowed && now >= this.serveFromMs) {
      this.servingAllowed = true;
      this.reconcileOwn(now);
    }
    const bumped = this.info.bumpIfDue(now);
    if (bumped !== null) {
      if (bumped) this.publishOwn(now, bumped);
      this.infoDueForAll(now);
    }
    this.sync.tick(now);
    for (const m of this.members.tick(now)) this.spreadStates(now, [{ id: m.id, version: m.entry!.version, state: 2 }], null);
    if (now >= this.nextKeepAtMs) this.refreshKept(now);
    if (!this.fullMesh) this.prober.tick(now);
    this.runPeers(now);
    this.membership.tick(now);
    this.paths.tickReach(now);
    this.flushDeferred();
  }

  private leaveTimers(now: number): void {
    this.runPeers(now);
    for (const id of this.departure.due(now)) {
      const rec = this.peers.get(id);
      if (rec) this.sendControl(rec, now, { type: 'leave', bootTimeMs: this.bootTimeMs });
      else this.departure.done(id); // it died meanwhile
    }
    this.checkLeft();
    this.flushDeferred();
  }

  /** Run the peers whose timers are due (only those), each rescheduled for its next time. */
  private runPeers(now: number): void {
    for (const rec of this.timers.popDue(now)) {
      if (this.peers.get(rec.id) === rec) this.timers.schedule(rec.timer, this.runPeer(rec, now));
    }
  }

  private runPeer(rec: PeerRecord, now: number): number {
    if (!this.departure.leaving) return runPeerTimers(rec, now, this.timing, this.info.seq, this.timerActions);
    // Leaving: only deaths of kept peers still matter (until the process exits it may route its last replies).
    if (!rec.kept) return Infinity;
    const dies = deathAt(rec, this.timing);
    if (now < dies) return dies;
    this.peerDown(rec, 'timeout', now);
    return Infinity;
  }

  /** Something may have brought `rec`'s next timer forward: it runs at once and works out its next time. */
  private wake(rec: PeerRecord): void {
    this.timers.runBy(rec.timer, this.lastNow);
  }

  /** A new NodeInfo of ours: every peer gets it now. */
  private infoDueForAll(now: number): void {
    for (const rec of this.peers.values()) {
      rec.nextInfoAtMs = now;
      this.timers.runBy(rec.timer, now);
    }
  }

  /** Our peer list changed: a new NodeInfo goes out soon (coalesced). */
  private peerListChanged(): void {
    this.info.markDirty();
    this.changes.n++;
  }

  /** Report once that every peer knows we leave. */
  private checkLeft(): void {
    if (this.departure.settled && !this.leftReported) {
      this.leftReported = true;
      this.emit({ type: 'left' });
    }
  }

  /** When runTimers() next has work: the earliest of a few heads, whatever the number of peers. */
  private engineDeadline(): number {
    if (!this.started) return Infinity;
    const next = Math.min(this.grave.deadline(), this.timers.next());
    if (this.departure.leaving) return Math.min(next, this.departure.deadline());
    const serving = this.servingAllowed ? Infinity : this.serveFromMs;
    return Math.min(next, serving, this.info.bumpDueAt(), this.own.nextDeadline(this.lastNow), this.membership.nextDeadline(),
      this.paths.reachDeadline(), this.sync.deadline(), this.members.deadline(), this.nextKeepAtMs,
      this.fullMesh ? Infinity : this.prober.deadline());
  }

  // ---------------------------------------------------------------------------------------
  // Peers coming and going

  private heard(rec: PeerRecord, now: number): void {
    if (rec.state === 'suspect') {
      rec.state = 'up';
      this.emit({ type: 'peer-recovered', peer: rec.id, silentMs: now - rec.lastHeardMs });
    }
    rec.lastHeardMs = now;
  }

  /** `rec`'s active path is now `endpoint` (the channel roamed, or a handshake came in on it). */
  private moveTo(rec: PeerRecord, endpoint: PathKey, now: number): void {
    const from = this.peers.moveTo(rec, endpoint);
    if (from !== null) {
      this.paths.moved(rec, from, now);
      this.emit({ type: 'peer-roam', peer: rec.id, from, to: endpoint });
      this.peerListChanged();
      this.sendObserved(rec, now);
    }
  }

  /** We choose `key` as `rec`'s active path. */
  private switchPath(rec: PeerRecord, key: PathKey, now: number): void {
    if (key === rec.endpoint) return;
    this.channel.setPath(rec.id, key);
    this.moveTo(rec, key, now);
  }

  /** Tell `rec` where we see it (it learns its reflexive address); direct paths only. */
  private sendObserved(rec: PeerRecord, now: number): void {
    if (!isRelayKey(rec.endpoint)) this.sendControl(rec, now, { type: 'observed', endpoint: rec.endpoint });
  }

  /** Our candidates changed: announce them, and relayed peers try to go direct with them. */
  private ownCandidatesChanged(now: number): void {
    this.info.markDirty(true);
    this.changes.n++;
    for (const rec of this.peers.values()) this.paths.candidatesChanged(rec, now);
  }

  private peerDown(rec: PeerRecord, reason: PeerDownReason, now: number, replacedBy?: PeerId): void {
    this.peers.remove(rec.id);
    this.timers.cancel(rec.timer);
    this.relay.forgetPeer(rec.id);
    this.paths.relayGone(rec.id, now);
    const m = rec.member;
    if (rec.kept && !rec.downReported) {
      const silentMs = now - rec.lastHeardMs;
      this.emit({ type: 'peer-down', peer: rec.id, reason, silentMs, ...(replacedBy ? { replacedBy } : {}) });
      this.noteHaEvent(now, { event: 'peer-down', peer: rec.id, reason });
    }
    this.memberDown(now, m, reason, rec.lastHeardMs);
    if (reason === 'leave') {
      this.grave.bury(rec.id, now, LEAVE_GRAVE_MS);
      // It is shutting down: reconnecting now would only reach its closing socket.
      this.membership.holdOff([...rec.endpoints], now + LEAVE_GRAVE_MS);
    } else {
      this.defer(() => this.channel.forget(rec.id));
      // Keep trying it for a while: a healed partition must reconnect even if nobody gossips it.
      if (rec.kept) this.membership.lost(now, rec.id, [...rec.endpoints]);
    }
    if (m.entry === null) this.members.drop(m);
    if (rec.kept) this.peerListChanged();
    this.changes.n++;
  }

  // ---------------------------------------------------------------------------------------
  // Routes

  /** Report what changed in the claim table, then let our own claims react to it. */
  private applyChanges(now: number, changes: RouteChange[], ctx: ChangeContext): void {
    for (const change of changes) {
      const c = explainChange(now, change, ctx, (id) => this.peers.get(id)?.lastHeardMs, this.timing.suspectAfterMs);
      this.emit({
        type: 'route-change', prefix: c.entry.prefix, prefixText: c.entry.text, from: c.from, to: c.to,
        toSelf: c.to === this.localId, cause: c.cause, gapMs: c.gapMs,
      });
      this.failovers.note(now, c);
      if (c.from !== null && c.to !== null) this.noteHaEvent(now, { event: 'failover', prefix: c.entry.text, from: c.from, to: c.to, reason: c.cause, gapMs: c.gapMs });
    }
    if (changes.length > 0 || ctx.peer !== this.localId) this.reconcileOwn(now);
    if (this.drainFlows.size > 0 && !this.claims.entries().some((e) => e.drainPeer !== null)) this.drainFlows.clear();
  }

  /**
   * Our serving epochs follow the table: a claim of ours that is chosen announces the highest
   * epoch seen for its prefix plus one (unless it already holds it); one that is not chosen
   * announces standby. Announcing changes the table, so this repeats until it settles.
   */
  private reconcileOwn(now: number): void {
    if (!this.started || this.reconciling) return;
    this.reconciling = true;
    try {
      for (let round = 0; round < MAX_RECONCILE_ROUNDS; round++) {
        let changed = false;
        // Right after start we do not know yet who serves what: serving from an empty table
        // would make a restarted node an incumbent. Wait one peer timeout (peers answer well
        // within it); routing meanwhile follows the rank rules. Cut off from every peer, we
        // cannot tell whether they all died or we are the one cut off, and there is nobody to
        // serve: we serve nothing, and when peers come back we wait as after a start. Else a
        // standby cut off alone would take over in its corner, and on its return that newest
        // takeover would win the prefix from the server that worked all along (found by the
        // fault soak, test/sim/partition.test.ts).
        const mayServe = now >= this.serveFromMs && this.peers.size > 0;
        for (const c of this.own.list) {
          if (c.state !== 'up') continue;
          const entry = this.claims.get(c.spec.prefix);
          const chosen = mayServe && entry !== undefined && entry.active === this.localId;
          if (chosen && (c.epoch === 0 || c.epoch < entry.maxEpoch)) {
            c.epoch = entry.maxEpoch + 1;
            changed = true;
          } else if (!chosen && c.epoch !== 0) {
            c.epoch = 0;
            changed = true;
          }
        }
        if (!changed) break;
        this.announceOwn(now);
      }
    } finally {
      this.reconciling = false;
    }
    this.reportRoles(now);
  }

  /** A first peer after none: do not take a prefix over until we have heard for a peer timeout. */
  private holdServing(now: number): void {
    this.serveFromMs = Math.max(this.serveFromMs, now + this.timing.peerTimeoutMs);
    this.servingAllowed = false;
    this.changes.n++;
  }

  /** Put our claims as they are now into our NodeInfo (sent at once) and our claim table. */
  private announceOwn(now: number): void {
    this.announced = this.own.records(now);
    this.publishOwn(now, this.info.claimsChanged(now));
    this.infoDueForAll(now);
    for (const c of this.own.list) {
      if (c.state === 'drained') {
        if (!this.drainSeq.has(c.key)) this.drainSeq.set(c.key, this.info.seq);
      } else this.drainSeq.delete(c.key);
    }
    this.applyChanges(now, this.claims.setClaims(this.localId, this.bootTimeMs, this.announced), { kind: 'claims', peer: this.localId });
  }

  /** Events for our claims whose role changed (active, standby, withdrawn). */
  private reportRoles(now: number): void {
    for (const c of this.own.list) {
      const state = c.state;
      const role: OwnClaimRole = state !== 'up' ? 'withdrawn' : this.claims.get(c.spec.prefix)?.active === this.localId ? 'active' : 'standby';
      if (role === c.role) continue;
      c.role = role;
      const reason = state === 'unhealthy' ? 'health' : state === 'drained' ? 'drain' : undefined;
      const detail = state === 'unhealthy' ? c.gate?.lastDetail : undefined;
      this.emit({ type: 'claim-state', prefix: c.key, role, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}) });
      this.noteHaEvent(now, { event: `claim-${role}`, prefix: c.key, ...(reason ? { reason } : {}) });
    }
  }

  private noteHaEvent(now: number, e: Omit<HaEventRecord, 'atMs'>): void {
    this.haEvents.unshift({ atMs: now, ...e });
    if (this.haEvents.length > HA_EVENT_HISTORY) this.haEvents.pop();
  }

  /** Our announced claims differ from what they are now (a preempt delay ran out). */
  private ownAnnouncementStale(now: number): boolean {
    const current = this.own.records(now);
    return current.some((r, i) => r.preempt !== this.announced[i]?.preempt);
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  private sendControl(rec: PeerRecord, now: number, msg: ControlMessage): void {
    this.channel.send(now, rec.id, MsgKind.Control, encodeControl(msg));
    rec.lastSentMs = now;
  }

  private sendProbe(rec: PeerRecord, now: number): void {
    this.probeSeq = (this.probeSeq + 1) >>> 0;
    const probe = encodeControl({ type: 'probe', id: this.probeSeq, sentAtMs: now });
    this.channel.send(now, rec.id, MsgKind.Control, probe);
    rec.lastSentMs = now;
    // A suspect peer may be fine on another path (its relay died, the direct path broke).
    if (rec.state === 'suspect') this.paths.probeOthers(rec, now, probe);
  }

  private sendInfo(rec: PeerRecord, now: number): void {
    this.channel.send(now, rec.id, MsgKind.Control, this.info.encoded(() => [...this.peers.values()].filter((p) => p.kept)));
    rec.lastSentMs = now;
    rec.nextInfoAtMs = now + this.timing.infoRetransmitMs;
    rec.nextRefreshAtMs = now + this.timing.gossipRefreshMs;
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  /** Every entry point: notice a stall before acting on `now`. */
  private enter(now: number): void {
    const gap = now - this.lastNow;
    if (gap <= 0) return;
    // Only kept sessions make us wake every keepalive: without one, a long gap is no stall.
    if (gap > this.timing.keepaliveMs && this.started && !this.departure.leaving && this.anyKept()) {
      const stalledMs = forgiveStall(this.peers.values(), gap, now, this.timing);
      if (stalledMs >= this.timing.stallReportMs) this.emit({ type: 'stall', gapMs: gap });
    }
    this.lastNow = now;
  }

  private anyKept(): boolean {
    for (const rec of this.peers.values()) if (rec.kept) return true;
    return false;
  }

  private drop(reason: DropReason, now: number, detail?: string, n = 1): void {
    this.drops.count(reason, now, detail, n);
  }

  private defer(action: () => void): void {
    if (this.channelDepth > 0) this.deferred.push(action);
    else action();
  }

  private flushDeferred(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }

  // ---------------------------------------------------------------------------------------
  // Status

  status(now: number): EngineStatus {
    return buildStatus(now, {
      id: this.localId,
      bootTimeMs: this.bootTimeMs,
      startedAtMs: this.started ? this.startedAtMs : now,
      claims: this.own.list,
      announced: this.announced,
      leaving: this.departure.leaving,
      timing: this.timing,
      peers: this.peers.values(),
      hasSession: (id) => this.channel.isEstablished(id),
      sessionInfo: (id) => this.channel.sessionInfo?.(id),
      handshakes: this.channel.handshakesCompleted ?? null,
      connecting: this.membership.status(now),
      selfEndpoints: this.membership.selfList,
      routes: this.claims.entries(),
      failovers: this.failovers.recent,
      failoversTotal: this.failovers.total,
      haEvents: this.haEvents,
      drops: this.drops.snapshot(),
      candidates: this.candidates.entries(),
      relay: {
        mode: relayModeName(this.relay.mode), limit: { ...this.relay.limit },
        forwarded: { ...this.relay.forwarded }, pairs: this.relay.pairs,
      },
      members: this.membershipStatus(),
    });
  }

  private membershipStatus(): MembershipStatus {
    const count = { alive: 0, suspect: 0, dead: 0 };
    for (const m of this.members.values()) if (m.entry !== null) count[m.state]++;
    let kept = 0;
    for (const rec of this.peers.values()) if (rec.kept) kept++;
    return {
      fullMesh: this.fullMesh, records: this.records.size, ...count, sessions: this.peers.size, kept,
      verifications: this.records.verifications,
    };
  }
}

function samePrefixes(a: readonly Prefix[], b: readonly Prefix[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(formatPrefix));
  return b.every((p) => keys.has(formatPrefix(p)));
}
