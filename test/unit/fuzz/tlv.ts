// Structure-aware mutation of control messages. src/wire/control.ts encodes a message as a
// head (the type byte) and a list of tagged parts (tag:u8 length:u16be value) ending in END
// (0); a part's value may itself hold a fixed head and a nested list. This module finds
// those lists in the encoded bytes without knowing any message type (the shortest head after
// which the rest parses as a list ending exactly at the end), mutates the tree — inside a
// part, removing, duplicating, transplanting parts between messages, retagging — and writes
// it back with every enclosing length fixed up, or now and then a length that lies.
import type { ByteMutator } from './mutate.js';

const END = 0;
const MAX_PART = 0xffff;

export interface Part {
  tag: number;
  /** The value's bytes before its nested list, or the whole value if it has none. */
  head: Uint8Array;
  /** Nested parts (written after head, then END), or null for an opaque value. */
  parts: Part[] | null;
}

/** A message: its head (the type byte) and its top-level parts. */
export interface Tree {
  head: Uint8Array;
  parts: Part[];
}

/** Parts from `start` to exactly `end` (the last byte being END), or null if they do not fit. */
function parseList(buf: Uint8Array, start: number, end: number, depth: number): Part[] | null {
  const parts: Part[] = [];
  let pos = start;
  while (pos < end) {
    const tag = buf[pos]!;
    if (tag === END) return pos + 1 === end ? parts : null;
    if (pos + 3 > end) return null;
    const len = (buf[pos + 1]! << 8) | buf[pos + 2]!;
    const at = pos + 3;
    if (at + len > end) return null;
    parts.push({ tag, ...parseValue(buf.subarray(at, at + len), depth + 1) });
    pos = at + len;
  }
  return null;
}

function parseValue(value: Uint8Array, depth: number): { head: Uint8Array; parts: Part[] | null } {
  if (depth < 4) {
    for (let k = 0; k < value.length; k++) {
      const parts = parseList(value, k, value.length, depth);
      if (parts) return { head: value.slice(0, k), parts };
    }
  }
  return { head: value.slice(), parts: null };
}

/** The tree of an encoded message; a message with no list at all is all head. */
export function parseTree(buf: Uint8Array): Tree {
  const v = parseValue(buf, 0);
  return { head: v.head, parts: v.parts ?? [] };
}

function cloneParts(parts: Part[]): Part[] {
  return parts.map((p) => ({ tag: p.tag, head: p.head, parts: p.parts && cloneParts(p.parts) }));
}

function valueSize(p: Part): number {
  return p.head.length + (p.parts ? listSize(p.parts) : 0);
}

function listSize(parts: Part[]): number {
  let n = 1; // END
  for (const p of parts) n += 3 + valueSize(p);
  return n;
}

/** Write the tree; returns the bytes and where each length field is (for length lies). */
export function writeTree(t: Tree): { bytes: Uint8Array; lengthAt: number[] } {
  const out = new Uint8Array(t.head.length + listSize(t.parts));
  const lengthAt: number[] = [];
  out.set(t.head, 0);
  let pos = t.head.length;
  const writeList = (parts: Part[]): void => {
    for (const p of parts) {
      const len = valueSize(p);
      out[pos] = p.tag;
      lengthAt.push(pos + 1);
      out[pos + 1] = (len >> 8) & 0xff; // over 64 KiB wraps: one more way to lie about a length
      out[pos + 2] = len & 0xff;
      out.set(p.head, pos + 3);
      pos += 3 + p.head.length;
      if (p.parts) writeList(p.parts);
    }
    out[pos++] = END;
  };
  writeList(t.parts);
  return { bytes: out, lengthAt };
}

interface Slot {
  list: Part[];
  index: number;
}

function slots(parts: Part[], out: Slot[] = []): Slot[] {
  for (let i = 0; i < parts.length; i++) {
    out.push({ list: parts, index: i });
    const nested = parts[i]!.parts;
    if (nested) slots(nested, out);
  }
  return out;
}

function lists(parts: Part[], out: Part[][] = []): Part[][] {
  out.push(parts);
  for (const p of parts) if (p.parts) lists(p.parts, out);
  return out;
}

export class TreeMutator {
  /** Every part of every corpus message, for transplants. */
  private readonly donors: Part[];
  private readonly tags: number[];

  constructor(private readonly m: ByteMutator, readonly trees: readonly Tree[]) {
    this.donors = trees.flatMap((t) => slots(t.parts).map((s) => s.list[s.index]!));
    this.tags = [...new Set(this.donors.map((p) => p.tag))];
  }

  /** A mutated copy of a random corpus message, lengths fixed up unless told to lie. */
  mutate(): Uint8Array {
    const m = this.m;
    const src = m.pick(this.trees);
    const t: Tree = { head: src.head, parts: cloneParts(src.parts) };
    const ops = 1 + m.int(3);
    for (let i = 0; i < ops; i++) this.op(t);
    const { bytes, lengthAt } = writeTree(t);
    const r = m.int(10);
    if (r === 0 && lengthAt.length) { // a length that lies
      const at = m.pick(lengthAt);
      const len = (bytes[at]! << 8) | bytes[at + 1]!;
      const lie = m.pick([0, 1, len - 1, len + 1, len + 2, bytes.length - at, MAX_PART, m.int(MAX_PART + 1)]) & MAX_PART;
      bytes[at] = lie >> 8;
      bytes[at + 1] = lie & 0xff;
      return bytes;
    }
    if (r === 1) return m.op(bytes); // and one raw byte mutation on top
    return bytes;
  }

  private op(t: Tree): void {
    const m = this.m;
    const all = slots(t.parts);
    const slot = all.length ? m.pick(all) : null;
    const part = slot ? slot.list[slot.index]! : null;
    switch (m.int(9)) {
      case 0: // the message head (type byte) or a part's head (value, or a claim's fixed fields)
        if (part && m.int(3)) part.head = m.mutate(part.head, 1 + m.int(2));
        else t.head = m.mutate(t.head, 1);
        return;
      case 1: // a value of another length: empty, one byte short or long, random
        if (!part) return;
        switch (m.int(4)) {
          case 0: part.head = new Uint8Array(0); return;
          case 1: part.head = part.head.slice(0, -1); return;
          case 2: part.head = m.random(part.head.length + 1); return;
          default: part.head = m.random(m.int(300)); return;
        }
      case 2: // remove a part
        if (slot) slot.list.splice(slot.index, 1);
        return;
      case 3: // duplicate a part (a repeated singleton, more claims or peers)
        if (slot && part) slot.list.splice(slot.index, 0, ...cloneParts([part]).concat(m.int(4) ? [] : cloneParts([part, part])));
        return;
      case 4: { // transplant a part from any corpus message into any list
        if (!this.donors.length) return;
        const list = m.pick(lists(t.parts));
        list.splice(m.int(list.length + 1), 0, ...cloneParts([m.pick(this.donors)]));
        return;
      }
      case 5: // retag: a known tag, a neighbour, END, or anything
        if (part) part.tag = m.pick([m.pick(this.tags), (part.tag + 1) & 0xff, (part.tag + 255) & 0xff, END, m.int(256)]);
        return;
      case 6: // swap two siblings
        if (slot && slot.list.length > 1) {
          const j = m.int(slot.list.length);
          [slot.list[slot.index], slot.list[j]] = [slot.list[j]!, slot.list[slot.index]!];
        }
        return;
      case 7: { // a part of an unknown tag, which decoders must skip
        const list = m.pick(lists(t.parts));
        list.splice(m.int(list.length + 1), 0, { tag: 1 + m.int(255), head: m.random(m.int(40)), parts: null });
        return;
      }
      default: // an opaque value becomes a list holder, or a list is flattened to bytes
        if (!part) return;
        if (part.parts) {
          part.head = writeTree({ head: part.head, parts: part.parts }).bytes;
          part.parts = null;
        } else {
          part.parts = [];
        }
        return;
    }
  }
}
