// Shared vocabulary of the protocol core. Nothing here touches I/O or the clock:
// every time value is passed in by the caller (milliseconds on a monotonic clock
// unless the name says otherwise).

/** A node's identity: its X25519 public key (crypto/keys.ts), base64url without padding (43 chars). */
export type PeerId = string;

/**
 * A UDP endpoint in canonical text form: "1.2.3.4:3210" or "[2001:db8::1]:3210".
 * IPv4-mapped IPv6 addresses ("::ffff:1.2.3.4") are normalised to plain IPv4 by the
 * transport before they reach the core, so one peer never shows up under two names.
 */
export type Endpoint = string;

/** Randomness is injected so the simulator can replay a run from its seed. */
export interface Rng {
  /** Fill `buf` with random bytes. */
  fill(buf: Uint8Array): void;
  /** A float in [0, 1). */
  next(): number;
}

/**
 * What an authenticated message carries, after decryption. The kind travels in the
 * authenticated header, so it cannot be changed in flight.
 */
export const enum MsgKind {
  /** An IP packet for the TUN device. */
  Data = 0,
  /** Liveness only; empty payload. */
  Keepalive = 1,
  /** A control message encoded by src/wire/control.ts (peer info, claims, leave, probes). */
  Control = 2,
  /**
   * "Forward this to a peer of yours" (relay.ts): 32-byte key of the destination + a complete
   * hacloud datagram of the sender's end-to-end channel with it, which the relay cannot read.
   */
  Relay = 3,
  /** A relay delivers what a peer asked it to forward: 32-byte key of the origin + the datagram. */
  Relayed = 4,
}

/** The highest MsgKind a transport packet may carry (the channel drops higher ones as malformed). */
export const MAX_MSG_KIND = MsgKind.Relayed;

/** Why a datagram was dropped. Every dropped datagram is counted under exactly one reason. */
export type DropReason =
  | 'malformed' // too short, unknown type or version, bad length fields
  | 'auth' // AEAD tag or handshake MAC did not verify (wrong key, tampering)
  | 'unknown-session' // transport packet for a receiver index we do not have
  | 'replay' // duplicate or older than the replay window
  | 'untrusted' // handshake from a key that is not trusted
  | 'handshake-state' // a valid-looking handshake message we did not expect
  | 'rate-limited' // too many handshakes from one address
  | 'self' // we connected to ourselves
  | 'no-route' // TUN packet with no claimant for its destination
  | 'no-session' // TUN packet whose claimant has no established session yet
  | 'bad-packet' // TUN or Data packet that is not a valid IPv4/IPv6 packet
  | 'not-claimed' // Data packet from a peer whose destination this node does not claim
  | 'control' // authenticated control message that failed to decode
  | 'mac' // handshake message 1 without a valid mac1: a stranger (no answer, no asymmetric crypto)
  | 'cookie' // handshake message 1 under load without a valid mac2: answered with a cookie only
  | 'stale' // handshake message 1 whose timestamp is outside the accepted window
  | 'reflected' // one of our own handshake messages came back to us from elsewhere
  | 'claim-denied' // a peer's claim that no claim right covers, or outside the allowed routes
  | 'claim-limit' // a peer's claims beyond the per-node cap
  | 'bad-source' // data packet whose inner source address the sending peer does not claim
  | 'gossip-limit' // a gossiped peer or endpoint beyond the caps, or an unusable address
  | 'dial-limit' // a first contact to a new address held back by the dial rate limit
  | 'relay-denied' // a relay request we may not serve (relaying off, unknown or relayed destination, nested relay)
  | 'relay-limit' // a relay request over the per-pair packet or byte rate
  | 'too-big' // a TUN packet for a relayed peer over the relayed path's MTU: answered with ICMP "too big"
  | 'peer-limit' // a session with a new identity while MAX_SESSIONS are open and none is idle-closable
  | 'record'; // a malformed node record, one whose signature or key does not verify, or another record at a version already held

export const DROP_REASONS: readonly DropReason[] = [
  'malformed', 'auth', 'unknown-session', 'replay', 'untrusted', 'handshake-state',
  'rate-limited', 'self', 'no-route', 'no-session', 'bad-packet', 'not-claimed', 'control',
  'mac', 'cookie', 'stale', 'reflected', 'claim-denied', 'claim-limit', 'bad-source',
  'gossip-limit', 'dial-limit', 'relay-denied', 'relay-limit', 'too-big', 'peer-limit', 'record',
];
