// Turns the configured peers (-c HOST[:PORT]) into endpoints. Names are re-resolved
// periodically, so a peer whose DNS entry moves is found again without a restart.
import { lookup } from 'node:dns/promises';
import type { Endpoint } from '../core/types.js';
import { formatEndpoint, parseAddress, type HostPort } from '../wire/addr.js';
import type { Logger } from '../log/logger.js';

export async function resolvePeers(peers: readonly HostPort[], log: Logger, what = 'peer'): Promise<Endpoint[]> {
  const out = new Set<Endpoint>();
  await Promise.all(
    peers.map(async ({ host, port }) => {
      if (parseAddress(host)) {
        out.add(formatEndpoint(host, port));
        return;
      }
      try {
        for (const a of await lookup(host, { all: true })) out.add(formatEndpoint(a.address, port));
      } catch (err) {
        log.warn(`cannot resolve ${what} ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; will retry`);
      }
    }),
  );
  return [...out];
}
