// The session table is bounded (MAX_SESSIONS; EngineConfig.maxSessions here): in password mode
// anyone with the password can mint identities and open sessions. At the cap a new identity
// closes the least recently heard session that is not kept, or is refused ('peer-limit').
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/core/engine.js';
import { fakeEngine, growPastFullMesh, info } from './core-fake-channel.js';

const peerIds = (engine: Engine, now: number): string[] => engine.status(now).peers.map((p) => p.id).sort();

describe('session cap', () => {
  it('refuses a new identity when every session is kept, and counts it', () => {
    const { engine, ch } = fakeEngine({ maxSessions: 3 });
    ['p1', 'p2', 'p3'].forEach((p, i) => ch.up(10 + i, p, `192.0.2.${20 + i}:3210`));
    expect(peerIds(engine, 20)).toEqual(['p1', 'p2', 'p3']);
    ch.up(30, 'intruder', '198.51.100.66:3210');
    expect(peerIds(engine, 31)).toEqual(['p1', 'p2', 'p3']);
    expect(engine.status(31).drops['peer-limit']).toBe(1);
    expect(ch.forgotten).toContain('intruder');
    // a message on the refused session before the channel forgot it changes nothing either
    ch.control(32, 'intruder', '198.51.100.66:3210', info(500, 1, ['10.0.0.66']));
    expect(peerIds(engine, 33)).toEqual(['p1', 'p2', 'p3']);
    expect(engine.routeFor(new Uint8Array([10, 0, 0, 66]))).toBeNull();
  });

  it('past full-mesh-max, makes room by closing the least recently heard session that is not kept', () => {
    const { engine, ch } = fakeEngine({ maxSessions: 3, fullMeshMax: 2 });
    growPastFullMesh(engine, ch);
    expect(engine.status(2_000).members.fullMesh).toBe(false);
    ch.up(2_010, 'q', '198.51.100.10:3210');
    ch.up(2_020, 'r', '198.51.100.11:3210');
    const kept = new Set(engine.status(2_021).peers.filter((p) => p.kept).map((p) => p.id));
    expect(peerIds(engine, 2_021)).toEqual(['q', 'r', 's']);
    ch.up(2_030, 't', '198.51.100.12:3210');
    const after = peerIds(engine, 2_031);
    expect(after).toContain('t');
    expect(after).toHaveLength(3);
    // closed: the least recently heard one that is not kept (heard in this order: s, q, r)
    const closed = ['s', 'q', 'r'].find((p) => !kept.has(p))!;
    expect(closed).toBeDefined();
    expect(after).toEqual(['q', 'r', 's', 't'].filter((p) => p !== closed));
    expect(engine.status(2_031).drops['peer-limit'] ?? 0).toBe(0);
  });
});
