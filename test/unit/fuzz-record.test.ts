// Fuzz node records (src/wire/record.ts) and the record table (src/core/records.ts) with
// records from the real signer, mutated byte-wise and structure-aware (the signed body as a
// tree of parts, then a signature). decodeRecord must never throw nor hit its catch-all, and
// what it accepts must re-encode to the same record; RecordTable.offer must never throw and
// never store bytes their owner did not sign (every stored record is one of the corpus).
// Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OwnRecord } from '../../src/core/own-record.js';
import type { RecordAuth } from '../../src/core/record-auth.js';
import { RecordTable, sameBytes } from '../../src/core/records.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { identityRecordAuth } from '../../src/crypto/record-auth.js';
import { parsePrefix } from '../../src/wire/addr.js';
import { decodeRecord, encodeRecordBody, joinRecord, RECORD_SIGNATURE_BYTES } from '../../src/wire/record.js';
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { concat, ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng } from './fuzz/run.js';
import { parseTree, TreeMutator, writeTree } from './fuzz/tlv.js';

const FILE = 'test/unit/fuzz-record.test.ts';

/** Records of a few nodes, every field used, several versions each. */
function corpus(auths: { id: string; auth: RecordAuth }[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [i, { id, auth }] of auths.entries()) {
    const own = new OwnRecord(auth, id, 1_700_000_000_000 + i);
    const claims = ['10.0.0.1/32', '10.0.1.0/24', '2001:db8::/48', '0.0.0.0/0'].slice(0, 1 + (i % 4)).map((c, k) => ({
      prefix: parsePrefix(c), priority: 100 + k, state: (['up', 'unhealthy', 'drained'] as const)[k % 3]!, epoch: k * 7, preempt: k % 2 === 1,
    }));
    out.push(own.sign({ candidates: [], relay: 0, claims: [], leaving: false }));
    out.push(own.sign({ candidates: ['192.0.2.1:3210', '[2001:db8::1]:1'], relay: 2, claims, leaving: false }));
    out.push(own.sign({ candidates: ['203.0.113.9:65535'], relay: 1, claims: claims.slice(0, 1), leaving: true }));
  }
  return out;
}

function fuzz(target: string, share: number, auths: { id: string; auth: RecordAuth }[], holder: RecordAuth, holderId: string): void {
  const count = budget(share);
  const rng = targetRng(target);
  const records = corpus(auths);
  const bodies = records.map((r) => r.subarray(0, r.length - RECORD_SIGNATURE_BYTES));
  const trees = bodies.map(parseTree);
  for (const [i, b] of bodies.entries()) expect(writeTree(trees[i]!).bytes, `corpus body ${i} re-encodes from its tree`).toEqual(b);
  const bytes = new ByteMutator(rng, records);
  const tree = new TreeMutator(new ByteMutator(rng, bodies), trees);
  const run: FuzzRun = new FuzzRun(target, FILE);
  const table = new RecordTable({ auth: holder, localId: holderId, accepts: () => true, drop: (reason) => run.detail(reason) }, 8);

  for (let i = 0; i < count; i++) {
    const r = rng.int(10);
    let input: Uint8Array;
    if (r < 5) {
      // a mutated body with the original signature, a mutated one, or random bytes
      const sig = bytes.pick(records).subarray(-RECORD_SIGNATURE_BYTES);
      input = concat(tree.mutate(), rng.int(4) === 0 ? bytes.mutate(sig) : sig);
    } else if (r < 9) input = bytes.mutate(bytes.pick(records));
    else input = bytes.random(rng.int(200));
    let res;
    try {
      res = decodeRecord(input);
    } catch (err) {
      run.fail(i, input, `decodeRecord threw: ${String(err)}`);
    }
    run.inputs++;
    if (!res.ok) {
      if (typeof res.error !== 'string' || res.error === '' || res.error.includes('\n')) run.fail(i, input, `bad error ${JSON.stringify(res.error)}`);
      if (res.error.startsWith('decoder failure')) run.fail(i, input, `an unexpected exception inside the decoder: ${res.error}`);
      run.count('error');
    } else {
      run.count('decoded');
      const again = decodeRecord(joinRecord(encodeRecordBody(res.record), res.signature));
      if (!again.ok || !isDeepStrictEqual(again.record, res.record)) run.fail(i, input, `round trip changed ${JSON.stringify(res.record)}`);
    }
    let offered;
    try {
      offered = table.offer(input, i * 10);
    } catch (err) {
      run.fail(i, input, `RecordTable.offer threw: ${String(err)}`);
    }
    if (offered.kind === 'new' && !records.some((c) => sameBytes(c, input))) run.fail(i, input, 'the table stored a record nobody signed');
    run.detail(`offer ${offered.kind}`);
    if (i % 97 === 0) for (const e of [...table.values()]) table.remove(e.id); // room for more versions
  }
  run.report();
  expect(run.inputs).toBe(count);
  if (count >= 100_000) {
    expect(run.outcomes.get('decoded') ?? 0).toBeGreaterThan(count / 20);
    expect(run.outcomes.get('error') ?? 0).toBeGreaterThan(count / 10);
  }
}

describe('node record fuzz', () => {
  it(`decodeRecord and RecordTable.offer survive ${budget(0.3)} mutated records (seed ${FUZZ_SEED})`, () => {
    const auths = ['a', 'bb', 'node-c'].map((id) => ({ id, auth: simRecordAuth(id) }));
    fuzz('record', 0.3, auths, simRecordAuth('holder'), 'holder');
  }, FUZZ_TIMEOUT_MS);

  it(`the Ed25519 binding survives ${budget(0.01)} mutated records (seed ${FUZZ_SEED})`, () => {
    const rng = targetRng('record-ed25519-keys');
    const auths = [0, 1].map(() => {
      const identity = generateKeyPair(rng);
      return { id: identity.id, auth: identityRecordAuth(identity) };
    });
    const holder = generateKeyPair(rng);
    fuzz('record-ed25519', 0.01, auths, identityRecordAuth(holder), holder.id);
  }, FUZZ_TIMEOUT_MS);
});
