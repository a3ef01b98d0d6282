// Default values, in one place so the help text, example.yaml and resolve.ts agree.
import type { Algorithm } from './types.js';

export const DEFAULT_PORT = 3210;
export const DEFAULT_DEVICE_NAME = 'hacloud%d';
export const DEFAULT_DEVICE_PATH = '/dev/net/tun';
/** Interface prefix length when --ip has none (VpnCloud uses /24 too). */
export const DEFAULT_IPV4_PREFIX_LEN = 24;
export const DEFAULT_IPV6_PREFIX_LEN = 64;
// Failure-detection defaults live with the detector that their arithmetic is about.
export { DEFAULT_KEEPALIVE_MS, DEFAULT_PEER_TIMEOUT_MS } from '../core/constants.js';
/** Below this keepalives would flood the network without making detection faster. */
export const MIN_KEEPALIVE_MS = 10;
export const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['aes256-gcm', 'chacha20-poly1305'];
export const CONTROL_SOCKET_DIR = '/run/hacloud';
/** Password mode keeps each node's identity key here: <dir>/<instance>.key (see resolve.ts). */
export const IDENTITY_DIR = '/var/lib/hacloud';
/** Password mode: the network name that goes into the password's salt (crypto/password.ts). */
export const DEFAULT_NETWORK = 'hacloud';
/** Smallest MTU we accept: the IPv4 minimum datagram size; IPv6 needs 1280. */
export const MIN_MTU = 576;
export const MIN_MTU_IPV6 = 1280;
export const MAX_MTU = 65535;
/** An ifup/ifdown or event hook script is stopped after this long. */
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
