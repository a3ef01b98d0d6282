// Node records: what a node says about itself (its claims, where it may be reached, whether
// it relays, when it started), signed with its identity key and versioned, so that any node
// may pass a record on and none can forge or roll back another's (core/records.ts keeps
// them). The signature covers every byte before it, so forwarders pass records on verbatim
// and "the same record" means the same bytes.
//
//   record := FORMAT:u8 idLength:u8 id publicKey[32] version:u64be part* END signature[64]
//
// `publicKey` is the node's Ed25519 key; a verifier checks the signature with it and that it
// belongs to `id` (the X25519 key derived from it, crypto/record-auth.ts). `version` grows
// with every record a node signs and starts above any of its earlier runs (bootTimeMs * 1024
// + count, records.ts), so a restart supersedes. Unknown tags are skipped. decodeRecord
// never throws.
import type { Endpoint, PeerId } from '../core/types.js';
import type { RelayMode } from './control.js';
import {
  DecodeError, END, isWireId, Reader, readClaim, readEndpoint, readId, timeValue, u8Value, writeClaim,
  writeEndpointPart, writeId, Writer, type ClaimInfo,
} from './parts.js';

export const RECORD_FORMAT = 1;
export const RECORD_PUBLIC_KEY_BYTES = 32;
export const RECORD_SIGNATURE_BYTES = 64;

const T_BOOT_TIME = 1; // f64: the node's wall-clock start time, epoch ms (claims rank by it)
const T_CANDIDATE = 2; // repeatable endpoint: where the node may be reached
const T_RELAY = 3; // u8: 0 does not relay, 1 relays, 2 preferred relay (absent or unknown: 0)
const T_CLAIM = 4; // repeatable claim (parts.ts writeClaim)
const T_LEAVING = 5; // empty: the node is shutting down (its last record)

export interface NodeRecord {
  id: PeerId;
  /** Ed25519 public key (32 bytes) that signs this record. */
  publicKey: Uint8Array;
  /** Higher supersedes lower; integer below 2^53. */
  version: number;
  bootTimeMs: number;
  candidates: Endpoint[];
  relay: RelayMode;
  claims: ClaimInfo[];
  leaving: boolean;
}

/** A decoded record and the parts of its bytes a verifier needs. */
export interface SignedRecord {
  record: NodeRecord;
  /** The signed bytes (a view into the input). */
  body: Uint8Array;
  /** The signature (a view into the input). */
  signature: Uint8Array;
}

export type RecordDecodeResult = ({ ok: true } & SignedRecord) | { ok: false; error: string };

/** The bytes a node signs. Throws only on programming errors (a bad own id or key size). */
export function encodeRecordBody(r: NodeRecord): Uint8Array {
  if (!isWireId(r.id)) throw new RangeError(`record id ${JSON.stringify(r.id)} cannot be sent`);
  if (r.publicKey.length !== RECORD_PUBLIC_KEY_BYTES) throw new RangeError('a record key has 32 bytes');
  if (!Number.isSafeInteger(r.version) || r.version < 0) throw new RangeError(`record version ${r.version}`);
  const w = new Writer();
  w.u8(RECORD_FORMAT);
  writeId(w, r.id);
  w.bytes(r.publicKey);
  w.u64(r.version);
  w.part(T_BOOT_TIME, () => w.f64(r.bootTimeMs));
  for (const ep of r.candidates) writeEndpointPart(w, T_CANDIDATE, ep);
  if (r.relay !== 0) w.part(T_RELAY, () => w.u8(r.relay));
  for (const c of r.claims) writeClaim(w, T_CLAIM, c);
  if (r.leaving) w.part(T_LEAVING, () => {});
  w.u8(END);
  return w.finish();
}

/** Body and signature as one record. */
export function joinRecord(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== RECORD_SIGNATURE_BYTES) throw new RangeError('a record signature has 64 bytes');
  const out = new Uint8Array(body.length + signature.length);
  out.set(body);
  out.set(signature, body.length);
  return out;
}

function decodeOrThrow(bytes: Uint8Array): SignedRecord {
  if (bytes.length < RECORD_SIGNATURE_BYTES + 1) throw new DecodeError('truncated record');
  const bodyEnd = bytes.length - RECORD_SIGNATURE_BYTES;
  const r = new Reader(bytes, 0, bodyEnd);
  const format = r.u8('record format');
  if (format !== RECORD_FORMAT) throw new DecodeError(`unknown record format ${format}`);
  const id = readId(r, 'record id');
  const publicKey = r.bytes(RECORD_PUBLIC_KEY_BYTES, 'record key');
  const version = r.u64('record version');
  let bootTimeMs: number | undefined;
  const candidates: Endpoint[] = [];
  let relay: RelayMode = 0;
  const claims: ClaimInfo[] = [];
  let leaving = false;
  r.parts((tag, v) => {
    if (tag === T_BOOT_TIME) bootTimeMs = timeValue(v, 'record boot time');
    else if (tag === T_CANDIDATE) candidates.push(readEndpoint(v));
    else if (tag === T_RELAY) {
      const mode = u8Value(v, 'record relay mode');
      relay = mode === 1 || mode === 2 ? mode : 0;
    } else if (tag === T_CLAIM) claims.push(readClaim(v));
    else if (tag === T_LEAVING) {
      v.done('record leaving');
      leaving = true;
    }
  });
  if (r.pos !== bodyEnd) throw new DecodeError(`${bodyEnd - r.pos} bytes between record END and signature`);
  if (bootTimeMs === undefined) throw new DecodeError('record without boot time');
  return {
    record: { id, publicKey, version, bootTimeMs, candidates, relay, claims, leaving },
    body: bytes.subarray(0, bodyEnd),
    signature: bytes.subarray(bodyEnd),
  };
}

/** Decode (not verify) a record. Never throws: malformed input gives `{ ok: false, error }`. */
export function decodeRecord(bytes: Uint8Array): RecordDecodeResult {
  try {
    return { ok: true, ...decodeOrThrow(bytes) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e.message };
    return { ok: false, error: `decoder failure: ${(e as Error).message}` };
  }
}
