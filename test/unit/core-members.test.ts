// Member states (src/core/members.ts) and SWIM probing (src/core/swim.ts) on their own:
// precedence of versions and states, Lifeguard's suspicion timeouts, refutation, dead records'
// expiry; the prober's round-robin, indirect probes, failures and local health.
import { describe, expect, it } from 'vitest';
import { deriveTiming, DEAD_MEMBER_TTL_MS, INDIRECT_PROBES, SUSPICION_MAX_MULT } from '../../src/core/constants.js';
import { Members, type Member, type MemberState } from '../../src/core/members.js';
import { OwnRecord } from '../../src/core/own-record.js';
import { RecordTable, type RecordEntry } from '../../src/core/records.js';
import { DEAD_PROBE_PERIODS, MAX_HEALTH_MULT, Prober, type ProbeHost } from '../../src/core/swim.js';
import type { PeerId } from '../../src/core/types.js';
import type { StateEntry } from '../../src/wire/control.js';
import { SimRng } from '../sim/rng.js';
import { simRecordAuth } from '../sim/sim-record-auth.js';

const PERIOD = 1_000;

/** Members of node 'me', with records signed for the test. */
function setup() {
  const table = new RecordTable({ auth: simRecordAuth('me'), localId: 'me', accepts: () => true, drop: () => {} });
  const log: string[] = [];
  let ownVersion = 100;
  const digests = new Map<PeerId, string>();
  const members = new Members({
    localId: 'me',
    ownVersion: () => ownVersion,
    digest: (id, _before, after) => void digests.set(id, after ? `${after.version}/${after.state}` : 'gone'),
    stateChanged: (_now, m, before) => log.push(`${m.id} ${before}->${m.state}`),
    refute: (_now, v) => log.push(`refute ${v}`),
    forget: (id) => log.push(`forget ${id}`),
  }, PERIOD);
  const owners = new Map<PeerId, OwnRecord>();
  /** Store the next record of `id` (leaving or not); returns its entry. */
  const record = (now: number, id: PeerId, leaving = false): RecordEntry => {
    let own = owners.get(id);
    if (!own) owners.set(id, (own = new OwnRecord(simRecordAuth(id), id, 1_000)));
    const r = table.offer(own.sign({ candidates: [], relay: 0, claims: [], leaving }), 0);
    if (r.kind !== 'new') throw new Error(`record of ${id}: ${r.kind}`);
    members.recordStored(now, r.entry);
    return r.entry;
  };
  return { members, log, digests, record, setOwn: (v: number) => { ownVersion = v; } };
}

const state = (m: Member | undefined): MemberState | undefined => m?.state;

describe('member states', () => {
  it('a record makes a member alive; suspect and dead need its version; the later state wins at one version', () => {
    const { members, record, log, digests } = setup();
    const e = record(0, 'a');
    expect(state(members.get('a'))).toBe('alive');
    expect(members.liveCount).toBe(2);
    const pulls: PeerId[] = [];
    const pull = (id: PeerId) => pulls.push(id);
    // an older version: stale
    expect(members.heard(1, { id: 'a', version: e.version - 1, state: 2 }, 'x', pull)).toBeNull();
    expect(state(members.get('a'))).toBe('alive');
    // alive at the same version changes nothing
    expect(members.heard(1, { id: 'a', version: e.version, state: 0 }, 'x', pull)).toBeNull();
    // suspect: news, with its origin
    expect(members.heard(2, { id: 'a', version: e.version, state: 1, from: 's1' }, 'x', pull)).toEqual({ id: 'a', version: e.version, state: 1, from: 's1' });
    expect(state(members.get('a'))).toBe('suspect');
    expect(digests.get('a')).toBe(`${e.version}/1`);
    // the same suspicion again is no news; another suspecter is
    expect(members.heard(3, { id: 'a', version: e.version, state: 1, from: 's1' }, 'y', pull)).toBeNull();
    expect(members.heard(3, { id: 'a', version: e.version, state: 1, from: 's2' }, 'y', pull)).not.toBeNull();
    // dead beats suspect
    expect(members.heard(4, { id: 'a', version: e.version, state: 2 }, 'x', pull)).not.toBeNull();
    expect(state(members.get('a'))).toBe('dead');
    expect(members.liveCount).toBe(1);
    // a suspicion of a dead member is nothing
    expect(members.heard(5, { id: 'a', version: e.version, state: 1, from: 's3' }, 'x', pull)).toBeNull();
    // its next record (a refutation, a restart) makes it alive again
    record(6, 'a');
    expect(state(members.get('a'))).toBe('alive');
    expect(members.liveCount).toBe(2);
    expect(log).toEqual(['a alive->alive', 'a alive->suspect', 'a suspect->dead', 'a dead->alive']);
    expect(pulls).toEqual([]);
  });

  it('a state for a version it lacks waits for the record (and asks for it); dead of a newer version kills the one it holds', () => {
    const { members, record } = setup();
    const pulls: PeerId[] = [];
    const pull = (id: PeerId) => pulls.push(id);
    // unknown member: a suspicion of its third version waits for that record
    const first = 1_000 * 1_024; // OwnRecord's first version for boot time 1000
    expect(members.heard(0, { id: 'b', version: first + 2, state: 1, from: 's' }, 'x', pull)).toBeNull();
    expect(pulls).toEqual(['b']);
    const e = record(1, 'b');
    expect(e.version).toBe(first);
    expect(state(members.get('b'))).toBe('alive');
    record(2, 'b');
    expect(state(members.get('b'))).toBe('alive');
    record(3, 'b');
    expect(state(members.get('b'))).toBe('suspect'); // applied when that version came
    // a newer version is dead: so is ours
    expect(members.heard(4, { id: 'b', version: first + 9, state: 2 }, 'x', pull)).not.toBeNull();
    expect(state(members.get('b'))).toBe('dead');
  });

  it('refutes gossip about itself at its version or later, not about one it signed past', () => {
    const { members, log, setOwn } = setup();
    setOwn(500);
    members.heard(0, { id: 'me', version: 499, state: 1 }, 'x', () => {});
    members.heard(0, { id: 'me', version: 500, state: 0 }, 'x', () => {});
    members.heard(0, { id: 'me', version: 500, state: 1 }, 'x', () => {});
    members.heard(0, { id: 'me', version: 700, state: 2 }, 'x', () => {});
    expect(log).toEqual(['refute 500', 'refute 700']);
  });

  it('a suspicion times out sooner the more members confirm it (Lifeguard), and not at all once refuted', () => {
    const { members, record } = setup();
    for (const id of ['a', 'b', 'c']) record(0, id);
    const a = members.get('a')!;
    members.suspect(10, a, 's1');
    const min = 2 * PERIOD; // max(2, log10(4 members)) periods
    const max = SUSPICION_MAX_MULT * min;
    expect(members.suspicionDeadline(a)).toBe(10 + max);
    members.suspect(11, a, 's2');
    const one = members.suspicionDeadline(a);
    expect(one).toBeLessThan(10 + max);
    expect(one).toBeGreaterThan(10 + min);
    members.suspect(12, a, 's3');
    members.suspect(12, a, 's4');
    expect(members.suspicionDeadline(a)).toBe(10 + min);
    members.suspect(13, a, 's5'); // beyond the confirmations counted
    expect(members.suspicionDeadline(a)).toBe(10 + min);
    expect(members.tick(10 + min - 1)).toEqual([]);
    expect(members.tick(10 + min).map((m) => m.id)).toEqual(['a']);
    expect(state(a)).toBe('dead');
    // b is suspected and refutes in time
    const b = members.get('b')!;
    members.suspect(20, b, 's1');
    record(21, 'b');
    expect(members.tick(20 + max + 1)).toEqual([]);
    expect(state(b)).toBe('alive');
  });

  it('a record that says it leaves is dead at once; dead records are forgotten after their TTL, or evicted first when room is short', () => {
    const { members, record, log, digests } = setup();
    record(0, 'a', true);
    expect(state(members.get('a'))).toBe('dead');
    record(100, 'b');
    members.heard(200, { id: 'b', version: members.get('b')!.entry!.version, state: 2 }, 'x', () => {});
    expect(members.deadline()).toBe(DEAD_MEMBER_TTL_MS);
    members.tick(DEAD_MEMBER_TTL_MS);
    expect(log.filter((l) => l.startsWith('forget'))).toEqual(['forget a']);
    expect(digests.get('a')).toBe('gone');
    expect(members.get('a')!.entry).toBeNull();
    expect(members.evictDead()).toBe(true); // b, before its time
    expect(log.filter((l) => l.startsWith('forget'))).toEqual(['forget a', 'forget b']);
    expect(members.evictDead()).toBe(false);
  });
});

/** A scripted probe host: every call logged; `answers` decides who answers a direct probe. */
function prober(targets: PeerId[], opts: { helpers?: PeerId[]; dead?: PeerId[] } = {}) {
  const calls: string[] = [];
  const probeable = new Set(targets);
  const host: ProbeHost = {
    rng: new SimRng(3),
    probeTargets: () => [...probeable],
    probeable: (id) => probeable.has(id),
    deadTargets: () => opts.dead ?? [],
    probe: (_now, id) => calls.push(`probe ${id}`),
    probeAgain: (_now, id) => calls.push(`again ${id}`),
    helpers: () => opts.helpers ?? ['h1', 'h2', 'h3', 'h4'],
    pingReq: (_now, helper, target) => calls.push(`ping-req ${helper} ${target}`),
    pingAck: (_now, requester, target) => calls.push(`ping-ack ${requester} ${target}`),
    failed: (_now, id) => calls.push(`failed ${id}`),
    done: (id) => calls.push(`done ${id}`),
  };
  const timing = deriveTiming({ keepaliveMs: 200, peerTimeoutMs: 2_000 }); // period 1 s, probe timeout 500 ms
  const p = new Prober(host, timing);
  /** Run the prober's timers from `from` to `to` (as the engine would: at each deadline). */
  const runTo = (from: number, to: number, onProbe?: (id: PeerId, now: number) => void): number => {
    let now = from;
    while (now <= to) {
      const before = calls.length;
      p.tick(now);
      for (const c of calls.slice(before)) if (c.startsWith('probe ') && onProbe) onProbe(c.slice(6), now);
      const next = p.deadline();
      if (next <= now) throw new Error(`prober spins at ${now}`);
      now = next;
    }
    return now;
  };
  return { p, calls, probeable, timing, runTo };
}

describe('SWIM prober', () => {
  it('probes one member per period, each once per pass in a shuffled order', () => {
    const targets = ['a', 'b', 'c', 'd', 'e'];
    const { p, calls, runTo } = prober(targets);
    runTo(0, 9_999, (id, now) => p.heard(now, id));
    const probed = calls.filter((c) => c.startsWith('probe ')).map((c) => c.slice(6));
    expect(probed).toHaveLength(10);
    expect([...probed.slice(0, 5)].sort()).toEqual(targets);
    expect([...probed.slice(5)].sort()).toEqual(targets);
    expect(probed.slice(0, 5)).not.toEqual(probed.slice(5)); // reshuffled (this seed)
    expect(calls.filter((c) => c.startsWith('failed') || c.startsWith('ping-req'))).toEqual([]);
  });

  it('no answer: asks helpers after the probe timeout, suspects at the end of the period, and probes it once more', () => {
    const { p, calls, runTo, timing } = prober(['a']);
    p.tick(0);
    expect(calls).toEqual(['probe a']);
    p.tick(timing.probeTimeoutMs - 1);
    expect(calls).toHaveLength(1);
    p.tick(timing.probeTimeoutMs);
    expect(calls.filter((c) => c.startsWith('ping-req'))).toHaveLength(INDIRECT_PROBES);
    p.tick(timing.swimPeriodMs);
    // suspected, and probed once more at once (the member just suspected goes first)
    expect(calls.slice(-3)).toEqual(['done a', 'failed a', 'probe a']);
    void runTo;
  });

  it('an answer through a helper (PingAck) is an answer', () => {
    const { p, calls, timing } = prober(['a']);
    p.tick(0);
    p.tick(timing.probeTimeoutMs);
    p.heard(timing.probeTimeoutMs + 10, 'a');
    p.tick(timing.swimPeriodMs);
    expect(calls.filter((c) => c.startsWith('failed'))).toEqual([]);
  });

  it('its own failing probes slow it down, up to MAX_HEALTH_MULT times; answers speed it up again', () => {
    const { p, calls, runTo } = prober(['a', 'b']);
    const starts: number[] = [];
    runTo(0, 30_000, (_id, now) => starts.push(now));
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(Math.max(...gaps)).toBe(MAX_HEALTH_MULT * 1_000);
    expect(calls.filter((c) => c.startsWith('failed')).length).toBeGreaterThan(3);
    // healthy again
    const { p: q, runTo: run2 } = prober(['a']);
    const t2: number[] = [];
    run2(0, 5_000, (id, now) => { t2.push(now); q.heard(now, id); });
    expect(t2.slice(1).map((t, i) => t - t2[i]!)).toEqual(t2.slice(1).map(() => 1_000));
    void p;
  });

  it('runs indirect probes for others within a rate, answers them, and gives up after a period', () => {
    const { p, calls, timing } = prober([]);
    expect(p.onPingReq(0, 'r1', 'x', false)).toMatch(/do not know/);
    expect(p.onPingReq(0, 'r1', 'r1', true)).not.toBeNull();
    expect(p.onPingReq(0, 'r1', 't', true)).toBeNull();
    expect(p.onPingReq(0, 'r2', 't', true)).toBeNull(); // joins the pending one
    expect(calls).toEqual(['probe t']);
    p.heard(5, 't');
    expect(calls.slice(1)).toEqual(['ping-ack r1 t', 'ping-ack r2 t', 'done t']);
    p.onPingReq(10, 'r1', 'u', true);
    p.tick(10 + timing.swimPeriodMs);
    expect(calls.at(-1)).toBe('done u');
    // the rate: a burst, then refusals
    let refused = 0;
    for (let i = 0; i < 200; i++) if (p.onPingReq(2_000, 'r', `t${i}`, true) !== null) refused++;
    expect(refused).toBeGreaterThan(100);
  });

  it(`probes a member held dead every ${DEAD_PROBE_PERIODS} periods (a healed partition)`, () => {
    const { p, calls, runTo } = prober(['a'], { dead: ['z'] });
    runTo(0, (2 * DEAD_PROBE_PERIODS + 1) * 1_000, (id, now) => p.heard(now, id));
    expect(calls.filter((c) => c === 'probe z')).toHaveLength(2);
  });
});
