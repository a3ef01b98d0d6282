// Default values, in one place so the help text, example.yaml and resolve.ts agree.
import type { Algorithm } from './types.js';

export const DEFAULT_PORT = 3210;
export const DEFAULT_DEVICE_NAME = 'hacloud%d';
export const DEFAULT_DEVICE_PATH = '/dev/net/tun';
/** Interface prefix length when --ip has none (VpnCloud uses /24 too). */
export const DEFAULT_IPV4_PREFIX_LEN = 24;
export const DEFAULT_IPV6_PREFIX_LEN = 64;
/**
 * Fast defaults suited to HA: a dead peer is noticed within 3 s. With a keepalive every 0.5 s
 * a peer must miss six in a row before it is declared dead, so random loss does not cause
 * false failovers. (VpnCloud's 300 s default is far too slow for failover.)
 */
export const DEFAULT_PEER_TIMEOUT_MS = 3000;
export const DEFAULT_KEEPALIVE_MS = 500;
/** Below this keepalives would flood the network without making detection faster. */
export const MIN_KEEPALIVE_MS = 10;
export const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['aes256-gcm', 'chacha20-poly1305'];
export const CONTROL_SOCKET_DIR = '/run/hacloud';
/** Smallest MTU we accept: the IPv4 minimum datagram size; IPv6 needs 1280. */
export const MIN_MTU = 576;
export const MIN_MTU_IPV6 = 1280;
export const MAX_MTU = 65535;
