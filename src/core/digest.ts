// Anti-entropy digests of the record table: every (id, version, member state) hashes to 32 bits,
// and a bucket's digest is the XOR of its entries' hashes, kept up to date entry by entry. The
// buckets are the low bits of a hash of the id: a table is kept in MAX_DIGEST_BUCKETS of them
// and folded to fewer when it is small, so a digest costs 4 bytes per bucket and about eight
// entries share one (bucketsFor). Two nodes compare digests, then list only the entries of the
// buckets that differ, then pull or push only the records that differ (record-sync.ts).
//
// The hashes need not resist a forger: a member that makes its own entries collide only hides
// its own record from anti-entropy (pushes still carry it), and nobody can make entries of
// other nodes' ids with versions they did not sign.
import { MAX_DIGEST_BUCKETS, type MemberStateCode } from '../wire/control.js';
import type { PeerId } from './types.js';

/** Entries per bucket a digest aims at: the entries of a differing bucket fit one Summary. */
export const ENTRIES_PER_BUCKET = 8;

/** FNV-1a over the id's characters (ids are ASCII). */
export function idHash(id: PeerId): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's finaliser: every input bit moves every output bit. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function entryHash(id: PeerId, version: number, state: MemberStateCode): number {
  const hi = Math.floor(version / 0x1_0000_0000);
  return mix(mix(mix(idHash(id) ^ (version >>> 0)) ^ hi) ^ (state + 1));
}

/** The bucket of `id` in a digest of `buckets` buckets (a power of two). */
export function bucketOf(id: PeerId, buckets: number): number {
  return mix(idHash(id)) & (buckets - 1);
}

/** Buckets for a table of `count` records: a power of two, about ENTRIES_PER_BUCKET each. */
export function bucketsFor(count: number): number {
  let b = 1;
  while (b < MAX_DIGEST_BUCKETS && b * ENTRIES_PER_BUCKET < count) b *= 2;
  return b;
}

export interface DigestState {
  readonly version: number;
  readonly state: MemberStateCode;
}

export class RecordDigest {
  private readonly acc = new Uint32Array(MAX_DIGEST_BUCKETS);

  /** `id` changed from `before` to `after` (null: absent). */
  update(id: PeerId, before: DigestState | null, after: DigestState | null): void {
    const b = bucketOf(id, MAX_DIGEST_BUCKETS);
    let h = this.acc[b]!;
    if (before) h ^= entryHash(id, before.version, before.state);
    if (after) h ^= entryHash(id, after.version, after.state);
    this.acc[b] = h;
  }

  /** The digest in `buckets` buckets (bucket i folds every fine bucket congruent to i). */
  fold(buckets: number): number[] {
    const out = new Array<number>(buckets).fill(0);
    for (let i = 0; i < MAX_DIGEST_BUCKETS; i++) out[i & (buckets - 1)] ^= this.acc[i]!;
    return out.map((h) => h >>> 0);
  }
}
