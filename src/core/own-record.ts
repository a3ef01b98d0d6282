// Our own node record: signs a new version whenever what we announce changes. Versions start
// at bootTimeMs * RECORD_VERSIONS_PER_MS, so this run's records supersede any earlier run's;
// if the mesh holds a record of ours at or above our version (our wall clock stepped back
// since that run, or someone declared us dead at it), supersede() jumps past it.
import { encodeRecordBody, joinRecord, type NodeRecord } from '../wire/record.js';
import type { ClaimInfo, RelayMode } from '../wire/control.js';
import { RECORD_VERSIONS_PER_MS } from './constants.js';
import type { RecordAuth } from './record-auth.js';
import type { Endpoint, PeerId } from './types.js';

/** What our record says besides who we are. */
export interface OwnRecordContent {
  candidates: readonly Endpoint[];
  relay: RelayMode;
  claims: readonly ClaimInfo[];
  leaving: boolean;
}

export class OwnRecord {
  /** Version of the record we sign next minus one. */
  private last: number;
  private current: { record: NodeRecord; bytes: Uint8Array } | null = null;

  constructor(private readonly auth: RecordAuth, readonly id: PeerId, readonly bootTimeMs: number) {
    this.last = Math.max(0, Math.floor(bootTimeMs)) * RECORD_VERSIONS_PER_MS - 1;
  }

  get version(): number {
    return this.current?.record.version ?? this.last;
  }

  get bytes(): Uint8Array | null {
    return this.current?.bytes ?? null;
  }

  get record(): NodeRecord | null {
    return this.current?.record ?? null;
  }

  /** Sign `content` as our next version. */
  sign(content: OwnRecordContent): Uint8Array {
    const record: NodeRecord = {
      id: this.id,
      publicKey: this.auth.publicKey,
      version: ++this.last,
      bootTimeMs: this.bootTimeMs,
      candidates: [...content.candidates],
      relay: content.relay,
      claims: content.claims.map((c) => ({ ...c })),
      leaving: content.leaving,
    };
    const body = encodeRecordBody(record);
    const bytes = joinRecord(body, this.auth.sign(body));
    this.current = { record, bytes };
    return bytes;
  }

  /** Someone holds a record of ours at `version`: our next one must be above it. */
  supersede(version: number): boolean {
    if (version < this.last) return false;
    this.last = version;
    return true;
  }
}
