import { describe, expect, it } from 'vitest';
import type { AlgorithmName } from '../../src/crypto/aead.js';
import {
  createConfirm, createInitiation, createResponse, isFail, negotiateAlgorithm, readConfirm, readInitiation,
  readResponse, type HandshakeIdentity,
} from '../../src/crypto/handshake.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { SeededRng } from './crypto-harness.js';

const rng = new SeededRng(99);
const seed = (): Uint8Array => { const s = new Uint8Array(32); rng.fill(s); return s; };
const psk = new Uint8Array(32).fill(3);

function identity(algorithms: AlgorithmName[] = ['chacha20', 'aes256'], key = psk): HandshakeIdentity {
  const instanceId = new Uint8Array(8);
  rng.fill(instanceId);
  return { keyPair: generateKeyPair(rng), psk: key, algorithms, instanceId };
}

function ok<T extends object>(r: T | { ok: false; reason: string }): Exclude<T, { ok: false }> {
  if ('ok' in r && r.ok === false) throw new Error(`handshake step failed: ${r.reason}`);
  return r as Exclude<T, { ok: false }>;
}

/** Run the three messages by hand and return everything a test might poke at. */
function handshake(ini = identity(), res = identity()) {
  const i1 = createInitiation(ini, 0x11223344, seed());
  const r1 = ok(readInitiation(res, i1.message));
  const alg = negotiateAlgorithm(r1.initiatorAlgorithms, res.algorithms)!;
  const r2 = createResponse(res, r1, 0x55667788, seed(), alg)!;
  const i2 = ok(readResponse(i1, r2.message));
  const i3 = createConfirm(ini, i2)!;
  const r3 = ok(readConfirm(r2, i3.message));
  return { ini, res, i1, r1, r2, i2, i3, r3 };
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('handshake (sans-IO)', () => {
  it('happy path: both sides learn each other and derive matching per-direction keys', () => {
    const h = handshake();
    expect(h.r1.initiatorIndex).toBe(0x11223344);
    expect(h.i2.remoteIndex).toBe(0x55667788);
    expect(eq(h.i2.remoteStatic, h.res.keyPair.publicKey)).toBe(true);
    expect(eq(h.r3.remoteStatic, h.ini.keyPair.publicKey)).toBe(true);
    expect(eq(h.i2.remoteInstance, h.res.instanceId)).toBe(true);
    expect(eq(h.r3.remoteInstance, h.ini.instanceId)).toBe(true);
    expect(eq(h.i3.keys.sendKey, h.r3.keys.recvKey)).toBe(true);
    expect(eq(h.i3.keys.recvKey, h.r3.keys.sendKey)).toBe(true);
    expect(eq(h.i3.keys.sendKey, h.i3.keys.recvKey)).toBe(false);
    expect(h.i2.algorithm).toBe('chacha20');
  });

  it('gives every handshake fresh keys (ephemeral DH), even between the same identities', () => {
    const ini = identity();
    const res = identity();
    const k1 = handshake(ini, res).i3.keys.sendKey;
    const k2 = handshake(ini, res).i3.keys.sendKey;
    expect(eq(k1, k2)).toBe(false);
  });

  it('works in key mode (zero psk), and a psk mismatch fails at message 1', () => {
    const zero = new Uint8Array(32);
    handshake(identity(undefined, zero), identity(undefined, zero));
    const i1 = createInitiation(identity(undefined, new Uint8Array(32).fill(4)), 1, seed());
    expect(readInitiation(identity(), i1.message)).toEqual({ ok: false, reason: 'auth' });
    expect(readInitiation(identity(undefined, zero), createInitiation(identity(), 1, seed()).message))
      .toEqual({ ok: false, reason: 'auth' });
  });

  it('rejects a tampered byte in every field of message 1', () => {
    const res = identity();
    const m = createInitiation(identity(), 7, seed()).message;
    for (let i = 0; i < m.length; i++) {
      const bad = m.slice();
      bad[i]! ^= 0x10;
      const r = readInitiation(res, bad);
      expect(isFail(r), `byte ${i}`).toBe(true);
      expect((r as { reason: string }).reason).toBe(i < 4 ? 'malformed' : 'auth');
    }
  });

  it('rejects a tampered byte in every field of message 2, and the real one still works after', () => {
    const ini = identity();
    const res = identity();
    const i1 = createInitiation(ini, 7, seed());
    const r2 = createResponse(res, ok(readInitiation(res, i1.message)), 9, seed(), 'chacha20')!;
    for (let i = 0; i < r2.message.length; i++) {
      const bad = r2.message.slice();
      bad[i]! ^= 0x10;
      const r = readResponse(i1, bad);
      expect(isFail(r), `byte ${i}`).toBe(true);
      const expected = i < 4 ? 'malformed' : i >= 8 && i < 12 ? 'unknown-session' : 'auth';
      expect((r as { reason: string }).reason, `byte ${i}`).toBe(expected);
    }
    ok(readResponse(i1, r2.message));
  });

  it('rejects a tampered byte in every field of message 3, and the real one still works after', () => {
    const h = handshake();
    for (let i = 0; i < h.i3.message.length; i++) {
      const bad = h.i3.message.slice();
      bad[i]! ^= 0x10;
      const r = readConfirm(h.r2, bad);
      expect(isFail(r), `byte ${i}`).toBe(true);
      const expected = i < 4 ? 'malformed' : i < 8 ? 'unknown-session' : 'auth';
      expect((r as { reason: string }).reason, `byte ${i}`).toBe(expected);
    }
    ok(readConfirm(h.r2, h.i3.message));
  });

  it('rejects truncated and extended messages', () => {
    const h = handshake();
    const cases = [
      [h.i1.message, (m: Uint8Array) => readInitiation(h.res, m)],
      [h.r2.message, (m: Uint8Array) => readResponse(h.i1, m)],
      [h.i3.message, (m: Uint8Array) => readConfirm(h.r2, m)],
    ] as const;
    for (const [msg, read] of cases) {
      for (let len = 0; len < msg.length; len++) expect(isFail(read(msg.subarray(0, len))), `len ${len}`).toBe(true);
      const longer = new Uint8Array(msg.length + 1);
      longer.set(msg);
      expect(isFail(read(longer))).toBe(true);
      expect(isFail(read(new Uint8Array(600)))).toBe(true);
    }
  });

  it('binds message 3 to its own handshake (no mixing between handshakes)', () => {
    const ini = identity();
    const res = identity();
    const h1 = handshake(ini, res);
    const h2 = handshake(ini, res);
    // same indices, so only the transcript tells them apart
    expect(readConfirm(h1.r2, h2.i3.message)).toEqual({ ok: false, reason: 'auth' });
  });

  it('negotiates by the smallest rank sum, ties to the initiator, plain only if both list it', () => {
    expect(negotiateAlgorithm(['chacha20', 'aes256'], ['chacha20', 'aes256'])).toBe('chacha20');
    expect(negotiateAlgorithm(['aes256', 'chacha20'], ['chacha20', 'aes256'])).toBe('aes256'); // tie -> initiator
    expect(negotiateAlgorithm(['chacha20', 'aes256'], ['aes256', 'chacha20'])).toBe('chacha20'); // tie -> initiator
    expect(negotiateAlgorithm(['plain', 'chacha20', 'aes256'], ['aes256'])).toBe('aes256');
    expect(negotiateAlgorithm(['aes256', 'plain', 'chacha20'], ['chacha20', 'plain'])).toBe('plain'); // 1+1 = 2+0: tie -> initiator
    expect(negotiateAlgorithm(['chacha20', 'aes256'], ['plain'])).toBeUndefined();
    expect(negotiateAlgorithm(['plain'], ['chacha20', 'aes256'])).toBeUndefined();
  });

  it('carries both algorithm lists so the initiator can check the choice', () => {
    const h = handshake(identity(['aes256', 'chacha20']), identity(['chacha20']));
    expect(h.r1.initiatorAlgorithms).toEqual(['aes256', 'chacha20']);
    expect(h.i2.remoteAlgorithms).toEqual(['chacha20']);
    expect(h.i2.algorithm).toBe('chacha20');
  });
});
