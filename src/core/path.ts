// A path to a peer: straight to a UDP endpoint, or through a relay peer (relay.ts).
//
// Tables keyed by path (the channel's peer endpoint, its endpoint memory and rate limiter,
// the engine's candidates) key by pathKey(): the key of a direct path IS its endpoint string
// ("1.2.3.4:3210", "[2001:db8::1]:3210"), so everything written for endpoints keeps working;
// a relay path's key is "relay:<via id>/<peer id>", never a valid endpoint, and never given to
// the UDP socket (the engine wraps datagrams sent to it into a MsgKind.Relay message to `via`).
// Ids are base64url (or the simulator's plain names): they never contain '/'.
import type { Endpoint, PeerId } from './types.js';

export type Path =
  | { kind: 'direct'; endpoint: Endpoint }
  /** Through `via`, to (or from) `peer`. */
  | { kind: 'relay'; via: PeerId; peer: PeerId };

/** A path's key: its endpoint, or "relay:<via>/<peer>". */
export type PathKey = string;

const RELAY_PREFIX = 'relay:';
const CHAR_R = 0x72;

export function relayKey(via: PeerId, peer: PeerId): PathKey {
  return `${RELAY_PREFIX}${via}/${peer}`;
}

export function pathKey(p: Path): PathKey {
  return p.kind === 'direct' ? p.endpoint : relayKey(p.via, p.peer);
}

/** Is `key` a relay path? Cheap enough for every packet: endpoints start with a digit or '['. */
export function isRelayKey(key: PathKey): boolean {
  return key.charCodeAt(0) === CHAR_R && key.startsWith(RELAY_PREFIX);
}

/** The path a key names; null for a relay key without both ids. Anything else is direct. */
export function parsePath(key: PathKey): Path | null {
  if (!isRelayKey(key)) return { kind: 'direct', endpoint: key };
  const slash = key.indexOf('/', RELAY_PREFIX.length);
  if (slash <= RELAY_PREFIX.length || slash === key.length - 1 || key.indexOf('/', slash + 1) >= 0) return null;
  return { kind: 'relay', via: key.slice(RELAY_PREFIX.length, slash), peer: key.slice(slash + 1) };
}

/** Does relay key `key` end in "/<peer>"? Allocates nothing (checked on received packets). */
export function relayKeyNames(key: PathKey, peer: PeerId): boolean {
  const at = key.length - peer.length;
  return at > RELAY_PREFIX.length + 1 && key.charCodeAt(at - 1) === 0x2f && key.endsWith(peer);
}

/** The relay peer of relay key `key` (null for a direct path). */
export function relayVia(key: PathKey): PeerId | null {
  const p = parsePath(key);
  return p?.kind === 'relay' ? p.via : null;
}
