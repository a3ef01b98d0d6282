import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/wire/addr.js';
import { decodeControl, encodeControl, type ClaimInfo, type ControlMessage } from '../../src/wire/control.js';
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
    claims: [
      claim('10.0.0.1', { priority: 150, epoch: 7 }), claim('10.0.0.0/31', { state: 'drained' }),
      claim('fd00::/64', { state: 'unhealthy', preempt: true, priority: 0 }), claim('10.0.0.2', { epoch: 0xffffffff, preempt: true }),
    ],
    peers: [
      { id: ID_A, endpoints: ['192.0.2.1:3210', '[2001:db8::1]:4000'] },
      { id: ID_B, endpoints: [] },
    ],
  },
  { type: 'node-info', bootTimeMs: 0, seq: 0xffffffff, claims: [], peers: [] },
  { type: 'node-info', bootTimeMs: 1.5, seq: 1, claims: [claim('0.0.0.0/0')], peers: [] },
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

describe('control codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s exactly', (_t, msg) => {
    const bytes = encodeControl(msg);
    const res = decodeControl(bytes);
    expect(res).toEqual({ ok: true, msg });
    expect(encodeControl((res as { msg: ControlMessage }).msg)).toEqual(bytes);
  });

  it('masks host bits of claimed prefixes', () => {
    const raw = Uint8Array.from([1, ...part(1, f64(5)), ...part(2, u32(1)), ...part(3, [4, 24, 10, 1, 2, 3, 0]), 0]);
    const res = decodeControl(raw);
    expect(res.ok && res.msg.type === 'node-info' && [...res.msg.claims[0]!.prefix.bytes]).toEqual([10, 1, 2, 0]);
  });

  it('skips unknown parts at every level (old nodes keep working with newer ones)', () => {
    const raw = Uint8Array.from([
      1,
      ...part(200, [1, 2, 3]),
      ...part(1, f64(99)),
      ...part(2, u32(4)),
      // a claim with its priority and a metadata part this version does not know
      ...part(3, [4, 32, 10, 0, 0, 1, ...part(1, [5]), ...part(77, [1, 2, 3, 4]), 0]),
      // a peer with an unknown part next to its endpoint
      ...part(4, [3, ...ascii('abc'), ...part(9, [0]), ...part(1, [4, 192, 0, 2, 7, 0x0c, 0x8a]), 0]),
      ...part(250, []),
      0,
    ]);
    expect(decodeControl(raw)).toEqual({
      ok: true,
      msg: { type: 'node-info', bootTimeMs: 99, seq: 4, claims: [claim('10.0.0.1', { priority: 5 })], peers: [{ id: 'abc', endpoints: ['192.0.2.7:3210'] }] },
    });
  });

  it('reads an unknown claim state as withdrawn, and rejects a claim option of the wrong size', () => {
    const info = (claimParts: number[]) => Uint8Array.from([1, ...part(1, f64(5)), ...part(2, u32(1)), ...part(3, [4, 32, 10, 0, 0, 1, ...claimParts, 0]), 0]);
    const res = decodeControl(info(part(2, [9])));
    expect(res.ok && res.msg.type === 'node-info' && res.msg.claims[0]!.state).toBe('unhealthy');
    expect(decodeControl(info(part(1, [1, 2]))).ok).toBe(false);
    expect(decodeControl(info(part(3, [1, 2, 3]))).ok).toBe(false);
  });

  it('leaves out endpoints that are not literal IP:port', () => {
    const msg: ControlMessage = { type: 'node-info', bootTimeMs: 1, seq: 1, claims: [], peers: [{ id: 'p', endpoints: ['host.example:3210', '10.0.0.1:0', '10.0.0.1:1'] }] };
    const res = decodeControl(encodeControl(msg));
    expect(res.ok && res.msg.type === 'node-info' && res.msg.peers[0]!.endpoints).toEqual(['10.0.0.1:1']);
  });

  it.each([
    ['empty', [], 'truncated'],
    ['unknown type', [99, 0], 'unknown control message type 99'],
    ['no END', [3, ...part(1, f64(1))], 'truncated'],
    ['missing boot time', [3, 0], 'missing boot time'],
    ['missing seq', [1, ...part(1, f64(1)), 0], 'missing seq'],
    ['bytes after END', [3, ...part(1, f64(1)), 0, 0], 'after END'],
    ['part longer than the message', [3, 1, 0, 9, 0], 'truncated'],
    ['boot time of wrong size', [3, ...part(1, u32(1)), 0], 'truncated'],
    ['boot time with extra bytes', [3, ...part(1, [...f64(1), 0]), 0], 'extra bytes'],
    ['negative time', [3, ...part(1, f64(-1)), 0], 'not a valid time'],
    ['NaN time', [3, ...part(1, f64(NaN)), 0], 'not a valid time'],
    ['claim family 5', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(3, [5, 8, 1, 2, 3, 4, 0]), 0], 'unknown address family'],
    ['claim /33', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(3, [4, 33, 1, 2, 3, 4, 0]), 0], 'too long'],
    ['claim without END', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(3, [4, 8, 1, 2, 3, 4]), 0], 'truncated'],
    ['empty peer id', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [0, 0]), 0], 'empty peer id'],
    ['control char in id', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [1, 10, 0]), 0], 'printable'],
    ['endpoint port 0', [1, ...part(1, f64(1)), ...part(2, u32(1)), ...part(4, [1, 65, ...part(1, [4, 1, 2, 3, 4, 0, 0]), 0]), 0], 'port 0'],
    ['probe without time', [5, ...part(1, u32(1)), 0], 'missing probe time'],
  ])('rejects %s', (_name, bytes, error) => {
    const res = decodeControl(Uint8Array.from(bytes));
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
