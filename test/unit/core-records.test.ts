// Node records: signed by their node, versioned, passed on by anyone, forged or rolled back by
// nobody (src/wire/record.ts, src/core/records.ts, src/core/own-record.ts, Ed25519 binding in
// src/crypto/record-auth.ts).
import { describe, expect, it } from 'vitest';
import { MAX_NODE_RECORDS, MAX_RECORD_BYTES, RECORD_CHECK_BURST, RECORD_CHECKS_PER_S, RECORD_VERSIONS_PER_MS } from '../../src/core/constants.js';
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { OwnRecord, type OwnRecordContent } from '../../src/core/own-record.js';
import type { RecordAuth } from '../../src/core/record-auth.js';
import { RecordTable, type OfferResult } from '../../src/core/records.js';
import type { DropReason, PeerId } from '../../src/core/types.js';
import { generateKeyPair, type IdentityKeyPair } from '../../src/crypto/keys.js';
import { identityRecordAuth } from '../../src/crypto/record-auth.js';
import { parsePrefix } from '../../src/wire/addr.js';
import { decodeRecord, encodeRecordBody, joinRecord, RECORD_SIGNATURE_BYTES, type NodeRecord } from '../../src/wire/record.js';
import { SeededRng } from './crypto-harness.js';

const rng = new SeededRng(4242);
const BOOT = 1_700_000_000_000;

const content = (claims = ['10.0.0.1/32'], extra: Partial<OwnRecordContent> = {}): OwnRecordContent => ({
  candidates: ['192.0.2.1:3210', '[2001:db8::1]:3210'],
  relay: 1,
  claims: claims.map((c) => ({ prefix: parsePrefix(c), priority: 150, state: 'up', epoch: 3, preempt: true })),
  leaving: false,
  ...extra,
});

interface Node {
  identity: IdentityKeyPair;
  auth: RecordAuth;
  own: OwnRecord;
}

function node(boot = BOOT): Node {
  const identity = generateKeyPair(rng);
  const auth = identityRecordAuth(identity);
  return { identity, auth, own: new OwnRecord(auth, identity.id, boot) };
}

/** A table owned by `holder`, with its drops recorded. */
function table(holder: Node, opts: { capacity?: number; accepts?: (id: PeerId) => boolean; makeRoom?: (id: PeerId) => boolean } = {}) {
  const drops: { reason: DropReason; detail: string }[] = [];
  const t = new RecordTable({
    auth: holder.auth,
    localId: holder.identity.id,
    accepts: opts.accepts ?? (() => true),
    drop: (reason, detail) => drops.push({ reason, detail }),
    ...(opts.makeRoom ? { makeRoom: opts.makeRoom } : {}),
  }, opts.capacity);
  return { t, drops };
}

/** Sign `record` with `signer`'s Ed25519 key, whatever id and key the record names. */
function signAs(signer: IdentityKeyPair, record: NodeRecord): Uint8Array {
  const body = encodeRecordBody(record);
  return joinRecord(body, identityRecordAuth(signer).sign(body));
}

const kind = (r: OfferResult): string => r.kind;

describe('node record format', () => {
  it('round-trips every field, and the signature covers every byte before it', () => {
    const a = node();
    const bytes = a.own.sign(content(['10.0.0.1/32', '2001:db8::/64'], { leaving: true, relay: 2 }));
    const d = decodeRecord(bytes);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.record).toEqual({ ...a.own.record!, publicKey: a.auth.publicKey });
    expect(d.record.id).toBe(a.identity.id);
    expect(d.record.claims.map((c) => c.priority)).toEqual([150, 150]);
    expect(d.record.leaving).toBe(true);
    expect(d.signature).toHaveLength(RECORD_SIGNATURE_BYTES);
    expect(a.auth.verify(d.record.id, d.record.publicKey, d.body, d.signature)).toBe(true);
    // any flipped bit in the body or the signature fails
    for (const at of [0, 5, d.body.length - 1, d.body.length, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at]! ^= 1;
      const b = decodeRecord(bad);
      if (b.ok) expect(a.auth.verify(b.record.id, b.record.publicKey, b.body, b.signature), `bit at ${at}`).toBe(false);
    }
  });

  it('refuses malformed input with an error and never throws', () => {
    const a = node();
    const bytes = a.own.sign(content());
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeRecord(bytes.subarray(0, n));
      expect(r.ok, `truncated to ${n}`).toBe(false);
      if (!r.ok) expect(r.error).not.toMatch(/decoder failure/);
    }
    const unknownFormat = bytes.slice();
    unknownFormat[0] = 99;
    expect(decodeRecord(unknownFormat)).toEqual({ ok: false, error: 'unknown record format 99' });
  });
});

describe('own record versions', () => {
  it('grow with every signature and start above an earlier run', () => {
    const a = node();
    a.own.sign(content());
    const v1 = a.own.version;
    a.own.sign(content());
    expect(a.own.version).toBe(v1 + 1);
    expect(v1).toBe(BOOT * RECORD_VERSIONS_PER_MS);
    // the same identity restarted a second later
    const again = new OwnRecord(a.auth, a.identity.id, BOOT + 1_000);
    again.sign(content());
    expect(again.version).toBeGreaterThan(a.own.version);
  });

  it('jump past a version the mesh holds (a wall clock that stepped back since the last run)', () => {
    const a = node();
    const earlier = new OwnRecord(a.auth, a.identity.id, BOOT + 60_000);
    earlier.sign(content());
    a.own.sign(content());
    expect(a.own.supersede(earlier.version)).toBe(true);
    a.own.sign(content());
    expect(a.own.version).toBe(earlier.version + 1);
    expect(a.own.supersede(1)).toBe(false);
  });
});

describe('record table', () => {
  it('stores a verified record from any sender, checks each version once, and passes the bytes on unchanged', () => {
    const a = node();
    const b = node();
    const { t, drops } = table(b);
    const bytes = a.own.sign(content());
    const r = t.offer(bytes, 0);
    expect(kind(r)).toBe('new');
    expect(t.get(a.identity.id)!.bytes).toEqual(bytes);
    expect(t.get(a.identity.id)!.record.claims[0]!.epoch).toBe(3);
    for (let i = 0; i < 5; i++) expect(kind(t.offer(bytes, 0))).toBe('known');
    expect(t.verifications).toBe(1);
    const next = a.own.sign(content(['10.0.0.2/32']));
    const r2 = t.offer(next, 0);
    expect(r2.kind).toBe('new');
    if (r2.kind === 'new') expect(r2.previous!.bytes).toEqual(bytes);
    expect(t.verifications).toBe(2);
    expect(drops).toEqual([]);
  });

  it('never rolls back: an older version is stale and leaves the newer one in place', () => {
    const a = node();
    const { t } = table(node());
    const old = a.own.sign(content(['10.0.0.1/32']));
    const newer = a.own.sign(content([]));
    expect(kind(t.offer(newer, 0))).toBe('new');
    const r = t.offer(old, 0);
    expect(r.kind).toBe('stale');
    expect(t.get(a.identity.id)!.bytes).toEqual(newer);
    expect(t.get(a.identity.id)!.record.claims).toEqual([]);
  });

  it('refuses a record signed by another node in its name (forgery), counted as record', () => {
    const a = node();
    const mallory = node();
    const { t, drops } = table(node());
    const genuine = a.own.sign(content());
    t.offer(genuine, 0);
    // Mallory's key, a's id, a higher version, her claims
    const forged = signAs(mallory.identity, { ...a.own.record!, publicKey: mallory.auth.publicKey, version: a.own.version + 10, claims: content(['10.9.9.9/32']).claims.slice() });
    expect(kind(t.offer(forged, 0))).toBe('dropped');
    // a's key named, but signed by Mallory
    const forged2 = signAs(mallory.identity, { ...a.own.record!, version: a.own.version + 11 });
    expect(kind(t.offer(forged2, 0))).toBe('dropped');
    // a genuine record with one byte of its body changed in flight
    const tampered = a.own.sign(content()).slice();
    tampered[tampered.length - RECORD_SIGNATURE_BYTES - 3]! ^= 0x40;
    expect(kind(t.offer(tampered, 0))).toBe('dropped');
    expect(t.get(a.identity.id)!.bytes).toEqual(genuine);
    expect(drops.map((d) => d.reason)).toEqual(['record', 'record', 'record']);
  });

  it('refuses a key that does not belong to the id (wrong key binding), even correctly signed', () => {
    const a = node();
    const mallory = node();
    const { t, drops } = table(node());
    // a record naming a's id, carrying Mallory's key and a valid signature by that key
    const bound = signAs(mallory.identity, { id: a.identity.id, publicKey: mallory.auth.publicKey, version: 1, bootTimeMs: BOOT, candidates: [], relay: 0, claims: [], leaving: false });
    const d = decodeRecord(bound);
    expect(d.ok && mallory.auth.verify(mallory.identity.id, d.record.publicKey, d.body, d.signature)).toBe(true);
    expect(kind(t.offer(bound, 0))).toBe('dropped');
    expect(t.has(a.identity.id)).toBe(false);
    expect(drops[0]!.reason).toBe('record');
  });

  it('a forgery repeated is dropped without another signature check', () => {
    const a = node();
    const mallory = node();
    const { t, drops } = table(node());
    const forged = signAs(mallory.identity, { ...a.own.sign(content()) && a.own.record!, publicKey: mallory.auth.publicKey, version: a.own.version + 1 });
    for (let i = 0; i < 10; i++) expect(kind(t.offer(forged, 0))).toBe('dropped');
    expect(t.verifications).toBe(1);
    expect(drops).toHaveLength(10);
  });

  it('drops a second, different record at a version already held (equivocation), keeping the first', () => {
    const a = node();
    const { t, drops } = table(node());
    const first = a.own.sign(content(['10.0.0.1/32']));
    const other = signAs(a.identity, { ...a.own.record!, claims: content(['10.0.0.7/32']).claims.slice() });
    expect(kind(t.offer(first, 0))).toBe('new');
    expect(kind(t.offer(other, 0))).toBe('dropped');
    expect(t.get(a.identity.id)!.bytes).toEqual(first);
    expect(drops.map((d) => d.reason)).toEqual(['record']);
  });

  it('refuses records over MAX_RECORD_BYTES, untrusted ids, and new nodes beyond the capacity', () => {
    const a = node();
    const b = node();
    const c = node();
    const holder = node();
    // oversize: a record padded with many claims
    const many = Array.from({ length: 250 }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
    const huge = a.own.sign(content(many));
    expect(huge.length).toBeGreaterThan(MAX_RECORD_BYTES);
    const { t, drops } = table(holder, { capacity: 3, accepts: (id) => id !== c.identity.id });
    expect(kind(t.offer(huge, 0))).toBe('dropped');
    expect(kind(t.offer(c.own.sign(content()), 0))).toBe('dropped');
    t.setOwn(holder.own.sign(content()));
    expect(kind(t.offer(a.own.sign(content()), 0))).toBe('new');
    expect(kind(t.offer(b.own.sign(content()), 0))).toBe('new');
    const d = node();
    expect(kind(t.offer(d.own.sign(content()), 0))).toBe('dropped');
    expect(t.size).toBe(3);
    // a newer version of a node already held still gets in
    expect(kind(t.offer(a.own.sign(content([])), 0))).toBe('new');
    expect(drops.map((x) => x.reason)).toEqual(['gossip-limit', 'gossip-limit', 'gossip-limit']);
    expect(drops[2]!.detail).toMatch(/full/);
    expect(MAX_NODE_RECORDS).toBeGreaterThanOrEqual(1_000);
  });

  it('a full table may make room (for a record of a node declared dead)', () => {
    const a = node();
    const b = node();
    let made = 0;
    const { t } = table(node(), {
      capacity: 1,
      makeRoom: () => {
        made++;
        t.remove(a.identity.id);
        return true;
      },
    });
    t.offer(a.own.sign(content()), 0);
    expect(kind(t.offer(b.own.sign(content()), 0))).toBe('new');
    expect(made).toBe(1);
    expect(t.has(a.identity.id)).toBe(false);
  });

  it('reports a record of our own id from an earlier run, refuses a forged one, and ignores our current one', () => {
    const me = node();
    const mallory = node();
    const { t, drops } = table(me);
    const earlier = new OwnRecord(me.auth, me.identity.id, BOOT + 5_000);
    const old = earlier.sign(content());
    const current = t.setOwn(me.own.sign(content()));
    expect(t.offer(current.bytes, 0)).toEqual({ kind: 'known', entry: current });
    expect(t.offer(old, 0)).toEqual({ kind: 'own', version: earlier.version });
    const forged = signAs(mallory.identity, { ...me.own.record!, publicKey: mallory.auth.publicKey, version: me.own.version + 100 });
    expect(kind(t.offer(forged, 0))).toBe('dropped');
    expect(drops.map((d) => d.reason)).toEqual(['record']);
    expect(t.get(me.identity.id)).toBe(current);
  });

  it(`checks at most RECORD_CHECK_BURST signatures at once and ${RECORD_CHECKS_PER_S}/s after: a member flooding bogus records gets no more CPU`, () => {
    const drops: DropReason[] = [];
    const t = new RecordTable({ auth: simRecordAuth('holder'), localId: 'holder', accepts: () => true, drop: (r) => drops.push(r) });
    const own = new OwnRecord(simRecordAuth('x'), 'x', BOOT);
    for (let i = 0; i < RECORD_CHECK_BURST; i++) t.offer(own.sign(content()), 0);
    expect(t.verifications).toBe(RECORD_CHECK_BURST);
    expect(kind(t.offer(own.sign(content()), 0))).toBe('dropped');
    expect(drops).toEqual(['gossip-limit']);
    expect(t.verifications).toBe(RECORD_CHECK_BURST);
    expect(kind(t.offer(own.sign(content()), 0.1))).toBe('dropped'); // 0.2 of a check refilled
    expect(kind(t.offer(own.sign(content()), 1))).toBe('new'); // 2000/s: two a millisecond
  });

  it('counts a malformed record as record', () => {
    const { t, drops } = table(node());
    expect(kind(t.offer(new Uint8Array([1, 2, 3]), 0))).toBe('dropped');
    expect(drops[0]!.reason).toBe('record');
  });
});
