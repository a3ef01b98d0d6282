// Finding 3 of the trust review: gossip made every node a UDP amplifier. One authenticated
// NodeInfo (about 60 KB) listing thousands of endpoints on one victim host used to make the
// receiver dial every one of them for ten minutes, a fresh handshake each try: 750 230
// datagrams (11 MB) reached the victim in 60 simulated seconds over SimChannel, 537 301
// (32 MB) over the real SecureChannel. This replays that message from a rogue member and
// counts what reaches the victim.
import { describe, expect, it } from 'vitest';
import { encodeControl, type NodeInfo } from '../../src/wire/control.js';
import { runSeeded, Sim, simChannel, type ChannelFactory } from './harness.js';
import { poisonedPeers, rogueChannel } from './rogue-channel.js';
import { secureChannel } from './secure-channel.js';

const VICTIM = '198.51.100.7';
/** Entries x endpoints per entry: about 60 KB on the wire. */
const ENTRIES = 350;
const ENDPOINTS_PER_ENTRY = 12;

/** Datagrams the victim receives in 60 s from node a, when the rogue poisons `which` NodeInfos. */
function victimDatagrams(seed: number, which: 'first' | 'every', inner: ChannelFactory = simChannel): { datagrams: number; bytes: number; size: number } {
  let size = 0;
  let delivered = false;
  const channel = rogueChannel(inner, 'rogue', (info) => {
    if (which === 'first' && delivered) return info; // one message, then the rogue behaves
    // A seq ahead of the honest ones: applied even if reordered behind a later honest NodeInfo.
    const peers = [...info.peers, ...poisonedPeers(VICTIM, ENTRIES, ENDPOINTS_PER_ENTRY)];
    const poisoned: NodeInfo = { ...info, seq: info.seq + 1_000, peers };
    size = encodeControl(poisoned).length;
    return poisoned;
  }, (ok) => (delivered ||= ok));
  const sim = new Sim({ seed, channel });
  sim.add({ name: 'a', ip: '10.0.0.1' }, { name: 'rogue', ip: '10.0.0.9', seeds: ['a'] });
  const victim = sim.net.watchHost(VICTIM);
  sim.start('a', 'rogue');
  sim.run(60_000);
  // The mesh itself is unharmed: a and the rogue still talk.
  expect(sim.routeOf('a', '10.0.0.9')).toBe('rogue');
  return { ...victim, size };
}

describe('gossip amplification', () => {
  it('one poisoned NodeInfo makes the receiver send only a bounded trickle to the victim', () =>
    runSeeded('amplification, one message', 31, (seed) => {
      const r = victimDatagrams(seed, 'first');
      console.log(`poisoned NodeInfo: ${r.size} bytes, ${ENTRIES * ENDPOINTS_PER_ENTRY} endpoints on ${VICTIM}; ` +
        `victim received ${r.datagrams} datagrams (${r.bytes} bytes) in 60 s`);
      expect(r.size).toBeGreaterThan(55_000);
      expect(r.datagrams).toBeLessThanOrEqual(500);
    }));

  it('a rogue that repeats it in every NodeInfo stays bounded too', () =>
    runSeeded('amplification, every message', 32, (seed) => {
      const r = victimDatagrams(seed, 'every');
      console.log(`every NodeInfo poisoned: victim received ${r.datagrams} datagrams (${r.bytes} bytes) in 60 s`);
      expect(r.datagrams).toBeLessThanOrEqual(1_000);
    }));

  it('is bounded over the real SecureChannel too', () =>
    runSeeded('amplification, secure channel', 33, (seed) => {
      const r = victimDatagrams(seed, 'first', secureChannel(new Uint8Array(32).fill(seed)));
      console.log(`over SecureChannel: victim received ${r.datagrams} datagrams (${r.bytes} bytes) in 60 s`);
      expect(r.datagrams).toBeGreaterThan(0); // the message did arrive and was acted on, within the caps
      expect(r.datagrams).toBeLessThanOrEqual(500);
    }));
});
