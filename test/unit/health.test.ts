import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthGate } from '../../src/core/health.js';
import { HealthChecker } from '../../src/daemon/health-checker.js';
import { runProbe, type HealthProbeSpec, type ProbeResult } from '../../src/daemon/health-probe.js';

describe('HealthGate (rise/fall hysteresis)', () => {
  it('starts unhealthy and becomes healthy only after `rise` consecutive successes', () => {
    const g = new HealthGate({ rise: 3, fall: 2 });
    expect(g.healthy).toBe(false);
    expect([g.observe(true), g.observe(true), g.observe(false), g.observe(true), g.observe(true)]).toEqual([false, false, false, false, false]);
    expect(g.healthy).toBe(false);
    expect(g.observe(true)).toBe(true);
    expect(g.healthy).toBe(true);
  });

  it('is withdrawn only after `fall` consecutive failures; a success in between resets the count', () => {
    const g = new HealthGate({ rise: 1, fall: 3 });
    g.observe(true);
    expect([g.observe(false), g.observe(false), g.observe(true), g.observe(false), g.observe(false)].some(Boolean)).toBe(false);
    expect(g.healthy).toBe(true);
    expect(g.observe(false)).toBe(true);
    expect(g.healthy).toBe(false);
  });

  it('a check that alternates every time never changes a healthy state (rise, fall >= 2)', () => {
    const g = new HealthGate({ rise: 2, fall: 2 });
    g.observe(true);
    g.observe(true);
    let changes = 0;
    for (let i = 0; i < 1000; i++) if (g.observe(i % 2 === 0 ? false : true)) changes++;
    expect(changes).toBe(0);
    expect(g.healthy).toBe(true);
  });

  it('refuses thresholds below 1', () => {
    expect(() => new HealthGate({ rise: 0, fall: 1 })).toThrow(RangeError);
  });
});

describe('health probes (loopback)', () => {
  let tcp: Server;
  let http: HttpServer;
  let tcpPort = 0;
  let httpPort = 0;
  let closedPort = 0;
  beforeAll(async () => {
    tcp = createServer((s) => s.end());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    tcpPort = (tcp.address() as AddressInfo).port;
    http = createHttpServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 204 : req.url === '/slow' ? 200 : 503;
      if (req.url === '/slow') setTimeout(() => res.end(), 2000);
      else res.end('x');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as AddressInfo).port;
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closedPort = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  afterAll(async () => {
    http.closeAllConnections();
    await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => http.close(r))]);
  });

  it('tcp: a listening port is healthy, a closed one is not', async () => {
    expect((await runProbe({ kind: 'tcp', host: '127.0.0.1', port: tcpPort }, 500)).ok).toBe(true);
    const closed = await runProbe({ kind: 'tcp', host: '127.0.0.1', port: closedPort }, 500);
    expect(closed).toEqual({ ok: false, detail: 'ECONNREFUSED' });
  });

  it('http: 2xx is healthy, 503 is not, no answer within the timeout is not', async () => {
    expect(await runProbe({ kind: 'http', url: `http://127.0.0.1:${httpPort}/ok` }, 500)).toEqual({ ok: true, detail: 'HTTP 204' });
    expect(await runProbe({ kind: 'http', url: `http://127.0.0.1:${httpPort}/down` }, 500)).toEqual({ ok: false, detail: 'HTTP 503' });
    const started = Date.now();
    const slow = await runProbe({ kind: 'http', url: `http://127.0.0.1:${httpPort}/slow` }, 200);
    expect(slow).toEqual({ ok: false, detail: 'no answer within 200 ms' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('exec: exit 0 is healthy; a failure or a timeout is not, with the reason', async () => {
    expect((await runProbe({ kind: 'exec', command: 'test "$PREFIX" = 10.0.0.1/32' }, 1000, { PREFIX: '10.0.0.1/32' })).ok).toBe(true);
    expect(await runProbe({ kind: 'exec', command: 'echo down >&2; exit 4' }, 1000)).toEqual({ ok: false, detail: 'exit 4: down' });
    expect((await runProbe({ kind: 'exec', command: 'sleep 5' }, 100)).detail).toMatch(/^timed out/);
  });
});

describe('HealthChecker scheduling', () => {
  it('runs at most one check per claim at a time and reports every result', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const results: string[] = [];
    const slowRunner = async (_p: HealthProbeSpec): Promise<ProbeResult> => {
      inFlight++;
      runs++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 30)); // longer than the interval
      inFlight--;
      return { ok: runs % 2 === 0, detail: `run ${runs}` };
    };
    const checker = new HealthChecker(
      [{ claim: '10.0.0.1/32', probe: { kind: 'exec', command: 'x' }, intervalMs: 5, timeoutMs: 100 }],
      (claim, r) => results.push(`${claim} ${r.ok} ${r.detail}`),
      {},
      slowRunner,
    );
    checker.start();
    await new Promise((r) => setTimeout(r, 200));
    checker.stop();
    const seen = results.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(maxInFlight).toBe(1);
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(results.length).toBe(seen); // nothing reported after stop()
    expect(results[0]).toBe('10.0.0.1/32 false run 1');
  });
});
