// The 'observed' message past full-mesh-max: a kept peer always hears where we see it; a peer on
// an on-demand session only when its record does not already name that address (behind a NAT,
// or a NAT that rebooted), so probes' sessions do not all carry it.
import { describe, expect, it } from 'vitest';
import type { PeerId } from '../../src/core/types.js';
import type { ControlMessage } from '../../src/wire/control.js';
import { fakeEngine, growPastFullMesh, type FakeChannel } from './core-fake-channel.js';

function largeMesh(): { ch: FakeChannel; observedTo: (peer: PeerId) => ControlMessage[] } {
  const { engine, ch } = fakeEngine({ fullMeshMax: 2 });
  growPastFullMesh(engine, ch);
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
