// Fuzz the IP header parser (src/wire/ip.ts), which sees every TUN packet and every tunnelled
// packet of every peer. Valid IPv4 (with options, padding) and IPv6 packets, built here and
// taken from a simulated mesh's traffic, are mutated byte-wise and in the fields the parser
// reads (version, IHL, length). parse() and parseDst() must never throw, must agree with
// each other and with a plain reading of RFC 791 / RFC 8200, and on success every field must
// come from inside the packet. Seeded: FUZZ_SEED replays, FUZZ_INPUTS scales (fuzz/run.ts).
import { describe, expect, it } from 'vitest';
import { IpError, IpHeader } from '../../src/wire/ip.js';
import { ipPackets } from './fuzz/corpus.js';
import { meshPayloads } from './fuzz/mesh-corpus.js';
import { ByteMutator } from './fuzz/mutate.js';
import { budget, FUZZ_SEED, FUZZ_TIMEOUT_MS, FuzzRun, targetRng } from './fuzz/run.js';

const COUNT = budget(1);
const FILE = 'test/unit/fuzz-ip.test.ts';

/** RFC 791 / 8200 read plainly: the error parse() must give, or the fields it must find. */
function expected(p: Uint8Array): { err: IpError; version?: 4 | 6; total?: number; protocol?: number; src?: number; dst?: number } {
  if (p.length === 0) return { err: IpError.TooShort };
  const version = p[0]! >> 4;
  if (version === 4) {
    if (p.length < 20) return { err: IpError.TooShort };
    const ihl = (p[0]! & 15) * 4;
    if (ihl < 20 || ihl > p.length) return { err: IpError.BadHeaderLength };
    const total = p[2]! * 256 + p[3]!;
    if (total < ihl || total > p.length) return { err: IpError.BadTotalLength };
    return { err: IpError.Ok, version: 4, total, protocol: p[9]!, src: 12, dst: 16 };
  }
  if (version === 6) {
    if (p.length < 40) return { err: IpError.TooShort };
    const total = 40 + p[4]! * 256 + p[5]!;
    if (total > p.length) return { err: IpError.BadTotalLength };
    return { err: IpError.Ok, version: 6, total, protocol: p[6]!, src: 8, dst: 24 };
  }
  return { err: IpError.BadVersion };
}

const ERROR_NAMES: Record<number, string> = {
  [IpError.Ok]: 'Ok', [IpError.TooShort]: 'TooShort', [IpError.BadVersion]: 'BadVersion',
  [IpError.BadHeaderLength]: 'BadHeaderLength', [IpError.BadTotalLength]: 'BadTotalLength',
};

const same = (a: Uint8Array, p: Uint8Array, at: number): boolean => a.every((b, i) => p[at + i] === b);

describe('IP header fuzz', () => {
  it(`IpHeader.parse and parseDst survive ${COUNT} mutated packets and read only what is there (seed ${FUZZ_SEED})`, () => {
    const rng = targetRng('ip');
    const corpus = ipPackets().concat(meshPayloads(FUZZ_SEED).data.slice(0, 8));
    for (const c of corpus) expect(expected(c).err, 'corpus packets are valid').toBe(IpError.Ok);
    const bytes = new ByteMutator(rng, corpus);
    const full = new IpHeader();
    const dstOnly = new IpHeader();
    const run: FuzzRun = new FuzzRun('IpHeader', FILE);

    // the fields the parser reads, aimed at more often than a random offset would
    const fieldOp = (d: Uint8Array): Uint8Array => {
      if (d.length === 0) return d;
      switch (rng.int(3)) {
        case 0: d[0] = (rng.int(16) << 4) | (rng.int(2) ? rng.int(16) : d[0]! & 15); return d; // version, IHL
        case 1: d[0] = (d[0]! & 0xf0) | rng.int(16); return d;
        default: { // IPv4 total length (2..4) or IPv6 payload length (4..6): around the real size
          const at = d[0]! >> 4 === 6 ? 4 : 2;
          if (d.length < at + 2) return d;
          const base = at === 4 ? d.length - 40 : d.length;
          const v = (base + rng.int(5) - 2 + (rng.int(8) ? 0 : rng.int(65536))) & 0xffff;
          d[at] = v >> 8;
          d[at + 1] = v & 0xff;
          return d;
        }
      }
    };

    for (let i = 0; i < COUNT; i++) {
      const r = rng.int(10);
      let input = r < 6 ? bytes.mutate(bytes.pick(corpus)) : r < 9 ? fieldOp(bytes.pick(corpus).slice()) : bytes.random(rng.int(64));
      if (r >= 6 && r < 9 && rng.int(2)) input = bytes.op(input);
      let err: IpError;
      let errDst: IpError;
      try {
        err = full.parse(input);
        errDst = dstOnly.parseDst(input);
      } catch (e) {
        run.fail(i, input, `threw: ${String(e)}`);
      }
      run.inputs++;
      const want = expected(input);
      if (err !== want.err || errDst !== want.err) run.fail(i, input, `parse ${err}, parseDst ${errDst}, expected ${want.err}`);
      run.count(ERROR_NAMES[err] ?? `code ${err}`);
      if (err !== IpError.Ok) continue;
      const addrBytes = want.version === 4 ? 4 : 16;
      const ok = full.version === want.version && dstOnly.version === want.version &&
        full.totalLength === want.total && dstOnly.totalLength === want.total && full.totalLength <= input.length &&
        full.protocol === want.protocol &&
        full.src.length === addrBytes && full.dst.length === addrBytes && dstOnly.dst.length === addrBytes &&
        want.dst! + addrBytes <= full.totalLength && want.src! + addrBytes <= full.totalLength &&
        same(full.src, input, want.src!) && same(full.dst, input, want.dst!) && same(dstOnly.dst, input, want.dst!);
      if (!ok) run.fail(i, input, `fields: version ${full.version}/${dstOnly.version} total ${full.totalLength} protocol ${full.protocol} src ${full.src} dst ${full.dst}/${dstOnly.dst}`);
    }

    run.report();
    expect(run.inputs).toBe(COUNT);
    if (COUNT >= 100_000) {
      for (const e of Object.values(ERROR_NAMES)) {
        expect(run.outcomes.get(e) ?? 0, `${e} outcomes`).toBeGreaterThan(1000);
      }
    }
  }, FUZZ_TIMEOUT_MS);
});
