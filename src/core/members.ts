// Members: every node we hold a record of (records.ts), its SWIM state, and what we applied
// of its record (claims, start time). A member's state belongs to one record version, and the
// version is the incarnation number of SWIM:
//   - a newer record makes it alive (a node refutes a suspicion by signing a new version);
//   - at the same version: alive < suspect < dead; suspect and dead spread by gossip;
//   - a suspect is declared dead when its suspicion times out (Lifeguard: the more members
//     independently suspect it, the sooner: SUSPICION_CONFIRMATIONS, SUSPICION_MAX_MULT);
//   - a record that says it leaves makes it dead at once (it said so itself, signed);
//   - a dead member's record is kept DEAD_MEMBER_TTL_MS so gossip cannot bring that version
//     back as alive, then forgotten (or sooner if the table needs room).
// Gossip about our own id at our version (or later) is refuted: the engine signs a new record.
// States heard for a version we do not hold yet wait (bounded) until its record arrives.
import type { Prefix } from '../wire/addr.js';
import type { MemberStateCode, StateEntry } from '../wire/control.js';
import { BoundedMap } from '../crypto/bounded-map.js';
import type { DeniedClaim } from './claim-policy.js';
import { DEAD_MEMBER_TTL_MS, MAX_PENDING_STATES, SUSPICION_CONFIRMATIONS, SUSPICION_MAX_MULT } from './constants.js';
import type { DigestState } from './digest.js';
import { PrefixTrie } from './prefix-trie.js';
import type { RecordEntry } from './records.js';
import type { PeerId } from './types.js';

export type MemberState = 'alive' | 'suspect' | 'dead';

export const STATE_CODES: Record<MemberState, MemberStateCode> = { alive: 0, suspect: 1, dead: 2 };
const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead'];

export interface Member {
  readonly id: PeerId;
  /** Its latest record (null: we have a session with it but no record yet). */
  entry: RecordEntry | null;
  state: MemberState;
  suspectedAtMs: number;
  /** Distinct members that suspect it (the first one first), at most SUSPICION_CONFIRMATIONS + 1. */
  suspecters: PeerId[];
  /** When dead: when its record may be forgotten. */
  deadUntilMs: number;
  // Our own view of it
  /** Its kept session timed out, or we wanted one and got none: not routed to until we hear it. */
  down: boolean;
  /** Records up to this version may be a process's we lost: they apply once it confirms one itself. */
  blockedUpTo: number;
  /** The version it sent us itself over its current session (NodeInfo). */
  confirmedVersion: number;
  /** Since when we want a session with it and have none (null: not wanted, or we have one). */
  wantedSinceMs: number | null;
  /** The version at which we last told it that we hold it suspect or dead (-1: never). */
  toldVersion: number;
  // What we applied of its record (claims in the claim table)
  appliedVersion: number;
  bootTimeMs: number | null;
  rankBootTimeMs: number | null;
  claims: Prefix[];
  /** Inner source addresses it may send from: its applied claims. Lookups allocate nothing. */
  sources: PrefixTrie<true>;
  deniedClaims: DeniedClaim[];
  readonly reportedDenials: Set<string>;
}

export interface MemberPorts {
  readonly localId: PeerId;
  /** Our current record version. */
  ownVersion(): number;
  /** Its digest entry changed (anti-entropy). */
  digest(id: PeerId, before: DigestState | null, after: DigestState | null): void;
  /** Its state changed (routes may change). */
  stateChanged(now: number, m: Member, before: MemberState): void;
  /** The mesh says we are suspect or dead at `version`: sign a newer record. */
  refute(now: number, version: number): void;
  /** A dead member's time is up: forget its record. */
  forget(id: PeerId): void;
}

export class Members {
  private readonly byId = new Map<PeerId, Member>();
  /** States heard for versions we have no record of yet. */
  private readonly pending = new BoundedMap<PeerId, StateEntry>(MAX_PENDING_STATES);
  /** Dead members in the order their records expire (the TTL is the same for all). */
  private readonly deadQueue: Member[] = [];
  private readonly suspects = new Set<Member>();
  /** Members with a record that are alive or suspect (us not included). */
  private live = 0;
  /** The SWIM protocol period (suspicion timeouts are counted in it). */
  constructor(private readonly ports: MemberPorts, private readonly periodMs: number) {}

  get(id: PeerId): Member | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Member> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Members alive or suspect, us included: the mesh size failure detection works with. */
  get liveCount(): number {
    return this.live + 1;
  }

  /** The member `id`, created (no record yet) if new. */
  ensure(id: PeerId): Member {
    let m = this.byId.get(id);
    if (!m) {
      m = {
        id, entry: null, state: 'alive', suspectedAtMs: 0, suspecters: [], deadUntilMs: 0,
        down: false, blockedUpTo: -1, confirmedVersion: -1, wantedSinceMs: null, toldVersion: -1,
        appliedVersion: -1, bootTimeMs: null, rankBootTimeMs: null, claims: [], sources: new PrefixTrie<true>(),
        deniedClaims: [], reportedDenials: new Set(),
      };
      this.byId.set(id, m);
    }
    return m;
  }

  /** Forget a member that has neither a record nor a session. */
  drop(m: Member): void {
    if (m.entry !== null) return;
    this.suspects.delete(m);
    this.byId.delete(m.id);
  }

  /** A newer record of `id` was stored: alive at that version (dead at once if it leaves). */
  recordStored(now: number, entry: RecordEntry): Member {
    const m = this.ensure(entry.id);
    const before = digestState(m);
    const was = m.state;
    this.setLive(m, false);
    m.entry = entry;
    this.setState(m, entry.record.leaving ? 'dead' : 'alive', now);
    const p = this.pending.get(entry.id);
    if (p && p.version <= entry.version) {
      this.pending.delete(entry.id);
      if (p.version === entry.version && STATE_CODES[m.state] < p.state) {
        if (p.state === 2) this.setState(m, 'dead', now);
        else this.startSuspicion(now, m, p.from ?? null);
      }
    }
    this.setLive(m, true);
    this.ports.digest(m.id, before, digestState(m));
    if (m.state !== was || before === null) this.ports.stateChanged(now, m, was);
    return m;
  }

  /**
   * Gossip says `e` (passed on by `from`). Returns the entry to pass on if it is news, with
   * its origin filled in, else null. `pull` is called when it names a version we lack.
   */
  heard(now: number, e: StateEntry, from: PeerId, pull: (id: PeerId) => void): StateEntry | null {
    if (e.id === this.ports.localId) {
      if (e.state !== 0 && e.version >= this.ports.ownVersion()) this.ports.refute(now, e.version);
      return null;
    }
    const m = this.byId.get(e.id);
    const held = m?.entry?.version ?? -1;
    if (e.version < held) return null;
    if (e.version > held) {
      // A newer version of it is dead: so is the one we hold (we need not fetch that record).
      if (e.state === 2) {
        if (m?.entry == null || m.state === 'dead') return null;
        this.declareDead(now, m);
        return { id: e.id, version: e.version, state: 2 };
      }
      const p = this.pending.get(e.id);
      if (!p || p.version < e.version || (p.version === e.version && p.state < e.state)) this.pending.set(e.id, { ...e });
      pull(e.id);
      return null;
    }
    const member = m!;
    if (e.state === 2) {
      if (member.state === 'dead') return null;
      this.declareDead(now, member);
      return { id: e.id, version: e.version, state: 2 };
    }
    if (e.state === 1) {
      if (member.state === 'dead') return null;
      const origin = e.from ?? from;
      if (member.state === 'alive') {
        this.suspect(now, member, origin);
        return { id: e.id, version: e.version, state: 1, from: origin };
      }
      return this.confirm(member, origin) ? { id: e.id, version: e.version, state: 1, from: origin } : null;
    }
    return null; // alive at the same version changes nothing
  }

  /** `origin` (we, or another member) suspects `m` at its current version: true if that is news. */
  suspect(now: number, m: Member, origin: PeerId): boolean {
    if (m.entry === null || m.state === 'dead') return false;
    if (m.state === 'suspect') return this.confirm(m, origin);
    const before = digestState(m);
    this.startSuspicion(now, m, origin);
    this.ports.digest(m.id, before, digestState(m));
    this.ports.stateChanged(now, m, 'alive');
    return true;
  }

  /** Declare `m` dead at its current version (its suspicion timed out, or gossip said so). */
  declareDead(now: number, m: Member): void {
    if (m.entry === null || m.state === 'dead') return;
    const before = digestState(m);
    const was = m.state;
    this.setLive(m, false);
    this.setState(m, 'dead', now);
    this.ports.digest(m.id, before, digestState(m));
    this.ports.stateChanged(now, m, was);
  }

  /** Declare dead the suspects whose time is up; forget dead records whose time is up. Returns the newly dead. */
  tick(now: number): Member[] {
    const died: Member[] = [];
    for (const m of this.suspects) {
      if (now >= this.suspicionDeadline(m)) {
        this.declareDead(now, m);
        died.push(m);
      }
    }
    while (this.deadQueue.length > 0 && now >= this.deadQueue[0]!.deadUntilMs) this.expire(this.deadQueue.shift()!);
    return died;
  }

  deadline(): number {
    let next = this.deadQueue[0]?.deadUntilMs ?? Infinity;
    for (const m of this.suspects) next = Math.min(next, this.suspicionDeadline(m));
    return next;
  }

  /** Make room in a full record table: the dead member whose record expires first goes. */
  evictDead(): boolean {
    const m = this.deadQueue.shift();
    if (!m) return false;
    this.expire(m);
    return true;
  }

  /** When `m`'s suspicion runs out (Lifeguard: shorter the more members confirm it). */
  suspicionDeadline(m: Member): number {
    const min = Math.max(2, Math.log10(this.liveCount)) * this.periodMs;
    const max = SUSPICION_MAX_MULT * min;
    const confirmations = Math.max(0, m.suspecters.length - 1);
    const share = confirmations >= SUSPICION_CONFIRMATIONS ? 1 : Math.log(confirmations + 1) / Math.log(SUSPICION_CONFIRMATIONS + 1);
    const timeout = max - (max - min) * share;
    return m.suspectedAtMs + timeout;
  }

  private startSuspicion(now: number, m: Member, origin: PeerId | null): void {
    this.setState(m, 'suspect', now);
    m.suspectedAtMs = now;
    m.suspecters = origin === null ? [] : [origin];
  }

  /** Another suspecter: true if it is a new one. */
  private confirm(m: Member, origin: PeerId): boolean {
    if (m.suspecters.includes(origin) || m.suspecters.length > SUSPICION_CONFIRMATIONS) return false;
    m.suspecters.push(origin);
    return true;
  }

  private setState(m: Member, state: MemberState, now: number): void {
    if (m.state === 'dead') {
      const i = this.deadQueue.indexOf(m);
      if (i >= 0) this.deadQueue.splice(i, 1);
    }
    if (state === 'dead') {
      m.deadUntilMs = now + DEAD_MEMBER_TTL_MS;
      this.deadQueue.push(m);
    }
    m.state = state;
    if (state === 'suspect') this.suspects.add(m);
    else {
      this.suspects.delete(m);
      m.suspecters = [];
    }
  }

  /** Count `m` in (or out of) the live members. */
  private setLive(m: Member, on: boolean): void {
    if (m.entry === null || m.state === 'dead') return;
    this.live += on ? 1 : -1;
  }

  /** Forget a dead member's record (it left the dead queue). */
  private expire(m: Member): void {
    if (m.state !== 'dead' || m.entry === null) return;
    this.ports.digest(m.id, digestState(m), null);
    m.entry = null;
    m.state = 'alive';
    this.ports.forget(m.id);
  }
}

export function digestState(m: Member): DigestState | null {
  return m.entry === null ? null : { version: m.entry.version, state: STATE_CODES[m.state] };
}

export function stateOf(code: MemberStateCode): MemberState {
  return STATES[code]!;
}
