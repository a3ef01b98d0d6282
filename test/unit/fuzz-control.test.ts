// Fuzz decodeControl (src/wire/control.ts) with messages from encodeControl and from a live
// simulated mesh, mutated byte-wise and structure-aware (inside parts, with lengths fixed up
// or lying). Every input must give { ok } or { ok: false, error } without throwing, never
// the decoder's catch-all ("decoder failure"), and every decoded message must survive
// encode → decode unchanged. Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeControl, encodeControl } from '../../src/wire/control.js';
import { corpus as makeCorpus } from './fuzz/corpus.js';
import { ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng } from './fuzz/run.js';
import { parseTree, TreeMutator, writeTree } from './fuzz/tlv.js';

const COUNT = budget(1);
const FILE = 'test/unit/fuzz-control.test.ts';

describe('control message fuzz', () => {
  it(`decodeControl survives ${COUNT} mutated messages, and what it accepts round-trips (seed ${FUZZ_SEED})`, () => {
    const rng = targetRng('control');
    const { control: corpus, controlTypes: types } = makeCorpus(rng, FUZZ_SEED);
    const trees = corpus.map(parseTree);
    for (const [i, c] of corpus.entries()) {
      expect(decodeControl(c).ok, `corpus entry ${i} decodes`).toBe(true);
      expect(writeTree(trees[i]!).bytes, `corpus entry ${i} re-encodes from its tree`).toEqual(c);
    }
    const bytes = new ByteMutator(rng, corpus);
    const tree = new TreeMutator(bytes, trees);
    const run: FuzzRun = new FuzzRun('decodeControl', FILE);

    for (let i = 0; i < COUNT; i++) {
      const r = rng.int(10);
      const input = r < 6 ? tree.mutate() : r < 9 ? bytes.mutate(bytes.pick(corpus)) : bytes.random(rng.int(64));
      let res;
      try {
        res = decodeControl(input);
      } catch (err) {
        run.fail(i, input, `decodeControl threw: ${String(err)}`);
      }
      run.inputs++;
      if (!res.ok) {
        if (typeof res.error !== 'string' || res.error === '' || res.error.includes('\n')) run.fail(i, input, `bad error ${JSON.stringify(res.error)}`);
        if (res.error.startsWith('decoder failure')) run.fail(i, input, `an unexpected exception inside the decoder: ${res.error}`);
        run.count('error');
        continue;
      }
      run.count(res.msg.type);
      let again;
      try {
        again = decodeControl(encodeControl(res.msg));
      } catch (err) {
        run.fail(i, input, `re-encoding ${JSON.stringify(res.msg)} threw: ${String(err)}`);
      }
      if (!again.ok || !isDeepStrictEqual(again.msg, res.msg)) {
        run.fail(i, input, `round trip changed ${JSON.stringify(res.msg)} into ${JSON.stringify(again)}`);
      }
    }

    run.report();
    expect(run.inputs).toBe(COUNT);
    // the mutations reached every message type's decoder, both ways
    if (COUNT >= 100_000) {
      for (const t of types) expect(run.outcomes.get(t) ?? 0, `decoded ${t}`).toBeGreaterThan(100);
      expect(run.outcomes.get('error') ?? 0).toBeGreaterThan(COUNT / 10);
    }
  }, FUZZ_TIMEOUT_MS);
});
