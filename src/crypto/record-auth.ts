// Node records signed with the node's identity: the Ed25519 pair of its private seed signs,
// and a record is believed only if its Ed25519 key converts to the X25519 key that is its
// id (keys.ts), so a member can pass records on but cannot sign one in another's name.
import type { RecordAuth } from '../core/record-auth.js';
import type { PeerId } from '../core/types.js';
import { decodeKey, type IdentityKeyPair } from './keys.js';
import { edPublicToX25519, edSign, edVerify } from './sodium.js';

export function identityRecordAuth(identity: IdentityKeyPair): RecordAuth {
  return {
    publicKey: identity.signing.publicKey,
    sign: (body) => edSign(body, identity.signing.secretKey),
    verify: (id, publicKey, body, signature) => keyOf(id, publicKey) && edVerify(signature, body, publicKey),
  };
}

/** Is Ed25519 `publicKey` the key of node `id` (its X25519 form is the id)? */
function keyOf(id: PeerId, publicKey: Uint8Array): boolean {
  let idKey: Uint8Array;
  try {
    idKey = decodeKey(id, 'record id');
  } catch {
    return false;
  }
  const x = edPublicToX25519(publicKey);
  if (x === null) return false;
  for (let i = 0; i < idKey.length; i++) if (x[i] !== idKey[i]) return false;
  return true;
}
