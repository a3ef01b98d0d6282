// The fault soak's schedule (soak-scenario.ts): an endless, seeded stream of faults, injected
// one at a time. A fault names what happens, to whom, for how long, and the quiet gap after
// the mesh has settled again. Servers are named by role ("the active one", "the first
// standby"), resolved when the fault starts, so the fault that matters — the active server
// dying — happens as often as the seed says whatever happened before. The same seed gives the
// same stream; how many of its faults fit into the soak depends on how fast the machine is.

export type FaultKind = 'kill' | 'stop' | 'loss' | 'partition';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'stop', 'loss', 'partition'];

/** A server by its role when the fault starts: the active one, or standby 0 or 1 (in host order). */
export type ServerRole = 'active' | 'standby0' | 'standby1';
/** Loss can hit any node: a server by role, or a client. */
export type NodeRole = ServerRole | 'c1' | 'c2';

export type Fault = { index: number; holdMs: number; gapMs: number } & (
  /** kill -9 of a server's hacloud, restarted after holdMs (with the same identity and port). */
  | { kind: 'kill'; server: ServerRole }
  /** SIGSTOP of a server's hacloud, SIGCONT after holdMs (shorter or longer than the peer timeout). */
  | { kind: 'stop'; server: ServerRole }
  /** Random loss of `percent` % of what the node receives on its underlay (iptables statistic). */
  | { kind: 'loss'; node: NodeRole; percent: number }
  /**
   * UDP cut between namespaces: a server from every other node, a client from the active
   * server (it still has the two standbys), or the active server from a standby.
   */
  | { kind: 'partition'; cut: { isolate: ServerRole } | { client: 'c1' | 'c2' } | { standby: 'standby0' | 'standby1' } }
);

export const LOSS_PERCENT = 20;
/** Ranges (ms) the schedule draws from; kill and stop holds straddle the fast peer timeout (800 ms). */
const HOLD_MS: Record<FaultKind, [number, number]> = {
  kill: [200, 2_500],
  stop: [300, 2_500],
  loss: [3_000, 8_000],
  partition: [1_500, 5_000],
};
const GAP_MS: [number, number] = [500, 2_000];
/** Share of server faults aimed at the active server (the rest at a standby). */
const ACTIVE_SHARE = 2 / 3;

/** mulberry32: a small, fast seeded generator of floats in [0, 1) (not for cryptography). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * The faults of `seed`, in order, without end. The first four are the four kinds in a seeded
 * order, so even a short soak has each kind once; later ones draw kinds at random.
 */
export function* faultSchedule(seed: number): Generator<Fault> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const between = ([lo, hi]: [number, number]) => Math.round((lo + random() * (hi - lo)) / 10) * 10;
  const server = (): ServerRole => (random() < ACTIVE_SHARE ? 'active' : pick(['standby0', 'standby1'] as const));
  const firstKinds = [...FAULT_KINDS];
  for (let i = firstKinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [firstKinds[i], firstKinds[j]] = [firstKinds[j]!, firstKinds[i]!];
  }
  for (let index = 0; ; index++) {
    const kind = index < firstKinds.length ? firstKinds[index]! : pick(FAULT_KINDS);
    const holdMs = between(HOLD_MS[kind]);
    const gapMs = between(GAP_MS);
    const base = { index, holdMs, gapMs };
    switch (kind) {
      case 'kill':
      case 'stop':
        yield { ...base, kind, server: server() };
        break;
      case 'loss':
        yield { ...base, kind, node: random() < 0.6 ? server() : pick(['c1', 'c2'] as const), percent: LOSS_PERCENT };
        break;
      case 'partition': {
        const variant = pick(['isolate', 'client', 'standby'] as const);
        const cut = variant === 'isolate' ? { isolate: server() }
          : variant === 'client' ? { client: pick(['c1', 'c2'] as const) }
          : { standby: pick(['standby0', 'standby1'] as const) };
        yield { ...base, kind, cut };
        break;
      }
    }
  }
}

/** A new seed for a run that was not given one (printed, so the run can be replayed). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

/** SOAK_SEED (decimal or 0x hex) if set, else a fresh seed; throws on a malformed value. */
export function seedFrom(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return freshSeed();
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`SOAK_SEED must be an integer in 0..4294967295, not '${text}'`);
  return n;
}
