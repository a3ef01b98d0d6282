// Reusable typed-array views for the batch receive paths. A subarray() is a new object
// (~80 bytes of heap); at a million packets per second that alone keeps the young GC busy.
// A batch puts packet i at the same offset wake-up after wake-up (a slot per packet) and
// steady traffic repeats its sizes, so keeping the last view per position makes the common
// case allocation-free. A view handed out is valid only until the same position is asked
// for again, i.e. during the handler call, as the TunDevice and Transport contracts say.

/** Grows to the largest batch seen; one entry per position in a batch. */
export class ViewCache {
  private views: Uint8Array[] = [];

  /** buffer[offset, offset + length) as a view, reusing the one of position `i` if it matches. */
  view(i: number, buffer: Uint8Array, offset: number, length: number): Uint8Array {
    const v = this.views[i];
    if (v !== undefined && v.buffer === buffer.buffer && v.byteOffset === buffer.byteOffset + offset && v.length === length) return v;
    const fresh = buffer.subarray(offset, offset + length);
    if (i <= this.views.length) this.views[i] = fresh; // keep the array dense
    return fresh;
  }
}
