// A bounded set of TCP flows (32-bit hashes of the 4-tuple), allocation-free on the data path.
// Used while a drained claimant still serves the connections it had: connections opened after
// the switch are remembered here (their SYN went to the new claimant), so their later segments
// follow them; every other segment of the prefix goes to the drained claimant.
//
// Bounded by design: open addressing over DRAIN_FLOWS_MAX slots with a short probe; when the
// probe finds no room the oldest slot it saw is reused (that flow's later segments would then
// go to the drained node and be reset). A hash collision has the same effect, with a chance of
// about size / 2^32 per segment. clear() is O(1) (a generation counter).

/** New connections remembered per engine while some prefix is being drained. */
export const DRAIN_FLOWS_MAX = 4096;
const PROBE = 8;

export class FlowSet {
  private readonly keys = new Uint32Array(DRAIN_FLOWS_MAX);
  private readonly gens = new Uint32Array(DRAIN_FLOWS_MAX);
  private readonly ages = new Uint32Array(DRAIN_FLOWS_MAX);
  private gen = 1;
  private clock = 0;
  size = 0;

  add(hash: number): void {
    const h = hash >>> 0;
    let victim = -1;
    let victimAge = Infinity;
    for (let i = 0; i < PROBE; i++) {
      const slot = (h + i) & (DRAIN_FLOWS_MAX - 1);
      if (this.gens[slot] !== this.gen) {
        this.put(slot, h);
        this.size++;
        return;
      }
      if (this.keys[slot] === h) {
        this.ages[slot] = ++this.clock;
        return;
      }
      if (this.ages[slot]! < victimAge) {
        victimAge = this.ages[slot]!;
        victim = slot;
      }
    }
    this.put(victim, h);
  }

  has(hash: number): boolean {
    const h = hash >>> 0;
    for (let i = 0; i < PROBE; i++) {
      const slot = (h + i) & (DRAIN_FLOWS_MAX - 1);
      if (this.gens[slot] !== this.gen) return false;
      if (this.keys[slot] === h) return true;
    }
    return false;
  }

  clear(): void {
    this.gen = (this.gen + 1) >>> 0 || 1;
    this.size = 0;
  }

  private put(slot: number, h: number): void {
    this.keys[slot] = h;
    this.gens[slot] = this.gen;
    this.ages[slot] = ++this.clock;
  }
}
