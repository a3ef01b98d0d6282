import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventHooks, MAX_QUEUED_PER_KEY, type HookEventData } from '../../src/daemon/event-hooks.js';
import { createLogger } from '../../src/log/logger.js';

describe('event hooks', () => {
  let dir: string;
  let lines: string[];
  const log = () => createLogger({ level: 'debug', sink: (l) => lines.push(l) });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-evhook-'));
    lines = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every matching script with the documented variables, in event order per prefix', async () => {
    const out = join(dir, 'events');
    const record = `echo "$EVENT|$IFNAME|$NODE_ID|$PREFIX|$PEER|$REASON|$FROM|$TO|$GAP_MS|$ENDPOINT" >> ${out}`;
    // A slow script for the first event: a later event of the same prefix must still come after it.
    const hooks = new EventHooks({ all: [record], byEvent: { 'claim-withdrawn': [`sleep 0.2; echo withdrawn-extra >> ${out}`] }, timeoutMs: 5000 }, 'hc0', 'NODE', log());
    hooks.emit({ event: 'claim-withdrawn', prefix: '10.0.0.1/32', reason: 'health' });
    hooks.emit({ event: 'failover', prefix: '10.0.0.1/32', from: 'self', to: 'PEERB', reason: 'claims', gapMs: 12.4 });
    hooks.emit({ event: 'peer-up', peer: 'PEERB', endpoint: '192.0.2.2:3210' });
    await hooks.idle();
    const got = readFileSync(out, 'utf8').trim().split('\n');
    const prefixLines = got.filter((l) => l.includes('10.0.0.1/32') || l === 'withdrawn-extra');
    expect(prefixLines).toEqual([
      'claim-withdrawn|hc0|NODE|10.0.0.1/32||health||||',
      'withdrawn-extra',
      'failover|hc0|NODE|10.0.0.1/32||claims|self|PEERB|12|',
    ]);
    expect(got).toContain('peer-up|hc0|NODE||PEERB|||||192.0.2.2:3210');
  });

  it('events without a script cost nothing; a failing script is logged and the queue goes on', async () => {
    const out = join(dir, 'x');
    const hooks = new EventHooks({ all: [], byEvent: { 'peer-down': ['exit 7', `echo ran >> ${out}`] }, timeoutMs: 5000 }, 'hc0', 'N', log());
    hooks.emit({ event: 'peer-up', peer: 'P' });
    hooks.emit({ event: 'peer-down', peer: 'P', reason: 'timeout' });
    await hooks.idle();
    expect(readFileSync(out, 'utf8')).toBe('ran\n');
    expect(lines.some((l) => /WARN +peer-down hook script failed .*exit=7/.test(l))).toBe(true);
  });

  it('bounds the queue of one key behind a stuck script, dropping the oldest with a warning', async () => {
    const seen: HookEventData[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const hooks = new EventHooks({ all: ['x'], byEvent: {}, timeoutMs: 5000 }, 'hc0', 'N', log(), async (_k, _s, env) => {
      seen.push({ event: env['EVENT'] as HookEventData['event'], prefix: env['PREFIX'], reason: env['REASON'] });
      await gate;
    });
    for (let i = 0; i < MAX_QUEUED_PER_KEY + 10; i++) hooks.emit({ event: 'claim-active', prefix: 'p', reason: String(i) });
    release();
    await hooks.idle();
    expect(seen.length).toBe(MAX_QUEUED_PER_KEY + 1); // the running one plus a full queue
    expect(seen[1]!.reason).toBe('10'); // events 1..9 were the oldest queued ones
    expect(lines.filter((l) => l.includes('hook queue for prefix p is full')).length).toBe(9);
  });
});
