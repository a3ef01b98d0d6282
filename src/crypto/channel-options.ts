// Options of SecureChannel and their defaults (see channel.ts and session.ts for what the
// timers mean in the protocol).
import type { ChannelSink } from '../core/channel.js';
import type { Endpoint, PeerId, Rng } from '../core/types.js';
import { MAX_COUNTER } from '../wire/header.js';
import type { AlgorithmName } from './aead.js';
import type { IdentityKeyPair } from './keys.js';
import type { RateLimitOptions } from './ratelimit.js';

export interface ChannelTiming {
  /** Start a new handshake when the current session is this old (its initiator does). */
  rekeyAfterMs: number;
  /** Extra wait before the responder of the current session rekeys instead. */
  responderRekeyDelayMs: number;
  /** A session is dead (no send, no receive) at this age. */
  rejectAfterMs: number;
  /** Old receive key stays valid this long after the new one is confirmed. */
  previousGraceMs: number;
  /** First handshake retransmit delay; doubles (with +-25 % jitter) up to the max. */
  handshakeRetryInitialMs: number;
  handshakeRetryMaxMs: number;
  /** Message 1 is regenerated (fresh ephemeral key and index) after this long. */
  initiationRenewMs: number;
  /** A responder waiting for message 3 gives up after this long. */
  responderStateTtlMs: number;
  /** See "simultaneous initiation" in session.ts. */
  simultaneousGuardMs: number;
  /** A pending (rekeyed, unconfirmed) session is given up after this long, so a new rekey can start. */
  confirmTimeoutMs: number;
  /** Rekey after this many packets sent on one session. */
  rekeyAfterMessages: number;
  /** Never send more than this many packets on one session. */
  rejectAfterMessages: number;
}

export const DEFAULT_TIMING: ChannelTiming = {
  rekeyAfterMs: 120_000,
  responderRekeyDelayMs: 15_000,
  rejectAfterMs: 180_000,
  previousGraceMs: 10_000,
  handshakeRetryInitialMs: 250,
  handshakeRetryMaxMs: 4_000,
  initiationRenewMs: 15_000,
  responderStateTtlMs: 20_000,
  simultaneousGuardMs: 5_000,
  confirmTimeoutMs: 15_000,
  rekeyAfterMessages: 2 ** 50,
  rejectAfterMessages: MAX_COUNTER - 8192,
};

export interface SecureChannelOptions {
  /** This node's identity. */
  identity: IdentityKeyPair;
  /** Password mode: the psk from deriveNetworkSecrets(). Omitted: key mode (zero psk). */
  psk?: Uint8Array;
  /**
   * Key mode: the PeerIds (public keys) we accept. When given, every peer must be in it,
   * also in password mode. Without a psk this list is required.
   */
  trustedPeers?: Iterable<PeerId>;
  /** Algorithms we accept, most preferred first. Default: chacha20, aes256. */
  algorithms?: readonly AlgorithmName[];
  rng: Rng;
  sink: ChannelSink;
  timing?: Partial<ChannelTiming>;
  rateLimit?: Partial<RateLimitOptions>;
  /**
   * Wall-clock time in ms since the epoch (Date.now in the daemon). Message 1 carries it and
   * the responder refuses one outside TIMESTAMP_WINDOW_MS (initiation-cache.ts), so nodes
   * need roughly synchronised clocks. Default: `now` itself, for tests and simulations
   * whose nodes share one virtual clock.
   */
  wallClock?: () => number;
  /** Largest payload send() accepts (default 65535). */
  maxPayloadBytes?: number;
  /** Called with exceptions thrown by sink callbacks inside receive() (which never throws). */
  onInternalError?: (err: unknown) => void;
}

/** What status output may show about a peer's session. */
export interface SessionInfo {
  endpoint: Endpoint;
  algorithm: AlgorithmName;
  establishedAt: number;
  initiatedByUs: boolean;
  confirmed: boolean;
  sentPackets: number;
}
