import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/wire/addr.js';
import { decodeControl, encodeControl, type ClaimInfo, type ControlMessage } from '../../src/wire/control.js';
import { decodeRecord } from '../../src/wire/record.js';
import { SimRng } from '../sim/rng.js';

const ID_A = 'x'.repeat(43);
const ID_B = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

/** A claim as decoded: every option present, defaults filled in. */
const claim = (text: string, o: Partial<ClaimInfo> = {}): ClaimInfo =>
  ({ prefix: parsePrefix(text), priority: 100, state: 'up', epoch: 0, preempt: false, ...o });

const samples: ControlMessage[] = [
  {
    type: 'node-info',
    bootTimeMs: 1_700_000_123_456,
    seq: 7,
    record: Uint8Array.from([1, 2, 3, 4, 5]), // opaque here (wire/record.ts)
    peers: [
      { id: ID_A, endpoints: ['192.0.2.1:3210', '[2001:db8::1]:4000'], rttMs: 12 },
      { id: ID_B, endpoints: [] },
    ],
  },
  { type: 'node-info', bootTimeMs: 0, seq: 0xffffffff, record: new Uint8Array(0), peers: [] },
  { type: 'records', records: [Uint8Array.from([9, 9]), new Uint8Array(300)], sync: false },
  { type: 'records', records: [], sync: true },
  { type: 'digest', count: 1_000, cursor: 3, hashes: [0, 0xffffffff, 7, 8] },
  { type: 'digest', count: 0, cursor: 0, hashes: [42] },
  {
    type: 'summary', count: 4_096, buckets: 256, next: 17, complete: [0, 16],
    entries: [{ id: ID_A, version: 2 ** 53 - 1, state: 0 }, { id: ID_B, version: 0, state: 2 }],
  },
  { type: 'summary', count: 1, buckets: 1, next: 1, complete: [], entries: [] },
  { type: 'pull', ids: [ID_A, ID_B] },
  { type: 'ping-req', target: ID_A },
  { type: 'ping-ack', target: ID_B },
  { type: 'states', entries: [{ id: ID_A, version: 1_700_000_000_000 * 1024, state: 1, from: ID_B }, { id: ID_B, version: 3, state: 2 }] },
  { type: 'states', entries: [] },
  { type: 'info-ack', bootTimeMs: 1_700_000_000_000, seq: 3 },
  { type: 'leave', bootTimeMs: 1_700_000_000_001 },
  { type: 'leave-ack', bootTimeMs: 42 },
  { type: 'probe', id: 0, sentAtMs: 12_345.678 },
  { type: 'probe-ack', id: 0xffffffff, sentAtMs: 0 },
  { type: 'info-request' },
];

/** Raw builder for hand-made (and deliberately wrong) messages. */
const part = (tag: number, value: number[]): number[] => [tag, value.length >> 8, value.length & 0xff, ...value];
const f64 = (v: number): number[] => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return [...b];
};
const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
/** A record (wire/record.ts) of node 'n', version 1, boot time 5, with `parts` and a dummy signature. */
const record = (parts: number[]): Uint8Array =>
  Uint8Array.from([1, 1, ...ascii('n'), ...new Array(32).fill(7), ...u32(0), ...u32(1), ...part(1, f64(5)), ...parts, 0, ...new Array(64).fill(0)]);

describe('control codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s exactly', (_t, msg) => {
    const bytes = encodeControl(msg);
    const res = decodeControl(bytes);
    expect(res).toEqual({ ok: true, msg });
    expect(encodeControl((res as { msg: ControlMessage }).msg)).toEqual(bytes);
  });

  it('masks host bits of claimed prefixes (in node records)', () => {
    const res = decodeRecord(record(part(4, [4, 24, 10, 1, 2, 3, 0])));
    expect(res.ok && [...res.record.claims[0]!.prefix.bytes]).toEqual([10, 1, 2, 0]);
  });

  it('skips unknown parts at every level (old nodes keep working with newer ones)', () => {
    const raw = Uint8Array.from([
      1,
      ...part(200, [1, 2, 3]),
      ...part(1, f64(99)),
      ...part(2, u32(4)),
      ...part(7, [5, 6]),
      // a peer with an unknown part next to its endpoint
      ...part(4, [3, ...ascii('abc'), ...part(9, [0]), ...part(1, [4, 192, 0, 2, 7, 0x0c, 0x8a]), 0]),
      ...part(250, []),
      0,
    ]);
    expect(decodeControl(raw)).toEqual({
      ok: true,
      msg: { type: 'node-info', bootTimeMs: 99, seq: 4, record: Uint8Array.from([5, 6]), peers: [{ id: 'abc', endpoints: ['192.0.2.7:3210'] }] },
    });
    // and in a record: a claim with its priority and a metadata part this version does not know
    const res = decodeRecord(record([...part(200, [1]), ...part(4, [4, 32, 10, 0, 0, 1, ...part(1, [5]), ...part(77, [1, 2, 3, 4]), 0])]));
    expect(res.ok && res.record.claims).toEqual([claim('10.0.0.1', { priority: 5 })]);
  });

  it('reads an unknown claim state as withdrawn, and rejects a claim option of the wrong size', () => {
    const withClaim = (claimParts: number[]) => decodeRecord(record(part(4, [4, 32, 10, 0, 0, 1, ...claimParts, 0])));
    const res = withClaim(part(2, [9]));
    expect(res.ok && res.record.claims[0]!.state).toBe('unhealthy');
    expect(withClaim(part(1, [1, 2])).ok).toBe(false);
    expect(withClaim(part(3, [1, 2, 3])).ok).toBe(false);
  });

  it('leaves out endpoints that are not literal IP:port', () => {
    const msg: ControlMessage = { type: 'node-info', bootTimeMs: 1, seq: 1, record: new Uint8Array(0), peers: [{ id: 'p', endpoints: ['host.example:3210', '10.0.0.1:0', '10.0.0.1:1'] }] };
    const res = decodeControl(encodeControl(msg));
    expect(res.ok && res.msg.type === 'node-info' && res.msg.peers[0]!.endpoints).toEqual(['10.0.0.1:1']);
  });

  it.each([
    ['empty', [], 'truncated'],
    ['unknown type', [99, 0], 'unknown control message type 99'],
    ['no END', [3, ...part(1, f64(1))], 'truncated'],
    ['missing boot time', [3, 0], 'missing boot time'],
    ['missing seq', [1, ...part(1, f64(1)), 0], 'missing seq'],
    ['missing record', [1, ...part(1, f64(1)), ...part(2, u32(1)), 0], 'missing record'],
    ['digest of 3 buckets', [12, ...part(1, u32(1)), ...part(2, [0, 0]), ...part(3, [...u32(1), ...u32(2), ...u32(3)]), 0], 'power of two'],
    ['digest of 512 buckets', [12, ...part(1, u32(1)), ...part(2, [0, 0]), ...part(3, new Array(2048).fill(0)), 0], 'power of two'],
    ['digest cursor beyond', [12, ...part(1, u32(1)), ...part(2, [0, 2]), ...part(3, [...u32(1), ...u32(2)]), 0], 'beyond'],
    ['summary bucket beyond', [13, ...part(1, u32(1)), ...part(2, [0, 4]), ...part(3, [0, 4]), ...part(4, [4]), 0], 'beyond'],
    ['summary state 3', [13, ...part(1, u32(1)), ...part(2, [0, 1]), ...part(3, [0, 1]), ...part(5, [1, 65, ...u32(0), ...u32(1), 3]), 0], 'unknown member state'],
    ['ping-req without target', [15, 0], 'missing ping target'],
    ['state 3', [17, ...part(1, [1, 65, ...u32(0), ...u32(1), 3]), 0], 'unknown member state'],
    ['state with a bad from id', [17, ...part(1, [1, 65, ...u32(0), ...u32(1), 1, 0]), 0], 'empty state from'],
    ['summary version over 2^53', [13, ...part(1, u32(1)), ...part(2, [0, 1]), ...part(3, [0, 1]), ...part(5, [1, 65, ...u32(0x200000), ...u32(0), 0]), 0], 'over 2^53'],
    ['bytes after END', [3, ...part(1, f64(1)), 0, 0], 'after END'],
    ['part longer than the message', [3, 1, 0, 9, 0], 'truncated'],
    ['boot time of wrong size', [3, ...part(1, u32(1)), 0], 'truncated'],
    ['boot time with extra bytes', [3, ...part(1, [...f64(1), 0]), 0], 'extra bytes'],
    ['negative time', [3, ...part(1, f64(-1)), 0], 'not a valid time'],
    ['NaN time', [3, ...part(1, f64(NaN)), 0], 'not a valid time'],
    ['empty peer id', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [0, 0]), 0], 'empty peer id'],
    ['control char in id', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [1, 10, 0]), 0], 'printable'],
    ['endpoint port 0', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [1, 65, ...part(1, [4, 1, 2, 3, 4, 0, 0]), 0]), 0], 'port 0'],
    ['probe without time', [5, ...part(1, u32(1)), 0], 'missing probe time'],
  ])('rejects %s', (_name, bytes, error) => {
    const res = decodeControl(Uint8Array.from(bytes));
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error).toContain(error);
  });

  it.each([
    ['claim family 5', part(4, [5, 8, 1, 2, 3, 4, 0]), 'unknown address family'],
    ['claim /33', part(4, [4, 33, 1, 2, 3, 4, 0]), 'too long'],
    ['claim without END', part(4, [4, 8, 1, 2, 3, 4]), 'truncated'],
  ])('rejects a record with %s', (_name, parts, error) => {
    const res = decodeRecord(record(parts));
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error).toContain(error);
  });

  it('never throws on truncated, mutated or random input (seeded)', () => {
    const rng = new SimRng(7);
    let rejected = 0;
    const valid = samples.map(encodeControl);
    for (const bytes of valid) {
      for (let n = 0; n < bytes.length; n++) expect(decodeControl(bytes.subarray(0, n)).ok).toBe(false);
    }
    for (let i = 0; i < 20_000; i++) {
      const base = rng.pick(valid);
      const b = i % 4 === 0 ? new Uint8Array(rng.int(64)) : base.slice();
      if (i % 4 === 0) rng.fill(b);
      else for (let k = 0, flips = 1 + rng.int(4); k < flips; k++) b[rng.int(b.length)] = rng.int(256);
      const res = decodeControl(b);
      if (!res.ok) rejected++;
      else expect(decodeControl(encodeControl(res.msg)).ok).toBe(true); // anything accepted re-encodes
    }
    expect(rejected).toBeGreaterThan(1_000);
  });
});
