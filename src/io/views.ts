// Reusable typed-array views for the batch receive paths. A subarray() is a new object
// (~80 bytes of heap); at a million packets per second that alone keeps the young GC busy.
// Views are kept per offset in the batch buffer: wake-up after wake-up a transport puts its
// packets at the same offsets (slots, and GRO/TSO segments at a fixed stride within a slot),
// and steady traffic repeats its sizes, so the common case allocates nothing. (A packet's
// position in the batch is no key: it shifts whenever the number of segments per slot
// changes, and a cache that misses is worse than none, because each fresh view it keeps
// survives the next scavenge and so makes V8 grow the young generation.)
// A view handed out is valid only until its offset is asked for again, i.e. during the
// handler call, as the TunDevice and Transport contracts say.

/** More distinct offsets than one buffer layout produces (64 slots x 64 GRO segments). */
const MAX_VIEWS = 8192;

export class ViewCache {
  private readonly views = new Map<number, Uint8Array>();

  /** buffer[offset, offset + length) as a view, reusing the one of this offset if it matches. */
  view(buffer: Uint8Array, offset: number, length: number): Uint8Array {
    const v = this.views.get(offset);
    if (v !== undefined && v.length === length && v.buffer === buffer.buffer && v.byteOffset === buffer.byteOffset + offset) return v;
    if (this.views.size >= MAX_VIEWS) this.views.clear(); // a layout change: start over
    const fresh = buffer.subarray(offset, offset + length);
    this.views.set(offset, fresh);
    return fresh;
  }
}
