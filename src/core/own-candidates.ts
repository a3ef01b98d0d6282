// Where this node may be reachable, announced in its NodeInfo (and in punches) so peers that
// cannot reach it where they first tried have more to try:
//   static     --advertise-address (the operator's word: a port forward, a public address);
//   reflexive  what our peers see us at (the 'observed' message): a NAT's mapped endpoint;
//   host       our own interface addresses with the listen port (two nodes behind one NAT).
// A peer's report is authenticated but not trusted: it must be dialable (endpoint-policy.ts),
// each reporter holds at most one of the few reflexive slots, so one member cannot push out
// what the others report, and the list we announce is capped.
import { MAX_OBSERVED_CANDIDATES, MAX_OWN_CANDIDATES } from './constants.js';
import { isDialable } from './endpoint-policy.js';
import type { Endpoint, PeerId } from './types.js';

export type CandidateKind = 'static' | 'reflexive' | 'host';

export interface OwnCandidate {
  endpoint: Endpoint;
  kind: CandidateKind;
  /** Reflexive: the peer that reported it. */
  reporter?: PeerId;
}

interface Observation {
  readonly endpoint: Endpoint;
  readonly reporter: PeerId;
}

export class OwnCandidates {
  private staticList: Endpoint[] = [];
  private hostList: Endpoint[] = [];
  /** Oldest first; one per reporter, distinct endpoints. */
  private observed: Observation[] = [];
  private cached: Endpoint[] | null = null;

  /** --advertise-address endpoints (resolved by the daemon). Returns whether the list changed. */
  setStatic(endpoints: readonly Endpoint[]): boolean {
    return this.replace('staticList', endpoints);
  }

  /** Our interface addresses with the listen port (from the daemon; screened here). */
  setHost(endpoints: readonly Endpoint[]): boolean {
    return this.replace('hostList', endpoints.filter(isDialable));
  }

  /**
   * `reporter` sees us at `endpoint`. Returns whether our candidates changed; null when the
   * address is not one anybody could dial (the caller counts it).
   */
  observe(reporter: PeerId, endpoint: Endpoint): boolean | null {
    if (!isDialable(endpoint)) return null;
    const mine = this.observed.find((o) => o.reporter === reporter);
    if (mine?.endpoint === endpoint) return false;
    const before = this.list();
    this.observed = this.observed.filter((o) => o.reporter !== reporter && o.endpoint !== endpoint);
    this.observed.push({ endpoint, reporter });
    if (this.observed.length > MAX_OBSERVED_CANDIDATES) this.observed.shift();
    this.cached = null;
    return !sameList(before, this.list());
  }

  /** What we announce: static, then reflexive (most recent first), then host; distinct, capped. */
  list(): Endpoint[] {
    if (this.cached) return this.cached;
    const out: Endpoint[] = [];
    for (const c of this.entries()) if (!out.includes(c.endpoint) && out.length < MAX_OWN_CANDIDATES) out.push(c.endpoint);
    return (this.cached = out);
  }

  /** Every candidate with its kind (status). */
  entries(): OwnCandidate[] {
    return [
      ...this.staticList.map((endpoint) => ({ endpoint, kind: 'static' as const })),
      ...[...this.observed].reverse().map((o) => ({ endpoint: o.endpoint, kind: 'reflexive' as const, reporter: o.reporter })),
      ...this.hostList.map((endpoint) => ({ endpoint, kind: 'host' as const })),
    ];
  }

  private replace(which: 'staticList' | 'hostList', endpoints: readonly Endpoint[]): boolean {
    const next = [...new Set(endpoints)];
    if (sameList(this[which], next)) return false;
    const before = this.list();
    this[which] = next;
    this.cached = null;
    return !sameList(before, this.list());
  }
}

function sameList(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
