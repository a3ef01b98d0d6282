// A small Noise core (The Noise Protocol Framework, revision 34): CipherState, SymmetricState
// and HandshakeState for DH 25519, cipher ChaChaPoly and hash BLAKE2b, driven by a pattern
// given as token lists. hacloud uses one pattern, XXpsk0 (handshake.ts); the token-driven
// form is what lets test/unit/crypto-noise.test.ts check it against published vectors of
// neighbouring patterns (XXpsk0+psk1) byte for byte.
//
// Exactly as the spec defines:
//   HASH = BLAKE2b-512, HASHLEN 64, HMAC-BLAKE2b (block 128) and HKDF as in section 4.3;
//   cipher keys are the first 32 bytes of HKDF outputs; nonce = 4 zero bytes + 64-bit LE n;
//   InitializeSymmetric: h = protocol name padded with zeros to 64 bytes (or hashed if
//   longer), ck = h, then MixHash(prologue);
//   psk modifiers: a `psk` token is MixKeyAndHash(psk), and in a handshake with any psk every
//   `e` token also does MixKey(e.public) after MixHash(e.public) (section 9.2).
// ReadMessage is all-or-nothing: a message that fails leaves the state as it was, so a forged
// packet cannot break a handshake in progress.
import { createHmac } from 'node:crypto';
import { TAG_BYTES, X25519_BYTES, blake2b, chachaOpenDetached, chachaSealDetached, x25519, x25519Base } from './sodium.js';

export const HASH_LEN = 64;
export const KEY_LEN = 32;
export const DH_LEN = X25519_BYTES;

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

/** -> psk, e   <- e, ee, s, es   -> s, se */
export const XX_PSK0: readonly (readonly Token[])[] = [['psk', 'e'], ['e', 'ee', 's', 'es'], ['s', 'se']];

export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** X25519 key pair of a 32-byte private key. */
export function dhKeyPair(secretKey: Uint8Array): DhKeyPair {
  if (secretKey.length !== DH_LEN) throw new RangeError('an X25519 private key has 32 bytes');
  return { publicKey: x25519Base(secretKey), secretKey: new Uint8Array(secretKey) };
}

function hash(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_LEN);
  blake2b(out, data);
  return out;
}

function hmac(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const m = createHmac('blake2b512', key);
  for (const d of data) m.update(d);
  return new Uint8Array(m.digest());
}

/** HKDF(chaining key, input key material) with 2 or 3 outputs of HASH_LEN bytes. */
export function hkdf(ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const temp = hmac(ck, ikm);
  const o1 = hmac(temp, Uint8Array.of(1));
  const o2 = hmac(temp, o1, Uint8Array.of(2));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(temp, o2, Uint8Array.of(3))];
}

/** The bytes of `parts` one after another, in a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** 4 zero bytes + n as 64-bit little-endian (n stays far below 2^53 in a handshake). */
function nonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
  return out;
}

export class CipherState {
  constructor(public k: Uint8Array | null = null, public n = 0) {}

  encryptWithAd(ad: Uint8Array, pt: Uint8Array): Uint8Array {
    if (!this.k) return pt.slice();
    const out = new Uint8Array(pt.length + TAG_BYTES);
    chachaSealDetached(out.subarray(0, pt.length), out.subarray(pt.length), pt, ad, nonce(this.n), this.k);
    this.n++;
    return out;
  }

  /** null if the tag does not verify (then n is unchanged). */
  decryptWithAd(ad: Uint8Array, ct: Uint8Array): Uint8Array | null {
    if (!this.k) return ct.slice();
    if (ct.length < TAG_BYTES) return null;
    const len = ct.length - TAG_BYTES;
    const out = new Uint8Array(len);
    if (!chachaOpenDetached(out, ct.subarray(0, len), ct.subarray(len), ad, nonce(this.n), this.k)) return null;
    this.n++;
    return out;
  }
}

export class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  readonly cs = new CipherState();

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_LEN) {
      this.h = new Uint8Array(HASH_LEN);
      this.h.set(name);
    } else {
      this.h = hash(name);
    }
    this.ck = this.h;
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, ikm, 2);
    this.ck = ck!;
    this.cs.k = k!.slice(0, KEY_LEN);
    this.cs.n = 0;
  }

  mixHash(data: Uint8Array): void {
    this.h = hash(concat(this.h, data));
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, th, tk] = hkdf(this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(th!);
    this.cs.k = tk!.slice(0, KEY_LEN);
    this.cs.n = 0;
  }

  encryptAndHash(pt: Uint8Array): Uint8Array {
    const c = this.cs.encryptWithAd(this.h, pt);
    this.mixHash(c);
    return c;
  }

  decryptAndHash(c: Uint8Array): Uint8Array | null {
    const pt = this.cs.decryptWithAd(this.h, c);
    if (pt) this.mixHash(c);
    return pt;
  }

  clone(): SymmetricState {
    const c = Object.create(SymmetricState.prototype) as SymmetricState;
    return Object.assign(c, { ck: this.ck, h: this.h, cs: new CipherState(this.cs.k, this.cs.n) });
  }

  /** The two transport keys: initiator -> responder first. */
  split(): [Uint8Array, Uint8Array] {
    const [k1, k2] = hkdf(this.ck, new Uint8Array(0), 2);
    return [k1!.slice(0, KEY_LEN), k2!.slice(0, KEY_LEN)];
  }
}

export interface HandshakeOptions {
  protocolName: string;
  pattern: readonly (readonly Token[])[];
  initiator: boolean;
  prologue: Uint8Array;
  /** Our static key pair. */
  s: DhKeyPair;
  /**
   * Our ephemeral private key (the caller draws it from its Rng). A responder may leave it
   * out until it answers (setEphemeral), so reading a message 1 costs no key generation.
   */
  e?: Uint8Array;
  /** psk for each psk token, in order. */
  psks?: readonly Uint8Array[];
}

/** One handshake in progress. Not reusable: make a new one per attempt. */
export class HandshakeState {
  readonly initiator: boolean;
  private readonly ss: SymmetricState;
  private readonly pattern: readonly (readonly Token[])[];
  private readonly s: DhKeyPair;
  private eKeys: DhKeyPair | null;
  private readonly psks: readonly Uint8Array[];
  private readonly usesPsk: boolean;
  private pskIndex = 0;
  private msgIndex = 0;
  /** The peer's ephemeral and static public keys, once received. */
  re: Uint8Array | null = null;
  rs: Uint8Array | null = null;

  constructor(o: HandshakeOptions) {
    this.initiator = o.initiator;
    this.pattern = o.pattern;
    this.s = o.s;
    this.eKeys = o.e ? dhKeyPair(o.e) : null;
    this.psks = o.psks ?? [];
    this.usesPsk = o.pattern.some((m) => m.includes('psk'));
    this.ss = new SymmetricState(o.protocolName);
    this.ss.mixHash(o.prologue);
  }

  /** Our ephemeral key pair (set in the constructor or by setEphemeral). */
  get e(): DhKeyPair {
    if (!this.eKeys) throw new Error('noise: no ephemeral key');
    return this.eKeys;
  }

  setEphemeral(secretKey: Uint8Array): void {
    this.eKeys = dhKeyPair(secretKey);
  }

  /** The transcript hash h (channel binding; final once the handshake is complete). */
  get handshakeHash(): Uint8Array {
    return this.ss.h;
  }

  get complete(): boolean {
    return this.msgIndex >= this.pattern.length;
  }

  /** Is it our turn to write? */
  get ourTurn(): boolean {
    return !this.complete && (this.msgIndex % 2 === 0) === this.initiator;
  }

  /** The next message carrying `payload`; null if a DH result would be all zero (low-order key). */
  writeMessage(payload: Uint8Array): Uint8Array | null {
    if (!this.ourTurn) throw new Error('noise: not our turn to write');
    const parts: Uint8Array[] = [];
    for (const t of this.pattern[this.msgIndex]!) {
      switch (t) {
        case 'e':
          parts.push(this.e.publicKey);
          this.ss.mixHash(this.e.publicKey);
          if (this.usesPsk) this.ss.mixKey(this.e.publicKey);
          break;
        case 's':
          parts.push(this.ss.encryptAndHash(this.s.publicKey));
          break;
        case 'psk':
          this.ss.mixKeyAndHash(this.nextPsk());
          break;
        default:
          if (!this.dhToken(t)) return null;
      }
    }
    parts.push(this.ss.encryptAndHash(payload));
    this.msgIndex++;
    return concat(...parts);
  }

  /** The payload of the peer's next message, or null (state unchanged) if it does not verify. */
  readMessage(msg: Uint8Array): Uint8Array | null {
    if (this.complete || this.ourTurn) return null;
    const saved = this.save();
    const payload = this.tryRead(msg);
    if (payload === null) this.restore(saved);
    return payload;
  }

  /** An independent copy (to read a message that may be refused after it verified). */
  clone(): HandshakeState {
    const c = Object.create(HandshakeState.prototype) as HandshakeState;
    Object.assign(c, this);
    (c as unknown as { ss: SymmetricState }).ss = this.ss.clone();
    return c;
  }

  /** Transport keys after the last message: [send, receive] from our side. */
  split(): { sendKey: Uint8Array; recvKey: Uint8Array } {
    if (!this.complete) throw new Error('noise: handshake not complete');
    const [k1, k2] = this.ss.split();
    return this.initiator ? { sendKey: k1, recvKey: k2 } : { sendKey: k2, recvKey: k1 };
  }

  private tryRead(msg: Uint8Array): Uint8Array | null {
    let off = 0;
    const take = (n: number): Uint8Array | null => {
      if (off + n > msg.length) return null;
      const v = msg.slice(off, off + n);
      off += n;
      return v;
    };
    for (const t of this.pattern[this.msgIndex]!) {
      switch (t) {
        case 'e': {
          const re = take(DH_LEN);
          if (!re) return null;
          this.re = re;
          this.ss.mixHash(re);
          if (this.usesPsk) this.ss.mixKey(re);
          break;
        }
        case 's': {
          const c = take(DH_LEN + (this.ss.cs.k ? TAG_BYTES : 0));
          const rs = c && this.ss.decryptAndHash(c);
          if (!rs) return null;
          this.rs = rs;
          break;
        }
        case 'psk':
          this.ss.mixKeyAndHash(this.nextPsk());
          break;
        default:
          if (!this.dhToken(t)) return null;
      }
    }
    const payload = this.ss.decryptAndHash(msg.subarray(off));
    if (payload === null) return null;
    this.msgIndex++;
    return payload;
  }

  private dhToken(t: 'ee' | 'es' | 'se' | 'ss'): boolean {
    // es: initiator's e with responder's s; se: initiator's s with responder's e
    const mineIsE = t === 'ee' || (t === 'es' ? this.initiator : t === 'se' ? !this.initiator : false);
    const theirsIsE = t === 'ee' || (t === 'es' ? !this.initiator : t === 'se' ? this.initiator : false);
    const mine = mineIsE ? this.e.secretKey : this.s.secretKey;
    const theirs = theirsIsE ? this.re : this.rs;
    if (!theirs) return false;
    const shared = new Uint8Array(DH_LEN);
    if (!x25519(shared, mine, theirs)) return false;
    this.ss.mixKey(shared);
    return true;
  }

  private nextPsk(): Uint8Array {
    const psk = this.psks[this.pskIndex++];
    if (!psk || psk.length !== 32) throw new Error('noise: missing 32-byte psk');
    return psk;
  }

  private save() {
    return {
      ck: this.ss.ck, h: this.ss.h, k: this.ss.cs.k, n: this.ss.cs.n,
      re: this.re, rs: this.rs, pskIndex: this.pskIndex, msgIndex: this.msgIndex,
    };
  }

  private restore(v: ReturnType<HandshakeState['save']>): void {
    this.ss.ck = v.ck;
    this.ss.h = v.h;
    this.ss.cs.k = v.k;
    this.ss.cs.n = v.n;
    this.re = v.re;
    this.rs = v.rs;
    this.pskIndex = v.pskIndex;
    this.msgIndex = v.msgIndex;
  }
}
