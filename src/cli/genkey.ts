// `hacloud genkey`: print a new identity, or with --password the key pair that password maps
// to (see src/crypto/password.ts). The output is two YAML lines that can be pasted into a
// config file's `crypto:` section; keys are 43-character base64url without padding.
import { encodeKey, generateKeyPair } from '../crypto/keys.js';
import { deriveNetworkSecrets } from '../crypto/password.js';

/** The text to print (no trailing newline): "private-key: ...\npublic-key: ...". */
export function runGenkey(opts: { password?: string }): string {
  const kp = opts.password === undefined ? generateKeyPair() : deriveNetworkSecrets(opts.password).networkKeyPair;
  return `private-key: ${encodeKey(kp.seed)}\npublic-key: ${kp.id}`;
}
