// Path choice: which path each peer's traffic takes, and finding better ones.
//
// - Direct beats relay. The channel roams onto any direct path an authenticated packet comes
//   in on (NAT rebinding, a punched hole), so a direct path that works is taken at once.
// - A relay path is taken when the active path fell silent (suspectAfterMs) and an
//   authenticated packet came in on it, or when the relay of the active path went down.
//   Of two peers, the one with the lower id decides which relay they use; the other follows
//   the relay path the decider's packets come in on. So both end on one relay, never chasing
//   each other between two.
// - Liveness stays end to end (engine.ts: any authenticated packet on any path). While a peer
//   is suspect, its other paths (direct candidates and relays) are probed too; the answer
//   comes back on the path the probe took, so the first path that answers becomes active.
//   A dead relay is not a dead peer.
// - While relayed, both ends keep trying to go direct: each sends the other a punch with its
//   candidates over the session and probes the other's candidates at once, so cone NATs open
//   (retried with backoff, PUNCH_RETRY_MIN_MS..PUNCH_RETRY_MAX_MS).
// - Peers we know of (gossip) but have no session with: we ask a peer that reaches them to
//   have them dial us (punch-request -> punch), and after RELAY_AFTER_MS we shake hands
//   through the best relay.
// Punches are authenticated control messages; what they can make a node send is bounded: a
// relay forwards one a second per (origin, target) pair, only between its own peers; a target
// acts on one a second per origin, dials only dialable addresses (endpoint-policy.ts), at most
// MAX_PEER_CANDIDATES, within the dial rate limit, and in key mode only trusted ids.
import { encodeControl, type ControlMessage } from '../wire/control.js';
import type { Channel } from './channel.js';
import {
  ALT_PROBE_MIN_MS, DIAL_BURST, DIAL_RATE_PER_S, MAX_PATHS_PER_PEER, MAX_PEER_CANDIDATES, MAX_PUNCH_ORIGINS,
  PUNCH_PAIR_INTERVAL_MS, PUNCH_RETRY_MAX_MS, PUNCH_RETRY_MIN_MS, RELAY_AFTER_MS, RELAY_RETRY_MS, type Timing,
} from './constants.js';
import { isDialable } from './endpoint-policy.js';
import type { Membership } from './membership.js';
import type { OwnCandidates } from './own-candidates.js';
import { isRelayKey, relayKey, relayVia, type PathKey } from './path.js';
import type { PathCandidate, PeerRecord, PeerTable } from './peers.js';
import { TokenBucket } from './token-bucket.js';
import { MsgKind, type DropReason, type Endpoint, type PeerId } from './types.js';
import { rankRelays, type Via, type ViaTable, type ViaTarget } from './vias.js';

/** The first punch request for a peer we cannot reach waits for a direct handshake to have a go. */
export const PUNCH_FIRST_DELAY_MS = 250;

export interface PathHost {
  readonly channel: Channel;
  readonly peers: PeerTable;
  readonly localId: PeerId;
  readonly timing: Timing;
  readonly vias: ViaTable;
  readonly own: OwnCandidates;
  readonly membership: Membership;
  /** Make `key` the active path of `rec` (channel, peer table, event). */
  switchPath(rec: PeerRecord, key: PathKey, now: number): void;
  sendControl(rec: PeerRecord, now: number, msg: ControlMessage): void;
  /** May a punch from `origin` to `target` be forwarded now (one a second per pair)? */
  allowPunch(now: number, origin: PeerId, target: PeerId): boolean;
  drop(reason: DropReason, detail: string, n?: number): void;
  /** Run a channel-changing action once the current channel call has returned. */
  defer(action: () => void): void;
  /** `rec`'s timers (engine.ts, which calls tick()) must run by `at`. */
  runBy(rec: PeerRecord, at: number): void;
  /**
   * Do we want a session with `id` at all? (A large mesh connects on demand: engine.ts, which
   * calls reachChanged() when that changes.)
   */
  wanted(id: PeerId): boolean;
}

export class PathManager {
  /** Last punch acted on per origin we have no session with (bounded, oldest first). */
  private readonly punchOrigins = new Map<PeerId, number>();
  /** Relayed first contacts share the dial rate of gossip's first contacts. */
  private readonly relayDials = new TokenBucket(DIAL_RATE_PER_S, DIAL_BURST);

  constructor(private readonly host: PathHost) {}

  // ---------------------------------------------------------------------------------------
  // Connected peers

  /** An authenticated packet from `rec` came in on `arrival`, which is not its active path. */
  heardElsewhere(rec: PeerRecord, arrival: PathKey, now: number): void {
    const c = this.candidate(rec, arrival);
    c.lastHeardMs = now;
    const silent = now - rec.pathHeardMs >= this.host.timing.suspectAfterMs;
    if (!isRelayKey(arrival)) {
      // The channel roams onto a direct path with the peer's data and keepalives; a control
      // message (a probe or its answer) moves us only off a relay (direct beats relay) or off
      // a path gone silent. Two working direct paths (IPv4 and IPv6) keep the one in use.
      if (isRelayKey(rec.endpoint) || silent) this.host.switchPath(rec, arrival, now);
      return;
    }
    if (!this.relayUsable(relayVia(arrival), rec.id)) return;
    const follow = isRelayKey(rec.endpoint) && this.host.localId > rec.id;
    if (silent || follow) this.host.switchPath(rec, arrival, now);
  }

  /** A probe we sent came back on `arrival` after `rttMs`. */
  probeAnswered(rec: PeerRecord, arrival: PathKey, rttMs: number): void {
    const c = this.candidate(rec, arrival);
    c.rttMs = c.rttMs === null ? rttMs : c.rttMs * 0.875 + rttMs * 0.125;
  }

  /** `rec` is suspect: probe its other paths too (at most every ALT_PROBE_MIN_MS or so). */
  probeOthers(rec: PeerRecord, now: number, probe: Uint8Array): void {
    if (now < rec.nextAltProbeAtMs) return;
    rec.nextAltProbeAtMs = now + Math.max(ALT_PROBE_MIN_MS, 4 * this.host.timing.probeIntervalMs);
    for (const key of [...this.directCandidates(rec), ...this.relayCandidates(now, rec)]) {
      if (key === rec.endpoint) continue;
      if (this.host.channel.sendVia(now, rec.id, key, MsgKind.Control, probe)) this.candidate(rec, key).lastProbeMs = now;
    }
  }

  /**
   * Per-peer timers: relayed peers keep trying to go direct; a relay that went away is left.
   * Returns when it next has work for `rec`.
   */
  tick(rec: PeerRecord, now: number): number {
    if (!isRelayKey(rec.endpoint)) return Infinity;
    const via = relayVia(rec.endpoint);
    if (!this.relayUsable(via, rec.id)) {
      const next = this.relayCandidates(now, rec)[0];
      if (next !== undefined) this.host.switchPath(rec, next, now);
    } else if (this.host.localId < rec.id) {
      this.reconsiderRelay(rec, now);
    }
    if (now >= rec.nextPunchAtMs) this.punchRound(rec, now);
    return rec.nextPunchAtMs;
  }

  /** `rec` just moved to `key` (by the channel or by us). */
  moved(rec: PeerRecord, from: PathKey, now: number): void {
    const old = this.candidate(rec, from);
    old.lastHeardMs = Math.max(old.lastHeardMs, rec.pathHeardMs);
    const c = rec.paths.get(rec.endpoint);
    rec.pathHeardMs = now;
    if (c?.rttMs != null) rec.rttMs = c.rttMs;
    if (isRelayKey(rec.endpoint) && !isRelayKey(from)) {
      rec.punchBackoffMs = 0;
      rec.nextPunchAtMs = now;
      this.host.runBy(rec, now);
    }
  }

  /** `rec`'s or our candidates changed: a relayed peer tries to go direct again soon. */
  candidatesChanged(rec: PeerRecord, now: number): void {
    rec.punchBackoffMs = 0;
    rec.nextPunchAtMs = Math.min(rec.nextPunchAtMs, now);
    if (isRelayKey(rec.endpoint)) this.host.runBy(rec, now);
  }

  /** Relay `via` went down or stopped relaying: its paths move to the next relay at once. */
  relayGone(via: PeerId, now: number): void {
    // targets it reached look again now (a relayed first contact moves to another relay)
    for (const t of this.host.vias.forgetVia(via)) this.host.vias.timers.runBy(t.timer, now);
    for (const rec of this.host.peers.values()) {
      if (relayVia(rec.endpoint) !== via) continue;
      const next = this.relayCandidates(now, rec)[0];
      if (next !== undefined) this.host.switchPath(rec, next, now);
    }
    this.reachChanged(now, via); // it may be a peer we want back
  }

  // ---------------------------------------------------------------------------------------
  // Punches

  /** We are the common peer: `from` asks us to have `msg.target` dial it. */
  punchRequest(now: number, from: PeerRecord, target: PeerId, candidates: readonly Endpoint[]): void {
    const to = this.host.peers.get(target);
    if (!to || to === from) return this.host.drop('relay-denied', 'punch request for a peer we do not have');
    if (!this.host.channel.isEstablished(to.id)) return this.host.drop('relay-denied', 'punch request for a peer without a session');
    if (!this.host.allowPunch(now, from.id, to.id)) return this.host.drop('relay-limit', `punch ${from.id} -> ${to.id}`);
    // where we see it first: the freshest reflexive address there is
    const seen = isRelayKey(from.endpoint) ? [] : [from.endpoint];
    this.host.sendControl(to, now, { type: 'punch', origin: from.id, candidates: this.screen([...seen, ...candidates]) });
  }

  /** `origin` dials us now (told by `from`, or by `origin` itself): dial it at its candidates. */
  punch(now: number, from: PeerRecord, origin: PeerId, candidates: readonly Endpoint[]): void {
    if (origin === this.host.localId) return this.host.drop('relay-denied', 'punch from ourselves');
    const rec = this.host.peers.get(origin);
    const last = rec ? rec.lastPunchAnsweredMs : this.punchOrigins.get(origin) ?? -Infinity;
    if (now < last + PUNCH_PAIR_INTERVAL_MS) return this.host.drop('relay-limit', `punch from ${origin} within a second`);
    const endpoints = this.screen(candidates);
    if (rec) {
      // we have a session: probe on it, the answer comes back on the path that worked
      rec.lastPunchAnsweredMs = now;
      this.probeDirect(rec, now, endpoints);
      return;
    }
    if (!this.host.channel.accepts(origin)) return this.host.drop('gossip-limit', 'punch for an untrusted peer id');
    this.punchOrigins.delete(origin);
    this.punchOrigins.set(origin, now);
    if (this.punchOrigins.size > MAX_PUNCH_ORIGINS) this.punchOrigins.delete(this.punchOrigins.keys().next().value!);
    if (endpoints.length > 0) this.host.membership.punch(now, from.id, origin, endpoints);
  }

  // ---------------------------------------------------------------------------------------
  // Peers we know of but have no session with

  /** Gossip changed what we know of `target` (its relays), or it came or went: look again now. */
  reachChanged(now: number, target: PeerId): void {
    const t = this.host.vias.get(target);
    if (t) this.host.vias.timers.runBy(t.timer, now);
  }

  reachDeadline(): number {
    return this.host.vias.timers.next();
  }

  /** Ask for punches and shake hands through relays with gossiped peers we do not reach. */
  tickReach(now: number): void {
    const timers = this.host.vias.timers;
    for (const t of timers.popDue(now)) {
      if (this.host.vias.get(t.id) === t) timers.schedule(t.timer, this.reach(t, now));
    }
  }

  /** Run what is due for one gossiped target and return when it next has work (Infinity: none until gossip or a peer change). */
  private reach(t: ViaTarget, now: number): number {
    if (t.id === this.host.localId || this.host.peers.has(t.id) || !this.host.wanted(t.id)) {
      this.reached(t);
      return Infinity;
    }
    const vias = this.host.vias.vias(now, t.id);
    if (vias.length === 0 || !this.host.channel.accepts(t.id)) return Infinity;
    if (t.wantedSinceMs === null) {
      t.wantedSinceMs = now;
      t.punchBackoffMs = 0;
      t.nextPunchAtMs = now + PUNCH_FIRST_DELAY_MS;
      t.nextRelayAtMs = now + RELAY_AFTER_MS;
    }
    if (now >= t.nextPunchAtMs) {
      this.requestPunch(now, t, vias);
      t.punchBackoffMs = Math.min(PUNCH_RETRY_MAX_MS, Math.max(PUNCH_RETRY_MIN_MS, t.punchBackoffMs * 2));
      t.nextPunchAtMs = now + t.punchBackoffMs;
    }
    if (now >= t.nextRelayAtMs) {
      this.relayConnect(now, t, vias);
      t.nextRelayAtMs = now + RELAY_RETRY_MS;
    }
    return Math.min(t.nextPunchAtMs, t.nextRelayAtMs);
  }

  /** Relayed handshakes in flight, for status (endpoint = the relay path). */
  relayConnects(now: number): { target: PeerId; path: PathKey; sinceMs: number; nextInMs: number }[] {
    const out = [];
    for (const t of this.host.vias.values()) {
      if (t.relayConnect === null || t.wantedSinceMs === null) continue;
      out.push({ target: t.id, path: t.relayConnect, sinceMs: t.wantedSinceMs, nextInMs: Math.max(0, t.nextRelayAtMs - now) });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private reached(t: ViaTarget): void {
    if (t.wantedSinceMs === null) return;
    t.wantedSinceMs = null;
    const key = t.relayConnect;
    t.relayConnect = null;
    if (key !== null) this.host.defer(() => this.host.channel.cancelConnect(key));
  }

  private requestPunch(now: number, t: ViaTarget, vias: readonly Via[]): void {
    const informant = this.rank(vias, t.id, false)[0];
    if (informant === undefined) return;
    const rec = this.host.peers.get(informant.via)!;
    this.host.sendControl(rec, now, { type: 'punch-request', target: t.id, candidates: this.host.own.list() });
  }

  private relayConnect(now: number, t: ViaTarget, vias: readonly Via[]): void {
    const best = this.rank(vias, t.id, true)[0];
    if (best === undefined) return;
    const key = relayKey(best.via, t.id);
    if (!this.relayDials.take(now)) return this.host.drop('dial-limit', key);
    const old = t.relayConnect;
    t.relayConnect = key;
    this.host.defer(() => {
      if (old !== null && old !== key) this.host.channel.cancelConnect(old);
      this.host.channel.connect(now, key, t.id);
    });
  }

  /** One attempt to go direct: tell the peer our candidates (it probes them) and probe its. */
  private punchRound(rec: PeerRecord, now: number): void {
    rec.punchBackoffMs = Math.min(PUNCH_RETRY_MAX_MS, Math.max(PUNCH_RETRY_MIN_MS, rec.punchBackoffMs * 2));
    rec.nextPunchAtMs = now + rec.punchBackoffMs;
    this.host.sendControl(rec, now, { type: 'punch', origin: this.host.localId, candidates: this.host.own.list() });
    this.probeDirect(rec, now, this.directCandidates(rec));
  }

  private probeDirect(rec: PeerRecord, now: number, endpoints: readonly Endpoint[]): void {
    const probe = encodeControl({ type: 'probe', id: 0, sentAtMs: now });
    for (const ep of endpoints) {
      if (ep === rec.endpoint) continue;
      if (this.host.channel.sendVia(now, rec.id, ep, MsgKind.Control, probe)) this.candidate(rec, ep).lastProbeMs = now;
    }
  }

  /** The decider moves to a clearly better relay (a preferred one, or a third less RTT). */
  private reconsiderRelay(rec: PeerRecord, now: number): void {
    const vias = this.host.vias.vias(now, rec.id);
    const ranked = this.rank(vias, rec.id, true);
    const best = ranked[0];
    if (best === undefined || relayKey(best.via, rec.id) === rec.endpoint) return;
    const current = ranked.find((v) => relayKey(v.via, rec.id) === rec.endpoint);
    if (current === undefined) return; // not gossiped (any more): keep what works
    const better = (best.preferred && !current.preferred) || this.cost(best) < (2 / 3) * this.cost(current);
    if (better) this.host.switchPath(rec, relayKey(best.via, rec.id), now);
  }

  private cost(v: Via): number {
    const own = this.host.peers.get(v.via)?.rttMs ?? 1_000;
    return own + (v.rttMs ?? 1_000);
  }

  /** Relays (or, for punch requests, any informant) that can carry to `target` now, best first. */
  private rank(vias: readonly Via[], target: PeerId, relaying: boolean): Via[] {
    const usable = vias.filter((v) => (relaying ? this.relayUsable(v.via, target) : this.informantUsable(v.via, target)));
    return rankRelays(usable, (id) => this.host.peers.get(id)?.rttMs ?? null);
  }

  /** Relay paths to `rec`, best first. */
  private relayCandidates(now: number, rec: PeerRecord): PathKey[] {
    return this.rank(this.host.vias.vias(now, rec.id), rec.id, true).map((v) => relayKey(v.via, rec.id));
  }

  /** Direct endpoints worth probing for `rec`: where we saw it, then its own candidates. */
  private directCandidates(rec: PeerRecord): Endpoint[] {
    const out: Endpoint[] = [];
    for (const ep of [...[...rec.endpoints].reverse(), ...rec.candidates]) {
      if (!out.includes(ep) && out.length < MAX_PEER_CANDIDATES) out.push(ep);
    }
    return out;
  }

  private informantUsable(via: PeerId | null, target: PeerId): boolean {
    if (via === null || via === target) return false;
    const rec = this.host.peers.get(via);
    return !!rec && this.host.channel.isEstablished(via);
  }

  private relayUsable(via: PeerId | null, target: PeerId): boolean {
    if (via === null || via === target) return false;
    const rec = this.host.peers.get(via);
    return !!rec && rec.relayMode > 0 && !isRelayKey(rec.endpoint) && this.host.channel.isEstablished(via);
  }

  /** Dialable, distinct, at most MAX_PEER_CANDIDATES; the rest counted. */
  private screen(candidates: readonly Endpoint[]): Endpoint[] {
    const out: Endpoint[] = [];
    let over = 0;
    for (const ep of candidates) {
      if (out.includes(ep)) continue;
      if (!isDialable(ep)) this.host.drop('gossip-limit', `${ep} is not dialable`);
      else if (out.length >= MAX_PEER_CANDIDATES) over++;
      else out.push(ep);
    }
    if (over > 0) this.host.drop('gossip-limit', `${over} candidates over ${MAX_PEER_CANDIDATES}`, over);
    return out;
  }

  /** The remembered state of path `key` of `rec` (created; the least recently touched evicted). */
  private candidate(rec: PeerRecord, key: PathKey): PathCandidate {
    let c = rec.paths.get(key);
    if (c) {
      rec.paths.delete(key);
    } else {
      c = { key, lastHeardMs: -Infinity, lastProbeMs: -Infinity, rttMs: null };
      if (rec.paths.size >= MAX_PATHS_PER_PEER) rec.paths.delete(rec.paths.keys().next().value!);
    }
    rec.paths.set(key, c);
    return c;
  }
}
