// The record table: the latest verified node record of every node we know of (wire/record.ts).
//
// Rules, whoever passes a record on:
// - A record is believed only if its signature verifies under its key and the key belongs to
//   its id (RecordAuth). Each version is checked once: a record at or below the version we
//   hold is never verified again, and a failed one is remembered (MAX_FAILED_RECORDS).
// - Higher version wins. Lower is stale (the sender is behind: the caller may answer with
//   ours). The same version with other bytes is dropped ('record'): only the owner can sign
//   it, so the owner signed two different records as one version, or a forwarder changed it.
// - Our own id: we are its only author. A record of ours we do not hold (an earlier run, or
//   one from before our wall clock stepped back) is reported, so the caller signs a newer one.
// - In key mode only trusted ids get in; the table holds at most MAX_NODE_RECORDS (the caller
//   may free room first, see `full`); records over MAX_RECORD_BYTES are refused.
import { decodeRecord, type NodeRecord } from '../wire/record.js';
import { BoundedMap } from '../crypto/bounded-map.js';
import { MAX_FAILED_RECORDS, MAX_NODE_RECORDS, MAX_RECORD_BYTES, RECORD_CHECK_BURST, RECORD_CHECKS_PER_S } from './constants.js';
import { TokenBucket } from './token-bucket.js';
import type { RecordAuth } from './record-auth.js';
import type { DropReason, PeerId } from './types.js';

export interface RecordEntry {
  readonly id: PeerId;
  readonly version: number;
  /** The signed record exactly as its owner made it (what we pass on). */
  readonly bytes: Uint8Array;
  readonly record: NodeRecord;
}

export type OfferResult =
  /** Stored: the first record of this node, or a newer version (`previous` is the one replaced). */
  | { kind: 'new'; entry: RecordEntry; previous: RecordEntry | null }
  /** Exactly the record we hold. */
  | { kind: 'known'; entry: RecordEntry }
  /** Older than the one we hold. */
  | { kind: 'stale'; entry: RecordEntry }
  /** A record of our own id that is not our current one; `version` is its version. */
  | { kind: 'own'; version: number }
  /** Refused and counted. */
  | { kind: 'dropped' };

export interface RecordTablePorts {
  readonly auth: RecordAuth;
  readonly localId: PeerId;
  /** Could this id ever be a member (key mode: a trusted key)? */
  accepts(id: PeerId): boolean;
  drop(reason: Extract<DropReason, 'record' | 'gossip-limit'>, detail: string): void;
  /** The table is full and `id` is new: free a slot if something may go (true if it did). */
  makeRoom?(id: PeerId): boolean;
}

export class RecordTable {
  private readonly byId = new Map<PeerId, RecordEntry>();
  /** "id version" -> signature of records that failed to verify. */
  private readonly failed = new BoundedMap<string, Uint8Array>(MAX_FAILED_RECORDS);
  /** Signature checks done (for tests and status: once per version). */
  verifications = 0;
  private readonly checks = new TokenBucket(RECORD_CHECKS_PER_S, RECORD_CHECK_BURST);

  constructor(private readonly ports: RecordTablePorts, readonly capacity = MAX_NODE_RECORDS) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: PeerId): RecordEntry | undefined {
    return this.byId.get(id);
  }

  has(id: PeerId): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<RecordEntry> {
    return this.byId.values();
  }

  /** Put our own freshly signed record in (it must verify like anyone's). */
  setOwn(bytes: Uint8Array): RecordEntry {
    const d = decodeRecord(bytes);
    if (!d.ok || d.record.id !== this.ports.localId) throw new Error(`own record does not decode: ${d.ok ? 'wrong id' : d.error}`);
    const entry: RecordEntry = { id: d.record.id, version: d.record.version, bytes, record: d.record };
    this.byId.set(entry.id, entry);
    return entry;
  }

  /** A record from the network (any sender), at time `now`. Never throws. */
  offer(bytes: Uint8Array, now: number): OfferResult {
    if (bytes.length > MAX_RECORD_BYTES) return this.refuse('gossip-limit', `record of ${bytes.length} bytes, over ${MAX_RECORD_BYTES}`);
    const d = decodeRecord(bytes);
    if (!d.ok) return this.refuse('record', `malformed record: ${d.error}`);
    const { record } = d;
    const held = this.byId.get(record.id);
    if (record.id === this.ports.localId) {
      if (held && sameBytes(held.bytes, bytes)) return { kind: 'known', entry: held };
      // Only a record we signed could be ours; one that does not verify is a forgery.
      if (!this.verified(now, record, d.body, d.signature)) return { kind: 'dropped' };
      return { kind: 'own', version: record.version };
    }
    if (held) {
      if (record.version < held.version) return { kind: 'stale', entry: held };
      if (record.version === held.version) {
        if (sameBytes(held.bytes, bytes)) return { kind: 'known', entry: held };
        return this.refuse('record', `${record.id}: another record with version ${record.version}`);
      }
    } else {
      if (!this.ports.accepts(record.id)) return this.refuse('gossip-limit', `record of untrusted id ${record.id}`);
      if (this.byId.size >= this.capacity && !this.ports.makeRoom?.(record.id)) {
        return this.refuse('gossip-limit', `record table full (${this.capacity})`);
      }
    }
    if (!this.verified(now, record, d.body, d.signature)) return { kind: 'dropped' };
    const entry: RecordEntry = { id: record.id, version: record.version, bytes: bytes.slice(), record };
    this.byId.set(entry.id, entry);
    return { kind: 'new', entry, previous: held ?? null };
  }

  remove(id: PeerId): void {
    if (id !== this.ports.localId) this.byId.delete(id);
  }

  private verified(now: number, record: NodeRecord, body: Uint8Array, signature: Uint8Array): boolean {
    const key = `${record.id} ${record.version}`;
    const failedSig = this.failed.get(key);
    if (failedSig && sameBytes(failedSig, signature)) {
      this.ports.drop('record', `${record.id}: signature already failed`);
      return false;
    }
    if (!this.checks.take(now)) {
      this.ports.drop('gossip-limit', `record signature checks over ${RECORD_CHECKS_PER_S}/s`);
      return false;
    }
    this.verifications++;
    if (this.ports.auth.verify(record.id, record.publicKey, body, signature)) return true;
    this.failed.set(key, signature.slice());
    this.ports.drop('record', `${record.id}: signature or key does not verify`);
    return false;
  }

  private refuse(reason: Extract<DropReason, 'record' | 'gossip-limit'>, detail: string): OfferResult {
    this.ports.drop(reason, detail);
    return { kind: 'dropped' };
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
