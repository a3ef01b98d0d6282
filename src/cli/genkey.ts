// `hacloud genkey`: print a new identity. The output is two YAML lines that can be pasted
// into a config file's `crypto:` section; keys are 43-character base64url without padding. The
// public key is the node id (an X25519 key, crypto/keys.ts) that other nodes list in
// trusted-keys.
import { encodeKey, generateKeyPair } from '../crypto/keys.js';

/** The text to print (no trailing newline): "private-key: ...\npublic-key: ...". */
export function runGenkey(): string {
  const kp = generateKeyPair();
  return `private-key: ${encodeKey(kp.seed)}\npublic-key: ${kp.id}`;
}
