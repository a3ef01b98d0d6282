// Spreading node records: gossip push with bounded fan-out, and anti-entropy.
//
// - Push: a record that is new to us (or our own new version) goes to RECORD_FANOUT random
//   peers we have a session with, never back to the one that sent it nor to its owner.
//   Whoever finds it new does the same, so a change reaches everyone in about log_3(N) hops;
//   duplicates stop at the first node that already has it.
// - Anti-entropy, every ANTI_ENTROPY_INTERVAL_MS with one random peer: we send our Digest
//   (digest.ts: 4 bytes per bucket of ~8 records); it answers a Summary with the entries
//   (id, version, state) of the buckets that differ, within one datagram; we then Pull what it
//   has newer and push what we have newer, and ask again from the next bucket until all
//   buckets were compared. A table that agrees costs one digest and an empty summary.
// Every message is bounded (SYNC_MESSAGE_BUDGET_BYTES, MAX_PULL_IDS); what a peer sends is
// screened by the record table (signatures, versions, caps) whoever passes it on.
import type { ControlMessage, DigestEntry, MemberStateCode, Summary } from '../wire/control.js';
import { ANTI_ENTROPY_INTERVAL_MS, MAX_PULL_IDS, MAX_SUMMARY_ENTRIES, RECORD_FANOUT, SYNC_MESSAGE_BUDGET_BYTES } from './constants.js';
import { bucketOf, bucketsFor, RecordDigest, type DigestState } from './digest.js';
import type { RecordEntry, RecordTable } from './records.js';
import type { DropReason, PeerId, Rng } from './types.js';
import { MAX_DIGEST_BUCKETS } from '../wire/control.js';

export interface SyncHost {
  readonly localId: PeerId;
  readonly records: RecordTable;
  readonly rng: Rng;
  /** The member state anti-entropy compares for `id` (SWIM). */
  stateOf(id: PeerId): MemberStateCode;
  /** Peers we may gossip with now (a session is established). */
  gossipPeers(): PeerId[];
  send(now: number, peer: PeerId, msg: ControlMessage): void;
  /** A record was stored (the first of its node, or a newer version); `from` passed it on. */
  stored(now: number, entry: RecordEntry, previous: RecordEntry | null, from: PeerId): void;
  /** Someone passed on a record of our own id at `version` (not our current one). */
  ownSeen(now: number, version: number): void;
  /** A summary says `id` is at `version` in `state` (member state gossip, SWIM). */
  stateSeen?(now: number, id: PeerId, version: number, state: MemberStateCode, from: PeerId): void;
  /** May this record be handed on by anti-entropy? (Not a dead member's: that would revive it where it was forgotten.) */
  shareable?(id: PeerId): boolean;
  drop(reason: Extract<DropReason, 'gossip-limit'>, detail: string): void;
}

/** Wire size of a Summary entry and of a Records part (tag, length, value). */
const entryBytes = (id: PeerId): number => 3 + 1 + id.length + 8 + 1;
const recordBytes = (r: Uint8Array): number => 3 + r.length;

export class RecordSync {
  readonly digest = new RecordDigest();
  /** Ids per fine bucket (MAX_DIGEST_BUCKETS of them), to list a bucket without a scan. */
  private readonly buckets: Set<PeerId>[] = Array.from({ length: MAX_DIGEST_BUCKETS }, () => new Set());
  private nextRoundAtMs = -Infinity;
  /** The largest table a peer told us it holds: our digests are fine enough for it. */
  private largestSeen = 0;
  /** Anti-entropy rounds started, and records pulled and pushed by anti-entropy (status, tests). */
  readonly stats = { rounds: 0, pulled: 0, pushed: 0, spread: 0 };

  constructor(private readonly host: SyncHost, private readonly intervalMs = ANTI_ENTROPY_INTERVAL_MS) {}

  /** Keep the digest in step with the table and member states: call on every change. */
  changed(id: PeerId, before: DigestState | null, after: DigestState | null): void {
    this.digest.update(id, before, after);
    const b = this.buckets[bucketOf(id, MAX_DIGEST_BUCKETS)]!;
    if (after) b.add(id);
    else b.delete(id);
  }

  // ---------------------------------------------------------------------------------------
  // Push

  /** Records we just stored or signed: on to RECORD_FANOUT random peers (not `from`, not their owners). */
  spread(now: number, entries: readonly RecordEntry[], from: PeerId | null): void {
    if (entries.length === 0) return;
    const peers = this.host.gossipPeers();
    const batches = new Map<PeerId, Uint8Array[]>();
    for (const e of entries) {
      const eligible = peers.filter((p) => p !== from && p !== e.id);
      for (const p of this.sample(eligible, RECORD_FANOUT)) {
        let list = batches.get(p);
        if (!list) batches.set(p, (list = []));
        list.push(e.bytes);
      }
    }
    for (const [p, list] of batches) {
      this.stats.spread += list.length;
      this.sendRecords(now, p, list, false);
    }
  }

  /**
   * Records from `from`: a push (what is new to us goes on), or an anti-entropy transfer
   * (`sync`: stored only; everyone runs anti-entropy, so re-spreading it would only repeat it).
   */
  onRecords(now: number, from: PeerId, records: readonly Uint8Array[], sync: boolean): void {
    const fresh: RecordEntry[] = [];
    for (const bytes of records) {
      const r = this.host.records.offer(bytes, now);
      if (r.kind === 'new') {
        this.host.stored(now, r.entry, r.previous, from);
        // the host may have dropped it again (e.g. a record of a node it just buried)
        if (this.host.records.get(r.entry.id) === r.entry) fresh.push(r.entry);
      } else if (r.kind === 'own') {
        this.host.ownSeen(now, r.version);
      }
    }
    if (!sync) this.spread(now, fresh, from);
  }

  // ---------------------------------------------------------------------------------------
  // Anti-entropy

  /** Start a round when one is due. */
  tick(now: number): void {
    if (now < this.nextRoundAtMs) return;
    this.nextRoundAtMs = now + this.intervalMs * (0.75 + 0.5 * this.host.rng.next());
    const peer = this.sample(this.host.gossipPeers(), 1)[0];
    if (peer === undefined) return;
    this.stats.rounds++;
    this.sendDigest(now, peer, 0);
  }

  deadline(): number {
    return this.nextRoundAtMs;
  }

  /** Compare now with `peer` (it just connected: it may know nothing yet, or everything). */
  syncWith(now: number, peer: PeerId): void {
    this.sendDigest(now, peer, 0);
  }

  onDigest(now: number, from: PeerId, msg: Extract<ControlMessage, { type: 'digest' }>): void {
    this.noteCount(msg.count);
    const n = msg.hashes.length;
    const mine = this.digest.fold(n);
    const summary: Summary = { type: 'summary', count: this.host.records.size, buckets: n, next: n, complete: [], entries: [] };
    let used = 32;
    for (let b = msg.cursor; b < n; b++) {
      if (mine[b] === msg.hashes[b]) continue;
      const ids = this.idsIn(b, n);
      let size = 1;
      for (const id of ids) size += entryBytes(id);
      if (used + size <= SYNC_MESSAGE_BUDGET_BYTES) {
        used += size;
        summary.complete.push(b);
        for (const id of ids) summary.entries.push(this.entryOf(id));
        continue;
      }
      // Does not fit: if nothing is listed yet, list part of it (from a random start, so
      // repeated rounds see all of an overfull bucket); compare the rest next time.
      if (summary.entries.length === 0) {
        const start = this.host.rng.next() * ids.length;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[(Math.floor(start) + i) % ids.length]!;
          if (used + entryBytes(id) > SYNC_MESSAGE_BUDGET_BYTES) break;
          used += entryBytes(id);
          summary.entries.push(this.entryOf(id));
        }
        b++;
      }
      summary.next = b;
      break;
    }
    this.host.send(now, from, summary);
  }

  onSummary(now: number, from: PeerId, msg: Summary): void {
    this.noteCount(msg.count);
    const pull: PeerId[] = [];
    const push: Uint8Array[] = [];
    const listed = new Set<PeerId>();
    const over = msg.entries.length - MAX_SUMMARY_ENTRIES;
    if (over > 0) this.host.drop('gossip-limit', `${over} summary entries over ${MAX_SUMMARY_ENTRIES}`);
    for (const e of over > 0 ? msg.entries.slice(0, MAX_SUMMARY_ENTRIES) : msg.entries) {
      listed.add(e.id);
      const held = this.host.records.get(e.id);
      if (!held || held.version < e.version) {
        if (e.id === this.host.localId) this.host.ownSeen(now, e.version);
        else if (e.state !== 2) pull.push(e.id); // a dead member's record is not worth having
      } else if (held.version > e.version) {
        if (this.shareable(e.id)) push.push(held.bytes);
      }
      if (e.state !== 0) this.host.stateSeen?.(now, e.id, e.version, e.state, from);
    }
    // In a bucket listed in full, what it did not list it lacks.
    for (const b of over > 0 ? [] : msg.complete) { // (a cut list proves nothing absent)
      for (const id of this.idsIn(b, msg.buckets)) {
        if (!listed.has(id) && this.shareable(id)) push.push(this.host.records.get(id)!.bytes);
      }
    }
    this.stats.pulled += pull.length;
    this.stats.pushed += push.length;
    for (let i = 0; i < pull.length; i += MAX_PULL_IDS) this.host.send(now, from, { type: 'pull', ids: pull.slice(i, i + MAX_PULL_IDS) });
    if (push.length > 0) this.sendRecords(now, from, push, true);
    // Its table is larger than our buckets were made for: compare again, finer (at most
    // log2(MAX_DIGEST_BUCKETS) times, as the bucket count only grows); else go on.
    const finer = bucketsFor(Math.max(this.host.records.size, this.largestSeen));
    if (finer > msg.buckets) this.sendDigest(now, from, 0, finer);
    else if (msg.next < msg.buckets) this.sendDigest(now, from, msg.next, msg.buckets);
  }

  onPull(now: number, from: PeerId, ids: readonly PeerId[]): void {
    if (ids.length > MAX_PULL_IDS) this.host.drop('gossip-limit', `pull of ${ids.length} ids, over ${MAX_PULL_IDS}`);
    const out: Uint8Array[] = [];
    for (let i = 0; i < ids.length && i < MAX_PULL_IDS; i++) {
      const e = this.host.records.get(ids[i]!);
      if (e && this.shareable(e.id)) out.push(e.bytes);
    }
    if (out.length > 0) this.sendRecords(now, from, out, true);
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  private sendDigest(now: number, peer: PeerId, cursor: number, buckets = bucketsFor(Math.max(this.host.records.size, this.largestSeen))): void {
    this.host.send(now, peer, { type: 'digest', count: this.host.records.size, cursor, hashes: this.digest.fold(buckets) });
  }

  /** Records in as few messages as the budget allows. */
  private sendRecords(now: number, peer: PeerId, records: readonly Uint8Array[], sync: boolean): void {
    let batch: Uint8Array[] = [];
    let used = 8;
    for (const r of records) {
      if (batch.length > 0 && used + recordBytes(r) > SYNC_MESSAGE_BUDGET_BYTES) {
        this.host.send(now, peer, { type: 'records', records: batch, sync });
        batch = [];
        used = 8;
      }
      batch.push(r);
      used += recordBytes(r);
    }
    if (batch.length > 0) this.host.send(now, peer, { type: 'records', records: batch, sync });
  }

  private shareable(id: PeerId): boolean {
    return this.host.shareable?.(id) ?? true;
  }

  private noteCount(count: number): void {
    // A peer's word, so bounded: it only makes our digests finer (at most MAX_DIGEST_BUCKETS).
    this.largestSeen = Math.max(this.largestSeen, Math.min(count, this.host.records.capacity));
  }

  /** Ids in bucket `b` of a `buckets`-bucket digest. */
  private idsIn(b: number, buckets: number): PeerId[] {
    const out: PeerId[] = [];
    for (let i = b; i < MAX_DIGEST_BUCKETS; i += buckets) for (const id of this.buckets[i]!) out.push(id);
    return out;
  }

  private entryOf(id: PeerId): DigestEntry {
    return { id, version: this.host.records.get(id)!.version, state: this.host.stateOf(id) };
  }

  /** Up to `k` distinct random elements of `xs`. */
  private sample<T>(xs: readonly T[], k: number): T[] {
    if (xs.length <= k) return [...xs];
    const pool = [...xs];
    const out: T[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.host.rng.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      out.push(pool[i]!);
    }
    return out;
  }
}
