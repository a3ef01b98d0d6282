// Who this node is and whom it trusts, from the crypto settings. Password mode gives every
// process a fresh identity (peers are keyed by it; a restart is a new peer whose claims start
// with zero uptime) unless a private key pins it; key mode uses the configured key.
import type { Config } from '../config/types.js';
import type { AlgorithmName } from '../crypto/aead.js';
import { generateKeyPair, keyPairFromPrivate, parsePeerId, type IdentityKeyPair } from '../crypto/keys.js';
import { deriveNetworkSecrets } from '../crypto/password.js';
import type { PeerId } from '../core/types.js';

export interface Trust {
  identity: IdentityKeyPair;
  psk: Uint8Array | undefined;
  trustedPeers: PeerId[] | undefined;
  algorithms: AlgorithmName[];
  /** Public key of the password's network key pair (shown in status), or null in key mode. */
  networkId: string | null;
}

const ALGORITHM_NAMES = { 'aes256-gcm': 'aes256', 'chacha20-poly1305': 'chacha20', plain: 'plain' } as const;

export function loadTrust(config: Config): Trust {
  const c = config.crypto;
  const identity = c.privateKey ? keyPairFromPrivate(c.privateKey) : generateKeyPair();
  const secrets = c.password ? deriveNetworkSecrets(c.password) : null;
  const trustedPeers = c.trustedKeys.length > 0 ? c.trustedKeys.map((k) => parsePeerId(k, 'trusted-key')) : undefined;
  return {
    identity,
    psk: secrets?.psk,
    trustedPeers,
    algorithms: c.algorithms.map((a) => ALGORITHM_NAMES[a]),
    networkId: secrets?.networkKeyPair.id ?? null,
  };
}
