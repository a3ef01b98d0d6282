// TUN offloads (IFF_VNET_HDR) against the real kernel TCP stack, with a userspace TCP peer
// behind the TUN. Writes: rounds of segments through the queued write path (native/tun-gro.c);
// the kernel socket must receive every byte in order, and the segments must really have gone
// out merged. Reads (TSO, cut up in native/poller.c): a kernel client's stream must arrive
// complete, in order, with valid checksums on every packet, no packet above the MTU, and
// really through cut-up large segments.
import { describe, expect, it } from 'vitest';
import { useLab } from './lab.js';
import { requireBuilt } from './hacloud.js';
import { fixtureEvent } from './fixture-event.js';

const FIXTURE = new URL('./fixtures/tun-gro-fixture.mjs', import.meta.url).pathname;

describe('TUN offloads', () => {
  const lab = useLab(['a'], requireBuilt);

  it.each([[8, 40, 1400], [4, 100, 600], [3, 7, 1]])(
    'deliver every byte in order to a kernel socket (%i rounds of %i segments of %i bytes)',
    async (rounds, perRound, bytes) => {
      const peer = lab().spawn('a', process.execPath, [FIXTURE, 'write', String(rounds), String(perRound), String(bytes)]);
      const result = fixtureEvent(await peer.waitForLine(/^RESULT /, 20_000));
      expect(result.received).toBe(rounds * perRound * bytes);
      expect(result.receivedHash).toBe(result.sentHash);
      expect(result.writeDrops).toBe(0);
      expect(result.mergedPackets).toBeGreaterThanOrEqual(rounds * (perRound - 1)); // all but the PSH one at least
    },
  );

  // MSS 536: the smallest MTU hacloud allows (576), so a TSO read cuts into ~120 packets
  it.each([[3_000_000, 1400], [100_000, 1400], [1, 1400], [3_000_000, 536]])('cut large segments from the kernel into intact MTU-sized packets (%i bytes, MSS %i)', async (bytes, mss) => {
    const peer = lab().spawn('a', process.execPath, [FIXTURE, 'read', String(bytes), String(mss)]);
    const result = fixtureEvent(await peer.waitForLine(/^RESULT /, 20_000));
    expect(result.received).toBe(bytes);
    expect(result.receivedHash).toBe(result.sentHash);
    expect(result.badChecksums).toBe(0);
    expect(result.largestPacket).toBeLessThanOrEqual(1500);
    if (bytes >= 100_000) expect(result.segmentedPackets).toBeGreaterThan(0); // TSO really happened
    expect(result.readDrops).toBe(0); // every TSO read fitted its batch
  });
});
