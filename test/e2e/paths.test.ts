// Issue 12, e2e with real NAT: a public node p and two nodes a and c, each behind its own
// masquerading router that drops unsolicited inbound (src/lab/lan.ts), all started with only
// `-c p`. a and c learn each other from p and punch a direct path through both NATs; with UDP
// between the two routers dropped they fall back to p as relay (end to end encrypted, counted
// at p) without either declaring the other dead; with the drop rule gone they find the direct
// path again. Behind symmetric NATs (a port per destination) only the relay works. A ping and
// a 1 MB TCP transfer (sha256 checked) run on each path, and status must name the path.
// The lab and its helpers are bench/paths-scenario.ts; `npm run bench -- --only paths` measures
// the same paths (throughput, RTT, times) instead of asserting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathsLab, PingRun, pathsLayout, recoveryAfter, sleep } from '../../bench/paths-scenario.js';
import { requireBuilt } from './hacloud.js';
import { useLab } from './lab.js';

/** The defaults (src/core/constants.ts): the test runs hacloud as shipped. */
const PEER_TIMEOUT_MS = 3_000;
/** Process start-up, status polling and a loaded 2-core machine. */
const SLACK_MS = 2_000;
const MB = 1024 * 1024;
const PUNCH_TIMEOUT_MS = 15_000;
/** From the drop rule to pings answered through the relay: before the peer timeout declares c dead. */
const RELAY_WITHIN_MS = PEER_TIMEOUT_MS + SLACK_MS;
/** A direct path is retried while relayed; how often is the core's choice, so this bound is generous. */
const DIRECT_AGAIN_TIMEOUT_MS = 30_000;

async function expectPingAndTransfer(pl: PathsLab): Promise<void> {
  expect(await pl.ping('a', 'c'), 'pings a→c answered').toBe(5);
  expect(await pl.ping('c', 'a'), 'pings c→a answered').toBe(5);
  const t = await pl.transfer('a', 'c', MB);
  expect(t.receivedBytes).toBe(MB);
  expect(t.received).toBe(t.sent);
}

describe('paths through real NATs: punched direct path, relay fallback, back to direct', () => {
  const lab = useLab(pathsLayout(), requireBuilt);
  let dir = '';
  let pl: PathsLab;
  let startedMs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-paths-'));
    pl = new PathsLab(lab(), dir);
    await pl.start('p');
    const [a, c] = await Promise.all([pl.start('a'), pl.start('c')]);
    startedMs = Math.max(a, c);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a and c punch a direct path to each other through both NATs, not via p', async () => {
    const at = await pl.waitPaths('direct', PUNCH_TIMEOUT_MS);
    console.log(`paths e2e: both nodes listening -> punched direct path both ways after ${at - startedMs} ms`);
    // Each sees the other at its router's public address, and lists that path among its candidates.
    const peer = await pl.peer('a', 'c');
    expect(peer?.endpoint).toBe(pl.publicEndpoint('c'));
    expect(JSON.stringify((peer as { candidates?: unknown }).candidates ?? null), 'a\'s candidates for c').toContain(pl.publicEndpoint('c'));
  });

  it('carries a ping and a 1 MB transfer on the direct path, none of it through p', async () => {
    const relayedBefore = await pl.relayedBytes('p');
    await expectPingAndTransfer(pl);
    expect(await pl.relayedBytes('p')).toBe(relayedBefore);
    expect((await pl.path('a', 'c')).kind).toBe('direct');
  });

  it('falls back to the relay through p when UDP between the routers is dropped, without losing c', async () => {
    const ping = await PingRun.start(pl, 'a', 'c', 20, 60_000);
    let replies;
    let atMs = 0;
    try {
      atMs = Date.now();
      await pl.breakDirect();
      await pl.waitPaths('relay', RELAY_WITHIN_MS + SLACK_MS);
      await sleep(500); // replies through the relay
    } finally {
      replies = await ping.stop();
    }
    const { recoverMs, lost } = recoveryAfter(replies, atMs);
    console.log(`paths e2e: drop rule in -> pings answered via p after ${recoverMs} ms (${lost} pings of 20 ms lost)`);
    expect(recoverMs).not.toBeNull();
    expect(recoverMs!).toBeLessThan(RELAY_WITHIN_MS);
    // Liveness is end to end: a broken path is not a dead peer.
    expect(pl.lostLines('a', 'c', atMs)).toEqual([]);
    expect(pl.lostLines('c', 'a', atMs)).toEqual([]);
  });

  it('carries a ping and a 1 MB transfer through the relay, counted at p', async () => {
    const relayedBefore = await pl.relayedBytes('p');
    await expectPingAndTransfer(pl);
    expect(await pl.relayedBytes('p') - relayedBefore, "bytes p relayed for the transfer").toBeGreaterThanOrEqual(MB);
    // 1 400-byte packets without don't-fragment are too big for the relayed path: a and c cut
    // them into fragments that fit (the underlay would otherwise fragment the relayed datagrams,
    // and such fragments die at NATs)
    expect(await pl.ping('a', 'c', 20, 1_372), 'large pings a→c answered').toBe(20);
    expect(await pl.path('a', 'c')).toEqual({ kind: 'relay', via: 'p' });
    expect(await pl.path('c', 'a')).toEqual({ kind: 'relay', via: 'p' });
  });

  it('moves back to a direct path when the drop rule is removed', async () => {
    const atMs = Date.now();
    await pl.healDirect();
    const at = await pl.waitPaths('direct', DIRECT_AGAIN_TIMEOUT_MS);
    console.log(`paths e2e: drop rule out -> direct path again after ${at - atMs} ms`);
    const relayedBefore = await pl.relayedBytes('p');
    await expectPingAndTransfer(pl);
    expect(await pl.relayedBytes('p')).toBe(relayedBefore);
  });
});

describe('paths through symmetric NATs: only the relay', () => {
  const lab = useLab(pathsLayout('symmetric'), requireBuilt);
  let dir = '';
  let pl: PathsLab;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-paths-'));
    pl = new PathsLab(lab(), dir);
    await pl.start('p');
    await Promise.all([pl.start('a'), pl.start('c')]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a and c talk through p, with a ping and a 1 MB transfer', async () => {
    const startMs = Date.now();
    await pl.waitPaths('relay', PUNCH_TIMEOUT_MS);
    console.log(`paths e2e, symmetric NATs: relayed path both ways ${Date.now() - startMs} ms after the nodes were up`);
    const relayedBefore = await pl.relayedBytes('p');
    await expectPingAndTransfer(pl);
    expect(await pl.relayedBytes('p') - relayedBefore).toBeGreaterThanOrEqual(MB);
    expect(await pl.path('a', 'c')).toEqual({ kind: 'relay', via: 'p' });
  });
});
