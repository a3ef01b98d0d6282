// Which claims of a peer this node accepts. A claim is a request for traffic: an accepted one
// steers packets (and a kernel route) to the claimant, so an authenticated member is not
// trusted with any prefix it likes:
//   - claim rights (optional; `claim-rights`): when configured, a peer may only claim prefixes
//     inside the rights listed for its public key;
//   - route safety (always): a peer's claim must lie inside the private and shared ranges
//     (SAFE_ROUTES) or inside an operator's `allowed-routes` entry; a claim broader than /8
//     (IPv4) or /16 (IPv6) needs an allowed-routes entry that covers it, even inside fc00::/7;
//   - a cap on claims per peer: the first MAX_CLAIMS_PER_PEER distinct prefixes in the order
//     of its NodeInfo, so every node keeps the same ones.
// Our own configured claims are the operator's choice and are not screened here.
import { formatPrefix, parsePrefix, prefixContains, type Family, type Prefix } from '../wire/addr.js';
import { MAX_CLAIMS_PER_PEER } from './constants.js';
import type { PeerId } from './types.js';

/** Private (RFC 1918), shared (RFC 6598) and unique local (RFC 4193) ranges. */
export const SAFE_ROUTES: readonly Prefix[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']
  .map((p) => parsePrefix(p));

/** A peer's claim shorter than this needs an allowed-routes entry that covers it. */
export const MIN_PEER_PREFIX_LEN: Record<Family, number> = { 4: 8, 6: 16 };

export type ClaimDenial =
  /** Claim rights are configured and none of the peer's covers the prefix. */
  | 'no-right'
  /** Outside the private/shared ranges and outside every allowed-routes entry. */
  | 'outside-allowed-routes'
  /** Inside a safe range but broader than /8 or /16, with no allowed-routes entry for it. */
  | 'too-broad'
  /** Beyond MAX_CLAIMS_PER_PEER. */
  | 'limit';

export interface DeniedClaim {
  prefix: string;
  reason: ClaimDenial;
}

export interface ScreenedClaims {
  accepted: Prefix[];
  /** In NodeInfo order. */
  denied: DeniedClaim[];
}

/** Is `inner` entirely inside `outer` (equal included)? */
export function prefixWithin(inner: Prefix, outer: Prefix): boolean {
  return inner.family === outer.family && outer.len <= inner.len && prefixContains(outer, inner.bytes);
}

/** Why `prefix` may not be routed for a peer (null: it may), claim rights aside. */
export function routeDenial(prefix: Prefix, allowedRoutes: readonly Prefix[]): 'outside-allowed-routes' | 'too-broad' | null {
  if (allowedRoutes.some((a) => prefixWithin(prefix, a))) return null;
  if (!SAFE_ROUTES.some((s) => prefixWithin(prefix, s))) return 'outside-allowed-routes';
  return prefix.len < MIN_PEER_PREFIX_LEN[prefix.family] ? 'too-broad' : null;
}

export class ClaimPolicy {
  /**
   * `rights`: public key (canonical PeerId) -> prefixes it may claim, or null when no claim
   * rights are configured (every member may then claim anything routable).
   */
  constructor(
    private readonly rights: ReadonlyMap<PeerId, readonly Prefix[]> | null,
    private readonly allowedRoutes: readonly Prefix[],
  ) {}

  denial(peer: PeerId, prefix: Prefix): ClaimDenial | null {
    const route = routeDenial(prefix, this.allowedRoutes);
    if (route !== null) return route;
    if (this.rights === null) return null;
    return this.rights.get(peer)?.some((r) => prefixWithin(prefix, r)) ? null : 'no-right';
  }

  /** Split what `peer` announced into the claims we accept and the ones we deny. */
  screen(peer: PeerId, claims: readonly Prefix[]): ScreenedClaims {
    const accepted: Prefix[] = [];
    const denied: DeniedClaim[] = [];
    const seen = new Set<string>();
    for (const prefix of claims) {
      const text = formatPrefix(prefix);
      if (seen.has(text)) continue;
      seen.add(text);
      const reason = seen.size > MAX_CLAIMS_PER_PEER ? 'limit' : this.denial(peer, prefix);
      if (reason === null) accepted.push(prefix);
      else denied.push({ prefix: text, reason });
    }
    return { accepted, denied };
  }
}
