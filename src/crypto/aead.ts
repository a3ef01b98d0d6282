// Per-direction AEAD of the data channel, behind one interface so the channel does not care
// which algorithm was negotiated.
//
// Nonce (both algorithms): 12 bytes = 4 zero bytes + the 64-bit packet counter,
// little-endian. A key is used with each counter at most once (the channel never reuses a
// counter and rekeys long before MAX_COUNTER).
//
// Implementations (createAead's `impl`):
//   native    both algorithms through the OpenSSL inside the node binary, via the hacloud
//             addon (native/aead.c, native-aead.ts): key set once, no allocation per packet;
//             ~0.8 us per 1400-byte AES-GCM seal, ~1.4 us ChaCha20 (bench/dataplane-aead.ts).
//             The default whenever the addon is built.
//   js        the fallback without the addon:
//     chacha20  ChaCha20-Poly1305-IETF from libsodium, sealed/opened in place, no allocation.
//     aes256    AES-256-GCM from node:crypto (sodium-native has no AES-GCM). node:crypto has
//               no "into this buffer" API, so each packet allocates a Cipher object and the
//               output Buffer (~5 us per seal). The key is a KeyObject (measured ~20 %
//               faster than passing raw key bytes per packet).
// All produce the same bytes (test/unit/crypto-aead-native.test.ts checks each against the
// others), so two nodes never need to agree on the implementation.
//   plain     authenticated but not encrypted: the payload travels in clear, followed by a
//             16-byte tag = AES-256-GCM over an empty plaintext with header and payload as
//             associated data (GMAC), under the session key and the packet counter as nonce;
//             so plain has the ciphers' overhead and nobody who lacks the session key can
//             forge or alter a packet (before, anyone who saw a session index could). Native
//             when the addon is built (no allocation), node:crypto otherwise. Only negotiated
//             when both sides list it (see handshake.ts); the CLI warns loudly.
//
// This module wraps primitives; it is not part of the sans-IO protocol logic, which is why
// it may import node:crypto.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { CHACHA_NONCE_BYTES, TAG_BYTES, chachaOpenDetached, chachaSealDetached, wipe } from './sodium.js';
import { createNativeAead, nativeAeadAvailable } from './native-aead.js';
import type { NativeAeadHandle } from '../native/addon.js';
import { writeCounter } from '../wire/header.js';

export type AlgorithmName = 'chacha20' | 'aes256' | 'plain';

/** Wire ids of the algorithms (handshake payloads carry these). */
export const ALGORITHM_IDS: Readonly<Record<AlgorithmName, number>> = { plain: 0, chacha20: 1, aes256: 2 };
export const ALGORITHM_NAMES: readonly AlgorithmName[] = ['chacha20', 'aes256', 'plain'];
/**
 * Preference of a SecureChannel created without `algorithms` (tests, simulator). The daemon
 * always passes the configured order, whose default is in config/defaults.ts.
 */
export const DEFAULT_ALGORITHMS: readonly AlgorithmName[] = ['chacha20', 'aes256'];

export function algorithmById(id: number): AlgorithmName | undefined {
  return ALGORITHM_NAMES.find((n) => ALGORITHM_IDS[n] === id);
}

/** Parse an `--algorithm` / `crypto.algorithms` value; one-line error naming `what`. */
export function parseAlgorithm(text: string, what = 'algorithm'): AlgorithmName {
  const t = text.trim().toLowerCase();
  const aliases: Record<string, AlgorithmName> = {
    chacha20: 'chacha20', 'chacha20-poly1305': 'chacha20', aes256: 'aes256', 'aes-256-gcm': 'aes256',
    plain: 'plain',
  };
  const name = aliases[t];
  if (!name) throw new Error(`${what}: unknown algorithm ${JSON.stringify(text)} (expected chacha20, aes256 or plain)`);
  return name;
}

export interface Aead {
  readonly algorithm: AlgorithmName;
  /** Bytes the tag adds (16). */
  readonly tagBytes: number;
  /**
   * Encrypt `plaintext` into `out` (ciphertext then tag) and return the bytes written
   * (plaintext.length + tagBytes). `out` may start at the same memory as `plaintext`
   * (in place); otherwise the two must not overlap.
   */
  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number;
  /**
   * Verify and decrypt `ciphertext` (which ends in the tag) into `out`; returns the
   * plaintext length, or -1 if it is too short or the tag does not verify (then `out`'s
   * content is unspecified). Same overlap rule as seal.
   */
  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number;
  /**
   * open() of a received packet: packet[0, aadBytes) is the associated data, the rest the
   * ciphertext and tag; -1 also when the packet is shorter than aadBytes. The native
   * implementation needs no view of the parts, so opening a datagram allocates nothing.
   */
  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number;
  /** Wipe the key. */
  destroy(): void;
}

/** openPacket() through open(), for the implementations that take views anyway. */
function openPacketViaViews(aead: Aead, counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number {
  if (packet.length < aadBytes) return -1;
  return aead.open(counter, packet.subarray(0, aadBytes), packet.subarray(aadBytes), out);
}

function writeNonce(nonce: Uint8Array, counter: number): void {
  writeCounter(nonce, 4, counter); // bytes 0..4 stay zero
}

class ChaChaAead implements Aead {
  readonly algorithm = 'chacha20' as const;
  readonly tagBytes = TAG_BYTES;
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(CHACHA_NONCE_BYTES);

  constructor(key: Uint8Array) {
    this.key = new Uint8Array(key);
  }

  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number {
    const len = plaintext.length;
    // the binding aborts the process on a short tag view, so check here
    if (out.length < len + TAG_BYTES) throw new RangeError('AEAD output buffer too small');
    writeNonce(this.nonce, counter);
    chachaSealDetached(out.subarray(0, len), out.subarray(len, len + TAG_BYTES), plaintext, aad, this.nonce, this.key);
    return len + TAG_BYTES;
  }

  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number {
    const len = ciphertext.length - TAG_BYTES;
    if (len < 0 || out.length < len) return -1;
    writeNonce(this.nonce, counter);
    const ok = chachaOpenDetached(out.subarray(0, len), ciphertext.subarray(0, len),
      ciphertext.subarray(len), aad, this.nonce, this.key);
    return ok ? len : -1;
  }

  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number {
    return openPacketViaViews(this, counter, packet, aadBytes, out);
  }

  destroy(): void {
    wipe(this.key);
  }
}

class AesGcmAead implements Aead {
  readonly algorithm = 'aes256' as const;
  readonly tagBytes = TAG_BYTES;
  private readonly key: KeyObject;
  private readonly nonce = new Uint8Array(12);

  constructor(key: Uint8Array) {
    this.key = createSecretKey(key);
  }

  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number {
    const len = plaintext.length;
    writeNonce(this.nonce, counter);
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ct = cipher.update(plaintext);
    const rest = cipher.final(); // GCM is a stream mode: always empty, but part of the API contract
    out.set(ct, 0);
    if (rest.length) out.set(rest, ct.length);
    out.set(cipher.getAuthTag(), len);
    return len + TAG_BYTES;
  }

  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number {
    const len = ciphertext.length - TAG_BYTES;
    if (len < 0 || out.length < len) return -1;
    writeNonce(this.nonce, counter);
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(ciphertext.subarray(len));
    const pt = decipher.update(ciphertext.subarray(0, len));
    try {
      decipher.final();
    } catch {
      return -1; // tag mismatch: pt is unauthenticated and is discarded
    }
    out.set(pt, 0);
    return len;
  }

  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number {
    return openPacketViaViews(this, counter, packet, aadBytes, out);
  }

  destroy(): void {
    // KeyObject memory is owned by OpenSSL and freed with the object; nothing to wipe from JS.
  }
}

/** Either algorithm on the addon's OpenSSL contexts; checks sizes so misuse is a RangeError. */
class NativeAead implements Aead {
  readonly tagBytes = TAG_BYTES;
  private readonly handle: NativeAeadHandle;

  constructor(readonly algorithm: 'chacha20' | 'aes256', key: Uint8Array) {
    this.handle = createNativeAead(ALGORITHM_IDS[algorithm] as 1 | 2, key);
  }

  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number {
    return this.handle.seal(counter, aad, plaintext, out);
  }

  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number {
    return this.handle.open(counter, aad, ciphertext, out);
  }

  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number {
    return this.handle.openPacket(counter, packet, aadBytes, out);
  }

  destroy(): void {
    this.handle.destroy();
  }
}

/** GMAC of one message (`data` as AES-256-GCM's associated data) into `tag`; 0 or -1 (verify). */
interface Gmac {
  sign(counter: number, data: Uint8Array, tag: Uint8Array): void;
  /** Is packet[len - 16, len) the tag of packet[0, len - 16)? */
  verifyPacket(counter: number, packet: Uint8Array): boolean;
  destroy(): void;
}

const NO_BYTES = new Uint8Array(0);

class NativeGmac implements Gmac {
  private readonly handle: NativeAeadHandle;

  constructor(key: Uint8Array) {
    this.handle = createNativeAead(ALGORITHM_IDS.aes256 as 2, key);
  }

  sign(counter: number, data: Uint8Array, tag: Uint8Array): void {
    this.handle.seal(counter, data, NO_BYTES, tag);
  }

  verifyPacket(counter: number, packet: Uint8Array): boolean {
    return this.handle.openPacket(counter, packet, packet.length - TAG_BYTES, NO_BYTES) === 0;
  }

  destroy(): void {
    this.handle.destroy();
  }
}

class JsGmac implements Gmac {
  private readonly key: KeyObject;
  private readonly nonce = new Uint8Array(12);

  constructor(key: Uint8Array) {
    this.key = createSecretKey(key);
  }

  sign(counter: number, data: Uint8Array, tag: Uint8Array): void {
    writeNonce(this.nonce, counter);
    const c = createCipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    c.setAAD(data);
    c.final();
    tag.set(c.getAuthTag());
  }

  verifyPacket(counter: number, packet: Uint8Array): boolean {
    writeNonce(this.nonce, counter);
    const end = packet.length - TAG_BYTES;
    const d = createDecipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    d.setAAD(packet.subarray(0, end));
    d.setAuthTag(packet.subarray(end));
    try {
      d.final();
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {}
}

/**
 * `plain`: payload in clear, then GMAC(header | payload). The tag input must be contiguous:
 * seal() uses the caller's buffer when the header sits right before `out` (the channel's
 * layout, so nothing is copied or allocated per packet), else copies into a scratch buffer.
 */
class PlainAead implements Aead {
  readonly algorithm = 'plain' as const;
  readonly tagBytes = TAG_BYTES;
  private readonly gmac: Gmac;
  private readonly tag = new Uint8Array(TAG_BYTES);
  private scratch: Uint8Array = new Uint8Array(0);
  /** Last view of header | payload handed to the GMAC, reused while it covers the same bytes. */
  private view: Uint8Array = new Uint8Array(0);

  constructor(key: Uint8Array, native: boolean) {
    this.gmac = native ? new NativeGmac(key) : new JsGmac(key);
  }

  seal(counter: number, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): number {
    const len = plaintext.length;
    if (out.length < len + TAG_BYTES) throw new RangeError('AEAD output buffer too small');
    if (plaintext.buffer !== out.buffer || plaintext.byteOffset !== out.byteOffset) out.set(plaintext, 0);
    const total = aad.length + len;
    if (aad.buffer === out.buffer && aad.byteOffset + aad.length === out.byteOffset) {
      const v = this.view;
      if (v.buffer !== out.buffer || v.byteOffset !== aad.byteOffset || v.length !== total) {
        this.view = new Uint8Array(out.buffer, aad.byteOffset, total);
      }
    } else {
      if (this.scratch.length < total) this.scratch = new Uint8Array(total);
      this.scratch.set(aad, 0);
      this.scratch.set(plaintext, aad.length);
      this.view = this.scratch.subarray(0, total);
    }
    this.gmac.sign(counter, this.view, this.tag);
    out.set(this.tag, len);
    return len + TAG_BYTES;
  }

  open(counter: number, aad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): number {
    const total = aad.length + ciphertext.length;
    if (this.scratch.length < total) this.scratch = new Uint8Array(total);
    this.scratch.set(aad, 0);
    this.scratch.set(ciphertext, aad.length);
    return this.openPacket(counter, this.scratch.subarray(0, total), aad.length, out);
  }

  /** Verify the tag, then copy the body to the front of `out`: no views, no allocation. */
  openPacket(counter: number, packet: Uint8Array, aadBytes: number, out: Uint8Array): number {
    const n = packet.length - aadBytes - TAG_BYTES;
    if (n < 0 || out.length < n || !this.gmac.verifyPacket(counter, packet)) return -1;
    if (packet.length <= out.length && packet.buffer !== out.buffer) {
      out.set(packet, 0);
      out.copyWithin(0, aadBytes, aadBytes + n);
    } else {
      out.set(packet.subarray(aadBytes, aadBytes + n), 0);
    }
    return n;
  }

  destroy(): void {
    this.gmac.destroy();
  }
}

export const AEAD_KEY_BYTES = 32;

/** Which code does the cryptography: `auto` is `native` when the addon is built, else `js`. */
export type AeadImpl = 'auto' | 'native' | 'js';

/** An AEAD for one direction of one session. `key` is copied. */
export function createAead(algorithm: AlgorithmName, key: Uint8Array, impl: AeadImpl = 'auto'): Aead {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError('AEAD keys have 32 bytes');
  const native = impl === 'native' || (impl === 'auto' && nativeAeadAvailable());
  if (algorithm === 'plain') return new PlainAead(key, native);
  if (native) return new NativeAead(algorithm, key);
  return algorithm === 'chacha20' ? new ChaChaAead(key) : new AesGcmAead(key);
}
