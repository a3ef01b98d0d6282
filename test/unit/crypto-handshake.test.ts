import { describe, expect, it } from 'vitest';
import type { AlgorithmName } from '../../src/crypto/aead.js';
import {
  INIT_BODY_BYTES, INIT_BYTES, NOISE_PROTOCOL_NAME, createConfirm, createInitiation, createResponse, isFail,
  negotiateAlgorithm, readConfirm, readInitiation, readResponse, type HandshakeIdentity,
} from '../../src/crypto/handshake.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { MACS_BYTES } from '../../src/crypto/macs.js';
import { HandshakeState, XX_PSK0 } from '../../src/crypto/noise.js';
import { SeededRng } from './crypto-harness.js';

const rng = new SeededRng(99);
const key = (): Uint8Array => { const s = new Uint8Array(32); rng.fill(s); return s; };
const psk = new Uint8Array(32).fill(3);
const WALL = 1_800_000_000_000;

function identity(algorithms: AlgorithmName[] = ['chacha20', 'aes256'], k = psk): HandshakeIdentity {
  const instanceId = new Uint8Array(8);
  rng.fill(instanceId);
  return { keyPair: generateKeyPair(rng), psk: k, algorithms, instanceId };
}

function ok<T extends object>(r: T | { ok: false; reason: string }): Exclude<T, { ok: false }> {
  if ('ok' in r && r.ok === false) throw new Error(`handshake step failed: ${r.reason}`);
  return r as Exclude<T, { ok: false }>;
}

/** Message 1 as sent: body plus (here zero) macs; readInitiation does not look at the macs. */
const withMacs = (body: Uint8Array): Uint8Array => { const m = new Uint8Array(body.length + MACS_BYTES); m.set(body); return m; };

/** Run the three messages by hand and return everything a test might poke at. */
function handshake(ini = identity(), res = identity()) {
  const i1 = createInitiation(ini, 0x11223344, key(), WALL);
  const m1 = withMacs(i1.body);
  const r1 = ok(readInitiation(res, m1));
  const alg = negotiateAlgorithm(r1.initiatorAlgorithms, res.algorithms)!;
  const r2 = createResponse(res, r1, 0x55667788, key(), alg)!;
  const i2 = ok(readResponse(i1, r2.message));
  const i3 = createConfirm(ini, i2)!;
  const r3 = ok(readConfirm(r2, i3.message));
  return { ini, res, i1, m1, r1, r2, i2, i3, r3 };
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('handshake (sans-IO)', () => {
  it('happy path: both sides learn each other and derive matching per-direction keys', () => {
    const h = handshake();
    expect(h.m1).toHaveLength(INIT_BYTES);
    expect(h.r1.initiatorIndex).toBe(0x11223344);
    expect(h.r1.timestampMs).toBe(WALL);
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

  it('is plain Noise_XXpsk0 inside the framing: an independent HandshakeState reads every message', () => {
    const h = handshake();
    const prologue = new Uint8Array([...new TextEncoder().encode('hacloud handshake'), 3]); // protocol version 3 (node records)
    const observer = new HandshakeState({
      protocolName: NOISE_PROTOCOL_NAME, pattern: XX_PSK0, initiator: false, prologue,
      s: { publicKey: h.res.keyPair.publicKey, secretKey: h.res.keyPair.secretKey }, psks: [psk],
    });
    expect(observer.readMessage(h.m1.subarray(4, INIT_BODY_BYTES))).not.toBeNull();
    expect(NOISE_PROTOCOL_NAME).toBe('Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b');
  });

  it('message 1 is never smaller than message 2 (a reply amplifies nothing)', () => {
    const eight: AlgorithmName[] = ['chacha20', 'aes256', 'plain'];
    const h = handshake(identity(['chacha20']), identity(eight));
    expect(h.m1.length).toBeGreaterThanOrEqual(h.r2.message.length + 8 - eight.length);
  });

  it('gives every handshake fresh keys (ephemeral DH), even between the same identities', () => {
    const ini = identity();
    const res = identity();
    expect(eq(handshake(ini, res).i3.keys.sendKey, handshake(ini, res).i3.keys.sendKey)).toBe(false);
  });

  it('works in key mode (zero psk), and a psk mismatch fails at message 1', () => {
    const zero = new Uint8Array(32);
    handshake(identity(undefined, zero), identity(undefined, zero));
    const i1 = createInitiation(identity(undefined, new Uint8Array(32).fill(4)), 1, key(), WALL);
    expect(readInitiation(identity(), withMacs(i1.body))).toEqual({ ok: false, reason: 'auth' });
  });

  it('rejects a tampered byte in every field of message 1', () => {
    const res = identity();
    const m = withMacs(createInitiation(identity(), 7, key(), WALL).body);
    for (let i = 0; i < INIT_BODY_BYTES; i++) {
      const bad = m.slice();
      bad[i]! ^= 0x10;
      const r = readInitiation(res, bad);
      expect((r as { reason: string }).reason, `byte ${i}`).toBe(i < 4 ? 'malformed' : 'auth');
    }
  });

  it('rejects a tampered byte in every field of message 2, and the real one still works after', () => {
    const h = handshake();
    const i1 = createInitiation(h.ini, 7, key(), WALL);
    const r2 = createResponse(h.res, ok(readInitiation(h.res, withMacs(i1.body))), 9, key(), 'chacha20')!;
    for (let i = 0; i < r2.message.length; i++) {
      const bad = r2.message.slice();
      bad[i]! ^= 0x10;
      const r = readResponse(i1, bad);
      expect((r as { reason: string }).reason, `byte ${i}`).toBe(i < 4 ? 'malformed' : i < 8 ? 'unknown-session' : 'auth');
    }
    ok(readResponse(i1, r2.message));
  });

  it('rejects a tampered byte in every field of message 3, and the real one still works after', () => {
    const h = handshake();
    for (let i = 0; i < h.i3.message.length; i++) {
      const bad = h.i3.message.slice();
      bad[i]! ^= 0x10;
      const r = readConfirm(h.r2, bad);
      expect((r as { reason: string }).reason, `byte ${i}`).toBe(i < 4 ? 'malformed' : i < 8 ? 'unknown-session' : 'auth');
    }
    ok(readConfirm(h.r2, h.i3.message));
  });

  it('rejects truncated and extended messages', () => {
    const h = handshake();
    const cases = [
      [h.m1, (m: Uint8Array) => readInitiation(h.res, m)],
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

  it('refuses a second spelling of a static key (bit 255 set: the same X25519 key, another id)', () => {
    // Before, the id was the Ed25519 key, and P and -P converted to one X25519 key: one node,
    // two ids. Now the id is the X25519 key; its non-canonical spellings work in every DH,
    // so the handshake itself must refuse them.
    for (const role of ['initiator', 'responder'] as const) {
      const real = identity();
      const alias = { ...real, keyPair: { ...real.keyPair, publicKey: real.keyPair.publicKey.slice() } };
      alias.keyPair.publicKey[31]! |= 0x80;
      const ini = role === 'initiator' ? alias : identity();
      const res = role === 'responder' ? alias : identity();
      const i1 = createInitiation(ini, 1, key(), WALL);
      const r2 = createResponse(res, ok(readInitiation(res, withMacs(i1.body))), 2, key(), 'chacha20')!;
      const i2 = readResponse(i1, r2.message);
      if (role === 'responder') {
        expect(i2).toEqual({ ok: false, reason: 'auth' });
        continue;
      }
      const i3 = createConfirm(ini, ok(i2))!;
      expect(readConfirm(r2, i3.message)).toEqual({ ok: false, reason: 'auth' });
    }
  });

  it('binds message 3 to its own handshake (no mixing between handshakes)', () => {
    const ini = identity();
    const res = identity();
    const h1 = handshake(ini, res);
    const h2 = handshake(ini, res);
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
