// Who this node is and whom it trusts, from the crypto settings. Key mode: the configured
// private key. Password mode: the key in the identity file (created on first start), so a
// node keeps its identity across restarts and every node on one machine has its own.
import type { Config } from '../config/types.js';
import type { AlgorithmName } from '../crypto/aead.js';
import { keyPairFromPrivate, parsePeerId, type IdentityKeyPair } from '../crypto/keys.js';
import { deriveNetworkSecrets } from '../crypto/password.js';
import type { PeerId } from '../core/types.js';
import { loadIdentityFile } from './identity-file.js';

export interface Trust {
  identity: IdentityKeyPair;
  psk: Uint8Array | undefined;
  trustedPeers: PeerId[] | undefined;
  algorithms: AlgorithmName[];
  /** Set when the identity file was created by this start (worth a log line). */
  createdIdentityFile: string | null;
}

const ALGORITHM_NAMES = { 'aes256-gcm': 'aes256', 'chacha20-poly1305': 'chacha20', plain: 'plain' } as const;

export function loadTrust(config: Config): Trust {
  const c = config.crypto;
  let identity: IdentityKeyPair;
  let createdIdentityFile: string | null = null;
  if (c.privateKey) {
    identity = keyPairFromPrivate(c.privateKey);
  } else {
    const loaded = loadIdentityFile(c.identityFile!);
    identity = loaded.identity;
    if (loaded.created) createdIdentityFile = c.identityFile;
  }
  const secrets = c.password ? deriveNetworkSecrets(c.password, c.network) : null;
  const trustedPeers = c.trustedKeys.length > 0 ? c.trustedKeys.map((k) => parsePeerId(k, 'trusted-key')) : undefined;
  return {
    identity,
    psk: secrets?.psk,
    trustedPeers,
    algorithms: c.algorithms.map((a) => ALGORITHM_NAMES[a]),
    createdIdentityFile,
  };
}
