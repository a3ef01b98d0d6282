// Flood defence of message 1, after WireGuard's mac1/cookie design (whitepaper section 5.4.4
// and 5.4.7), outside the Noise handshake it protects:
//
//   mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" | K), message 1 up to mac1)
//   mac2 = BLAKE2b-128(key = cookie, message 1 up to mac2)        (zero without a cookie)
//   K    = the psk in password mode; the responder's X25519 public key in key mode
//
// A message 1 without a valid mac1 is dropped before any asymmetric crypto and never
// answered, so only someone who knows the psk (or, in key mode, who the responder is) gets a
// reply at all: no scanning for hacloud nodes by their identity.
//
// Under load the responder answers a message 1 with a valid mac1 but no valid mac2 with a
// cookie reply instead of a message 2:
//   cookie       = BLAKE2b-128(key = secret, source "ip:port")   secret rotates every 2 min
//   cookie reply = [5 | version | 0 0] nonce(24) | XChaCha20-Poly1305(key = BLAKE2b-256(
//                  "cookie--" | K), nonce, cookie, AD = the message's mac1)
// 60 bytes against a 132-byte message 1, so it amplifies nothing. The initiator puts mac2 on
// its next message 1, which proves it receives packets at its source address: a spoofed
// flood cannot get past the cookie, and rate limits per source then mean something.
import { HANDSHAKE_INIT_HEADER_BYTES, MSG_COOKIE_REPLY, PROTOCOL_VERSION } from '../wire/header.js';
import type { Endpoint, Rng } from '../core/types.js';
import { TAG_BYTES, XCHACHA_NONCE_BYTES, blake2bParts, xchachaOpen, xchachaSeal } from './sodium.js';

export const MAC_BYTES = 16;
/** mac1 and mac2 at the end of message 1. */
export const MACS_BYTES = 2 * MAC_BYTES;
export const COOKIE_BYTES = 16;
export const COOKIE_REPLY_BYTES = HANDSHAKE_INIT_HEADER_BYTES + XCHACHA_NONCE_BYTES + COOKIE_BYTES + TAG_BYTES;
/** The responder's cookie secret changes this often (a cookie is valid until the next change but one). */
export const COOKIE_SECRET_ROTATE_MS = 120_000;
/** The initiator uses a cookie this long after it arrived (less than the rotation, so it is still valid). */
export const COOKIE_USE_MS = 110_000;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const MAC1_LABEL = utf8('mac1----');
const COOKIE_LABEL = utf8('cookie--');

/** The key that mac1 (label "mac1----") or the cookie reply (label "cookie--") uses for K. */
function labelledKey(label: Uint8Array, k: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  blake2bParts(out, [label, k]);
  return out;
}

export const mac1Key = (k: Uint8Array): Uint8Array => labelledKey(MAC1_LABEL, k);
export const cookieKey = (k: Uint8Array): Uint8Array => labelledKey(COOKIE_LABEL, k);

/** Keyed BLAKE2b-128 of `data` into `out`. */
export function mac(out: Uint8Array, key: Uint8Array, data: Uint8Array): void {
  blake2bParts(out, [data], key);
}

/** Constant-time comparison of two MACs (both MAC_BYTES). */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < MAC_BYTES; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Message 1 = `body` | mac1 | mac2, with mac2 zero when there is no cookie. */
export function sealInitiation(body: Uint8Array, mac1KeyBytes: Uint8Array, cookie: Uint8Array | null): Uint8Array {
  const msg = new Uint8Array(body.length + MACS_BYTES);
  msg.set(body);
  mac(msg.subarray(body.length, body.length + MAC_BYTES), mac1KeyBytes, body);
  if (cookie) mac(msg.subarray(body.length + MAC_BYTES), cookie, msg.subarray(0, body.length + MAC_BYTES));
  return msg;
}

/** Is mac1 of message 1 `msg` valid under `key`? */
export function mac1Valid(msg: Uint8Array, key: Uint8Array): boolean {
  const end = msg.length - MACS_BYTES;
  const expect = new Uint8Array(MAC_BYTES);
  mac(expect, key, msg.subarray(0, end));
  return macEqual(expect, msg.subarray(end, end + MAC_BYTES));
}

export function mac1Of(msg: Uint8Array): Uint8Array {
  return msg.subarray(msg.length - MACS_BYTES, msg.length - MAC_BYTES);
}

/** The responder's rotating cookie secrets. Sans-IO: time and randomness come in. */
export class CookieMaker {
  private current = new Uint8Array(32);
  private previous: Uint8Array | null = null;
  private rotatedAt = -Infinity;

  constructor(private readonly rng: Rng) {}

  private rotate(now: number): void {
    if (now - this.rotatedAt < COOKIE_SECRET_ROTATE_MS) return;
    this.previous = now - this.rotatedAt < 2 * COOKIE_SECRET_ROTATE_MS ? this.current : null;
    this.current = new Uint8Array(32);
    this.rng.fill(this.current);
    this.rotatedAt = now;
  }

  private cookieWith(secret: Uint8Array, source: Endpoint): Uint8Array {
    const c = new Uint8Array(COOKIE_BYTES);
    mac(c, secret, utf8(source));
    return c;
  }

  /** Does message 1 `msg` from `source` carry a mac2 made with a cookie we gave that source? */
  mac2Valid(now: number, source: Endpoint, msg: Uint8Array): boolean {
    this.rotate(now);
    const end = msg.length - MAC_BYTES;
    const got = msg.subarray(end);
    const expect = new Uint8Array(MAC_BYTES);
    for (const secret of [this.current, this.previous]) {
      if (!secret) continue;
      mac(expect, this.cookieWith(secret, source), msg.subarray(0, end));
      if (macEqual(expect, got)) return true;
    }
    return false;
  }

  /** The cookie reply to message 1 `msg` from `source`; `k` is K of mac1 (our psk or public key). */
  reply(now: number, source: Endpoint, msg: Uint8Array, k: Uint8Array): Uint8Array {
    this.rotate(now);
    const out = new Uint8Array(COOKIE_REPLY_BYTES);
    out[0] = MSG_COOKIE_REPLY;
    out[1] = PROTOCOL_VERSION;
    const nonce = out.subarray(HANDSHAKE_INIT_HEADER_BYTES, HANDSHAKE_INIT_HEADER_BYTES + XCHACHA_NONCE_BYTES);
    this.rng.fill(nonce);
    xchachaSeal(out.subarray(HANDSHAKE_INIT_HEADER_BYTES + XCHACHA_NONCE_BYTES), this.cookieWith(this.current, source),
      mac1Of(msg), nonce, cookieKey(k));
    return out;
  }
}

/** The cookie in reply `r` to our message 1 `sent` (made with mac1 key material `k`), or null. */
export function openCookieReply(r: Uint8Array, sent: Uint8Array, k: Uint8Array): Uint8Array | null {
  if (r.length !== COOKIE_REPLY_BYTES || r[0] !== MSG_COOKIE_REPLY || r[1] !== PROTOCOL_VERSION || r[2] !== 0 || r[3] !== 0) {
    return null;
  }
  const nonceEnd = HANDSHAKE_INIT_HEADER_BYTES + XCHACHA_NONCE_BYTES;
  const cookie = new Uint8Array(COOKIE_BYTES);
  return xchachaOpen(cookie, r.subarray(nonceEnd), mac1Of(sent), r.subarray(HANDSHAKE_INIT_HEADER_BYTES, nonceEnd), cookieKey(k))
    ? cookie : null;
}
