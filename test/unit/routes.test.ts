import { describe, expect, it } from 'vitest';
import { KernelRoutes, planRoutes, prefixWithin, wantedRoutes } from '../../src/daemon/routes.js';
import { createLogger } from '../../src/log/logger.js';
import { parsePrefix } from '../../src/wire/addr.js';

const P = (text: string) => parsePrefix(text);
const OWN = [P('10.0.0.0/24')];

function setup(fail: (args: string[]) => boolean = () => false, delayMs = 0) {
  const calls: string[] = [];
  const lines: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const routes = new KernelRoutes({
    device: 'hacloud0',
    ownNetworks: OWN,
    log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
    run: async (args) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls.push(args.join(' '));
      await new Promise((r) => setTimeout(r, delayMs));
      running--;
      if (fail(args)) throw new Error(`ip ${args.join(' ')}: RTNETLINK answers: Operation not permitted`);
    },
  });
  return { routes, calls, lines, maxRunning: () => maxRunning };
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

  it('adds what is new and removes what is gone', () => {
    expect(planRoutes(['192.168.77.0/24', '172.16.0.0/12'], [P('192.168.77.0/24'), P('192.168.78.0/24')], OWN)).toEqual({
      add: [P('192.168.78.0/24')],
      remove: ['172.16.0.0/12'],
    });
    expect(planRoutes([], [], OWN)).toEqual({ add: [], remove: [] });
  });
});

describe('KernelRoutes', () => {
  it('adds routes through the device and removes them when the claims go away', async () => {
    const { routes, calls } = setup();
    await routes.sync([P('10.0.0.1/32'), P('192.168.77.0/24'), P('fd00:1::/64')]);
    expect(calls).toEqual([
      '-4 route replace 192.168.77.0/24 dev hacloud0',
      '-6 route replace fd00:1::/64 dev hacloud0',
    ]);
    expect(routes.routes).toEqual(['192.168.77.0/24', 'fd00:1::/64']);
    calls.length = 0;
    await routes.sync([P('192.168.77.0/24'), P('10.9.0.0/16')]);
    expect(calls).toEqual(['-6 route del fd00:1::/64 dev hacloud0', '-4 route replace 10.9.0.0/16 dev hacloud0']);
    calls.length = 0;
    await routes.sync([P('192.168.77.0/24'), P('10.9.0.0/16')]);
    expect(calls).toEqual([]);
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
    expect(calls).toEqual(['-4 route replace 192.168.3.0/24 dev hacloud0', '-4 route replace 192.168.4.0/24 dev hacloud0']);
    expect(routes.routes).toEqual(['192.168.3.0/24', '192.168.4.0/24']);
  });

  it('logs failures instead of throwing, and retries a failed add on the next sync', async () => {
    let failing = true;
    const { routes, calls, lines } = setup(() => failing);
    await expect(routes.sync([P('192.168.77.0/24')])).resolves.toBeUndefined();
    expect(routes.routes).toEqual([]);
    expect(lines.some((l) => l.includes('WARN') && l.includes('cannot add kernel route') && l.includes('192.168.77.0/24'))).toBe(true);
    failing = false;
    await routes.sync([P('192.168.77.0/24')]);
    expect(calls).toHaveLength(2);
    expect(routes.routes).toEqual(['192.168.77.0/24']);
  });

  it('close() removes every route it added, and later syncs do nothing', async () => {
    const { routes, calls } = setup();
    await routes.sync([P('192.168.77.0/24'), P('fd00:1::/64')]);
    calls.length = 0;
    await routes.close();
    expect(calls.sort()).toEqual(['-4 route del 192.168.77.0/24 dev hacloud0', '-6 route del fd00:1::/64 dev hacloud0']);
    await routes.sync([P('192.168.99.0/24')]);
    expect(calls).toHaveLength(2);
    expect(routes.routes).toEqual([]);
  });
});
