// Responders waiting for message 3, capped globally and per source (IPv4 address / IPv6 /64),
// so one sender cannot take every slot: when the table is full, the source holding the most
// slots loses its oldest one. Entries are kept in the order they came, which is also the order
// they expire in (one TTL for all), so expiry looks only at the oldest.
import type { ResponderEntry } from './session.js';

/** Handshakes we answered and await message 3 for, in all. */
export const MAX_PENDING_RESPONDERS = 4096;
/** ... and from one source. */
export const MAX_PENDING_PER_SOURCE = 64;

export class ResponderTable {
  private readonly byEphemeral = new Map<string, ResponderEntry>();
  private readonly bySource = new Map<string, ResponderEntry[]>();
  /** Cached oldest entry (null: look it up again), so reading it allocates nothing. */
  private first: ResponderEntry | undefined | null = undefined;

  constructor(private readonly max = MAX_PENDING_RESPONDERS, private readonly maxPerSource = MAX_PENDING_PER_SOURCE) {}

  get(ephemeral: string): ResponderEntry | undefined {
    return this.byEphemeral.get(ephemeral);
  }

  get size(): number {
    return this.byEphemeral.size;
  }

  /** The entry added first of those still here: the next to expire. */
  oldest(): ResponderEntry | undefined {
    if (this.first === null) this.first = this.byEphemeral.values().next().value;
    return this.first;
  }

  /** The entry that must make room for one more from `source`, if any. */
  victimFor(source: string): ResponderEntry | undefined {
    const own = this.bySource.get(source);
    if (own && own.length >= this.maxPerSource) return own[0];
    if (this.byEphemeral.size < this.max) return undefined;
    let most: ResponderEntry[] | undefined;
    for (const list of this.bySource.values()) if (!most || list.length > most.length) most = list;
    return most?.[0];
  }

  add(r: ResponderEntry): void {
    this.byEphemeral.set(r.ephemeral, r);
    if (this.byEphemeral.size === 1) this.first = r;
    const list = this.bySource.get(r.source);
    if (list) list.push(r);
    else this.bySource.set(r.source, [r]);
  }

  remove(r: ResponderEntry): void {
    if (this.byEphemeral.get(r.ephemeral) !== r) return;
    this.byEphemeral.delete(r.ephemeral);
    if (this.first === r) this.first = null;
    const list = this.bySource.get(r.source);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.bySource.delete(r.source);
  }
}
