// The 'observed' message past full-mesh-max: a kept peer always hears where we see it; a peer on
// an on-demand session only when its record does not already name that address (behind a NAT,
// or a NAT that rebooted), so probes' sessions do not all carry it.
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/core/engine.js';
import type { PeerId } from '../../src/core/types.js';
import { parsePrefix } from '../../src/wire/addr.js';
import type { ControlMessage } from '../../src/wire/control.js';
import { SimRng } from '../sim/rng.js';
import { simRecordAuth } from '../sim/sim-record-auth.js';
import { FakeChannel, info, recordFor } from './core-fake-channel.js';

const SEED = '192.0.2.9:3210';

function largeMesh(): { ch: FakeChannel; observedTo: (peer: PeerId) => ControlMessage[] } {
  let ch!: FakeChannel;
  const engine = createEngine({
    config: { claims: [parsePrefix('10.0.0.1')], bootTimeMs: 1_000_000, seeds: [SEED], keepaliveMs: 1_000, peerTimeoutMs: 60_000, fullMeshMax: 2 },
    makeChannel: (sink) => (ch = new FakeChannel(sink)),
    recordAuth: simRecordAuth('self'),
    send: () => {},
    deliver: () => {},
    onEvent: () => {},
    rng: new SimRng(1),
  });
  engine.start(0);
  ch.up(1, 's', SEED);
  ch.control(2, 's', SEED, info(500, 1, ['10.0.0.2'], [], { candidates: [SEED] }));
  const others = ['q', 'r', 't', 'u'].map((p, i) =>
    recordFor(p, { bootTimeMs: 600, seq: 1, claims: [`10.0.0.${10 + i}`], candidates: [`198.51.100.${10 + i}:3210`] }));
  ch.control(3, 's', SEED, { type: 'records', records: others, sync: false });
  // 6 members > 2 × fullMeshMax: no longer a full mesh once the kept set is worked out again
  for (let t = engine.nextDeadline(); t <= 2_000; t = engine.nextDeadline()) engine.handleTimeout(t);
  expect(engine.status(2_000).members.fullMesh).toBe(false);
  return { ch, observedTo: (peer) => ch.controlsTo(peer).filter((m) => m.type === 'observed') };
}

describe("'observed' past full-mesh-max", () => {
  it('tells a peer on an on-demand session where we see it only if its record does not say so', () => {
    const { ch, observedTo } = largeMesh();
    ch.up(2_010, 'q', '203.0.113.5:40001'); // behind a NAT: not the address its record names
    expect(observedTo('q')).toEqual([{ type: 'observed', endpoint: '203.0.113.5:40001' }]);
    ch.up(2_011, 'r', '198.51.100.11:3210'); // where its record says: nothing to tell
    expect(observedTo('r')).toEqual([]);
  });
});
