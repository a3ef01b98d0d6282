// Seed, budget and reporting shared by the fuzz tests (test/unit/fuzz-*.test.ts).
//
//   FUZZ_SEED=123     replay a run: every input of every fuzz test derives from this one seed
//   FUZZ_INPUTS=5e6   inputs per binary decoder (default 1 000 000); the slower targets
//                     (engine through the full stack, YAML, command line) run a fixed share
//   FUZZ_VERBOSE=1    also print the finer outcome counts (e.g. per datagram type)
//
// A failure names the seed, the target, the input's index and the input itself. Timing is
// only reported (inputs/s), never asserted.
import { SeededRng } from '../crypto-harness.js';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: expected a non-negative number`);
  return Math.floor(n);
}

export const FUZZ_SEED = envNumber('FUZZ_SEED', 20240611);
export const FUZZ_INPUTS = envNumber('FUZZ_INPUTS', 1_000_000);
export const VERBOSE = !!process.env.FUZZ_VERBOSE;

/** Vitest's limit for one fuzz test: generous (a loaded CI machine), and longer for longer runs. */
export const FUZZ_TIMEOUT_MS = Math.max(1, FUZZ_INPUTS / 1_000_000) * 180_000;

/** This target's share of FUZZ_INPUTS (at least 1 input). */
export function budget(share: number): number {
  return Math.max(1, Math.round(FUZZ_INPUTS * share));
}

/** An independent stream per target, so adding a target does not change the others' inputs. */
export function targetRng(target: string): SeededRng {
  let h = 0x811c9dc5;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193);
  return new SeededRng((FUZZ_SEED ^ h) >>> 0);
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** How to show an input in a failure: bytes as hex, anything else as JSON. */
export function showInput(input: unknown): string {
  if (input instanceof Uint8Array) return `${input.length} bytes ${hex(input)}`;
  return JSON.stringify(input);
}

export class FuzzFailure extends Error {}

/** Counts inputs per outcome and prints one summary line with the rate. */
export class FuzzRun {
  readonly outcomes = new Map<string, number>();
  /** Finer counts, printed with FUZZ_VERBOSE=1. */
  readonly details = new Map<string, number>();
  inputs = 0;
  private readonly startedAt = performance.now();

  constructor(readonly target: string, readonly file: string) {}

  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  detail(key: string): void {
    this.details.set(key, (this.details.get(key) ?? 0) + 1);
  }

  /** Throw with everything needed to replay input `index`. */
  fail(index: number, input: unknown, why: string): never {
    throw new FuzzFailure(
      `fuzz ${this.target}: input ${index} (FUZZ_SEED=${FUZZ_SEED} FUZZ_INPUTS=${FUZZ_INPUTS} npx vitest run ${this.file}): ` +
      `${why}\n  input: ${showInput(input)}`,
    );
  }

  /** Print "fuzz TARGET: N inputs in S s = R inputs/s" and the outcome counts. */
  report(): { inputs: number; seconds: number; perSecond: number } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const perSecond = Math.round(this.inputs / Math.max(seconds, 1e-9));
    const list = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`fuzz ${this.target}: ${this.inputs} inputs in ${seconds.toFixed(2)} s = ${perSecond} inputs/s ` +
      `(seed ${FUZZ_SEED}) [${list(this.outcomes)}]`);
    if (VERBOSE && this.details.size) console.log(`  details: ${list(this.details)}`);
    return { inputs: this.inputs, seconds, perSecond };
  }
}
