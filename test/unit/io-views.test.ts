// ViewCache: one view per buffer offset, reused while the packet there keeps its length.
import { describe, expect, it } from 'vitest';
import { ViewCache } from '../../src/io/views.js';

describe('ViewCache', () => {
  it('hands out the same view for the same offset and length, whatever the batch position', () => {
    const cache = new ViewCache();
    const buffer = new Uint8Array(4096);
    const a = cache.view(buffer, 100, 50);
    const b = cache.view(buffer, 300, 50);
    expect(cache.view(buffer, 300, 50)).toBe(b); // asked for first now: still the same view
    expect(cache.view(buffer, 100, 50)).toBe(a);
    expect(a.byteOffset).toBe(100);
    expect(a.length).toBe(50);
  });

  it('makes a fresh view when the length or the buffer changes', () => {
    const cache = new ViewCache();
    const buffer = new Uint8Array(4096);
    const a = cache.view(buffer, 100, 50);
    const longer = cache.view(buffer, 100, 60);
    expect(longer).not.toBe(a);
    expect(longer.length).toBe(60);
    const other = new Uint8Array(4096);
    const c = cache.view(other, 100, 60);
    expect(c.buffer).toBe(other.buffer);
    const shifted = buffer.subarray(8); // same memory, another start: offsets mean other bytes
    expect(cache.view(shifted, 100, 60).byteOffset).toBe(108);
  });

  it('views show the buffer, not a copy', () => {
    const cache = new ViewCache();
    const buffer = new Uint8Array(64);
    const v = cache.view(buffer, 10, 4);
    buffer[11] = 7;
    expect(v[1]).toBe(7);
  });
});
