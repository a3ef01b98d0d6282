// A Map with a fixed capacity that forgets its oldest entry to make room: for the channel's
// tables keyed by network endpoints, which strangers can make us fill.
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Insert or replace (a replaced entry counts as new: it moves to the back). */
  set(key: K, value: V): void {
    this.map.delete(key);
    while (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as K);
    this.map.set(key, value);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
