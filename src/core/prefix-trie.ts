// Longest-prefix match: a path-compressed binary trie per address family. Each node holds the
// prefix it stands for; nodes without a value only exist to join two branches, so the trie has
// fewer than 2n nodes for n prefixes and a lookup visits at most one node per distinct prefix
// length on the path (<= 33 for IPv4). Lookups allocate nothing.
import { maskBytes, type Family, type Prefix } from '../wire/addr.js';

interface Node<V> {
  /** The node's prefix bits, host bits cleared; 4 or 16 bytes. */
  readonly bits: Uint8Array;
  readonly len: number;
  value: V | undefined;
  zero: Node<V> | null;
  one: Node<V> | null;
  parent: Node<V> | null;
}

/** Bit `i` (0 = most significant bit of byte 0). */
function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Number of leading bits `a` and `b` share, at most `max`. */
function commonBits(a: Uint8Array, b: Uint8Array, max: number): number {
  for (let i = 0; i * 8 < max; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return Math.min(max, i * 8 + Math.clz32(x) - 24);
  }
  return max;
}

/** Do the first `node.len` bits of `addr` equal the node's bits, given bits before `from` already match? */
function matches(node: { bits: Uint8Array; len: number }, addr: Uint8Array, from: number): boolean {
  const len = node.len;
  for (let i = from >> 3; i * 8 < len; i++) {
    const left = len - i * 8;
    const mask = left >= 8 ? 0xff : (0xff00 >> left) & 0xff;
    if ((addr[i]! & mask) !== node.bits[i]) return false;
  }
  return true;
}

export class PrefixTrie<V> {
  private root4: Node<V> | null = null;
  private root6: Node<V> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Set the value stored for exactly `prefix` (replacing any previous one). */
  set(prefix: Prefix, value: V): void {
    const key = maskBytes(prefix.bytes, prefix.len);
    const len = prefix.len;
    let parent: Node<V> | null = null;
    let node = this.root(prefix.family);
    for (;;) {
      if (node === null) {
        this.link(prefix.family, parent, key, this.leaf(key, len, value, parent));
        return;
      }
      const shared = commonBits(node.bits, key, Math.min(node.len, len));
      if (shared === node.len && shared === len) {
        if (node.value === undefined) this.count++;
        node.value = value;
        return;
      }
      if (shared === node.len) {
        parent = node;
        node = bitAt(key, node.len) ? node.one : node.zero;
        continue;
      }
      // The new prefix branches off inside this node's edge: put a node at the branch point.
      if (shared === len) {
        const fresh = this.leaf(key, len, value, parent);
        this.replaceChild(prefix.family, parent, node, fresh);
        this.attach(fresh, node);
      } else {
        const glue: Node<V> = { bits: maskBytes(key, shared), len: shared, value: undefined, zero: null, one: null, parent };
        this.replaceChild(prefix.family, parent, node, glue);
        this.attach(glue, node);
        this.attach(glue, this.leaf(key, len, value, glue));
      }
      return;
    }
  }

  /** The value stored for exactly `prefix`. */
  get(prefix: Prefix): V | undefined {
    return this.find(prefix)?.value;
  }

  /** Remove exactly `prefix`; returns whether it was present. */
  delete(prefix: Prefix): boolean {
    const node = this.find(prefix);
    if (!node || node.value === undefined) return false;
    node.value = undefined;
    this.count--;
    this.prune(prefix.family, node);
    return true;
  }

  /** Value of the longest stored prefix containing `addr` (4 or 16 bytes). Allocation-free. */
  lookup(addr: Uint8Array): V | undefined {
    let node = addr.length === 4 ? this.root4 : this.root6;
    let best: V | undefined;
    let checked = 0;
    while (node !== null) {
      if (!matches(node, addr, checked)) break;
      checked = node.len;
      if (node.value !== undefined) best = node.value;
      if (node.len === addr.length * 8) break;
      node = bitAt(addr, node.len) ? node.one : node.zero;
    }
    return best;
  }

  /** Every stored value with its prefix, IPv4 first, each family in address then length order. */
  *entries(): IterableIterator<[Prefix, V]> {
    for (const [family, root] of [[4, this.root4], [6, this.root6]] as const) {
      const stack: Node<V>[] = root ? [root] : [];
      while (stack.length > 0) {
        const node = stack.pop()!;
        if (node.value !== undefined) yield [{ family, bytes: node.bits, len: node.len }, node.value];
        if (node.one) stack.push(node.one);
        if (node.zero) stack.push(node.zero);
      }
    }
  }

  /** Nodes including value-less joins (always < 2 * size + 1 with pruning intact). */
  countNodes(): number {
    let n = 0;
    const stack = [this.root4, this.root6].filter((x): x is Node<V> => x !== null);
    while (stack.length > 0) {
      const node = stack.pop()!;
      n++;
      if (node.zero) stack.push(node.zero);
      if (node.one) stack.push(node.one);
    }
    return n;
  }

  private root(family: Family): Node<V> | null {
    return family === 4 ? this.root4 : this.root6;
  }

  private leaf(bits: Uint8Array, len: number, value: V, parent: Node<V> | null): Node<V> {
    this.count++;
    return { bits, len, value, zero: null, one: null, parent };
  }

  private find(prefix: Prefix): Node<V> | null {
    let node = this.root(prefix.family);
    let checked = 0;
    while (node !== null && node.len <= prefix.len) {
      if (!matches(node, prefix.bytes, checked)) return null;
      if (node.len === prefix.len) return node;
      checked = node.len;
      node = bitAt(prefix.bytes, node.len) ? node.one : node.zero;
    }
    return null;
  }

  /** Hang `child` under `parent` on the side its next bit says. */
  private attach(parent: Node<V>, child: Node<V>): void {
    child.parent = parent;
    if (bitAt(child.bits, parent.len)) parent.one = child;
    else parent.zero = child;
  }

  private link(family: Family, parent: Node<V> | null, key: Uint8Array, child: Node<V>): void {
    if (parent === null) this.setRoot(family, child);
    else if (bitAt(key, parent.len)) parent.one = child;
    else parent.zero = child;
  }

  private replaceChild(family: Family, parent: Node<V> | null, old: Node<V>, fresh: Node<V> | null): void {
    if (fresh) fresh.parent = parent;
    if (parent === null) this.setRoot(family, fresh);
    else if (parent.one === old) parent.one = fresh;
    else parent.zero = fresh;
  }

  private setRoot(family: Family, node: Node<V> | null): void {
    if (family === 4) this.root4 = node;
    else this.root6 = node;
  }

  /** Remove value-less nodes that no longer join two branches, walking up from `node`. */
  private prune(family: Family, node: Node<V> | null): void {
    while (node !== null && node.value === undefined) {
      const parent = node.parent;
      if (node.zero && node.one) return;
      this.replaceChild(family, parent, node, node.zero ?? node.one);
      node = parent;
    }
  }
}
