import { describe, expect, it } from 'vitest';
import { KernelRoutes, parseBatchErrors, planRoutes, prefixWithin, wantedRoutes } from '../../src/daemon/routes.js';
import { createLogger } from '../../src/log/logger.js';
import { parsePrefix } from '../../src/wire/addr.js';

const P = (text: string) => parsePrefix(text);
const OWN = [P('10.0.0.0/24')];

/** A fake `ip -batch`: records each batch's lines; `fail` picks lines that fail. */
function setup(fail: (line: string) => boolean = () => false, delayMs = 0) {
  const batches: string[][] = [];
  const lines: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const routes = new KernelRoutes({
    device: 'hacloud0',
    ownNetworks: OWN,
    allowedRoutes: [P('8.8.8.0/24')],
    log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
    run: async (batch) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      batches.push(batch);
      await new Promise((r) => setTimeout(r, delayMs));
      running--;
      return batch.flatMap((line, i) => (fail(line) ? [{ line: i, error: 'RTNETLINK answers: Operation not permitted' }] : []));
    },
  });
  const calls = () => batches.flat();
  return { routes, batches, calls, lines, maxRunning: () => maxRunning };
}

describe('route planning', () => {
  it('knows which prefixes lie inside another', () => {
    expect(prefixWithin(P('10.0.0.1/32'), P('10.0.0.0/24'))).toBe(true);
    expect(prefixWithin(P('10.0.0.0/24'), P('10.0.0.0/24'))).toBe(true);
    expect(prefixWithin(P('10.0.0.0/23'), P('10.0.0.0/24'))).toBe(false);
    expect(prefixWithin(P('10.0.1.0/24'), P('10.0.0.0/24'))).toBe(false);
    expect(prefixWithin(P('fd00::1/128'), P('10.0.0.0/8'))).toBe(false);
    expect(prefixWithin(P('fd00::1/128'), P('fd00::/64'))).toBe(true);
  });

  it('routes claims outside the own networks, never default routes, without duplicates', () => {
    const wanted = wantedRoutes(
      [P('10.0.0.1/32'), P('192.168.77.0/24'), P('192.168.77.0/24'), P('0.0.0.0/0'), P('::/0'), P('10.0.0.0/16'), P('fd00:1::/64')],
      OWN,
    );
    expect([...wanted.keys()]).toEqual(['192.168.77.0/24', '10.0.0.0/16', 'fd00:1::/64']);
  });

  it('routes only the private and shared ranges, plus what allowed-routes lists', () => {
    const claimed = [P('8.8.8.8/32'), P('0.0.0.0/1'), P('100.64.1.0/24'), P('fc00::/7'), P('fd00::/16'), P('1.1.1.1/32')];
    expect([...wantedRoutes(claimed, OWN).keys()]).toEqual(['100.64.1.0/24', 'fd00::/16']);
    expect([...wantedRoutes(claimed, OWN, [P('8.8.8.0/24'), P('0.0.0.0/0')]).keys()])
      .toEqual(['8.8.8.8/32', '0.0.0.0/1', '100.64.1.0/24', 'fd00::/16', '1.1.1.1/32']);
  });

  it('adds what is new and removes what is gone', () => {
    expect(planRoutes(['192.168.77.0/24', '172.16.0.0/12'], [P('192.168.77.0/24'), P('192.168.78.0/24')], OWN)).toEqual({
      add: [P('192.168.78.0/24')],
      remove: ['172.16.0.0/12'],
    });
    expect(planRoutes([], [], OWN)).toEqual({ add: [], remove: [] });
  });
});

describe('KernelRoutes', () => {
  it('adds routes through the device and removes them when the claims go away, one batch per change', async () => {
    const { routes, batches } = setup();
    await routes.sync([P('10.0.0.1/32'), P('192.168.77.0/24'), P('fd00:1::/64'), P('8.8.8.8/32'), P('9.9.9.9/32')]);
    expect(batches).toEqual([[
      'route replace 192.168.77.0/24 dev hacloud0',
      'route replace fd00:1::/64 dev hacloud0',
      'route replace 8.8.8.8/32 dev hacloud0',
    ]]);
    expect(routes.routes).toEqual(['192.168.77.0/24', 'fd00:1::/64', '8.8.8.8/32']);
    batches.length = 0;
    await routes.sync([P('192.168.77.0/24'), P('10.9.0.0/16')]);
    expect(batches).toEqual([[
      'route del fd00:1::/64 dev hacloud0',
      'route del 8.8.8.8/32 dev hacloud0',
      'route replace 10.9.0.0/16 dev hacloud0',
    ]]);
    batches.length = 0;
    await routes.sync([P('192.168.77.0/24'), P('10.9.0.0/16')]);
    expect(batches).toEqual([]);
  });

  it('applies many claims with one ip process', async () => {
    const { routes, batches } = setup();
    await routes.sync(Array.from({ length: 64 }, (_, i) => P(`10.1.${i}.0/24`)));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(64);
  });

  it('runs one ip at a time and coalesces bursts to the latest set', async () => {
    const { routes, calls, maxRunning } = setup(() => false, 5);
    const done = [
      routes.sync([P('192.168.1.0/24')]),
      routes.sync([P('192.168.2.0/24')]),
      routes.sync([P('192.168.3.0/24'), P('192.168.4.0/24')]),
    ];
    await Promise.all(done);
    expect(maxRunning()).toBe(1);
    // The first sync had not started when the later ones came in: only the final set is applied.
    expect(calls()).toEqual(['route replace 192.168.3.0/24 dev hacloud0', 'route replace 192.168.4.0/24 dev hacloud0']);
    expect(routes.routes).toEqual(['192.168.3.0/24', '192.168.4.0/24']);
  });

  it('logs failures instead of throwing, and retries a failed add on the next sync', async () => {
    let failing = true;
    const { routes, calls, lines } = setup((line) => failing && line.includes('192.168.77.0'));
    await expect(routes.sync([P('192.168.77.0/24'), P('192.168.78.0/24')])).resolves.toBeUndefined();
    expect(routes.routes).toEqual(['192.168.78.0/24']);
    expect(lines.some((l) => l.includes('WARN') && l.includes('cannot add kernel route') && l.includes('192.168.77.0/24'))).toBe(true);
    failing = false;
    await routes.sync([P('192.168.77.0/24'), P('192.168.78.0/24')]);
    expect(calls()).toHaveLength(3);
    expect(routes.routes).toEqual(['192.168.78.0/24', '192.168.77.0/24']);
  });

  it('treats an ip that cannot run as every line failed', async () => {
    const lines: string[] = [];
    const routes = new KernelRoutes({
      device: 'hacloud0', ownNetworks: OWN, log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
      run: () => Promise.reject(new Error('spawn ip ENOENT')),
    });
    await routes.sync([P('192.168.77.0/24')]);
    expect(routes.routes).toEqual([]);
    expect(lines.some((l) => l.includes('cannot add kernel route') && l.includes('ENOENT'))).toBe(true);
  });

  it('reads which batch lines failed from ip -force -batch stderr', () => {
    const stderr = 'RTNETLINK answers: No such process\nCommand failed -:2\nCannot find device "x"\nCommand failed -:5\n';
    expect(parseBatchErrors(stderr)).toEqual([
      { line: 1, error: 'RTNETLINK answers: No such process' },
      { line: 4, error: 'Cannot find device "x"' },
    ]);
    expect(parseBatchErrors('')).toEqual([]);
  });

  it('close() removes every route it added, and later syncs do nothing', async () => {
    const { routes, batches } = setup();
    await routes.sync([P('192.168.77.0/24'), P('fd00:1::/64')]);
    batches.length = 0;
    await routes.close();
    expect(batches).toEqual([['route del 192.168.77.0/24 dev hacloud0', 'route del fd00:1::/64 dev hacloud0']]);
    await routes.sync([P('192.168.99.0/24')]);
    expect(batches).toHaveLength(1);
    expect(routes.routes).toEqual([]);
  });
});
