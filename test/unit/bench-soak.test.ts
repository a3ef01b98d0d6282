// The pieces of the fault soak (bench/soak-*.ts, test/e2e/soak.test.ts) that decide whether it
// passes: the seeded schedule (a seed must replay the same faults), the silence a client saw,
// the memory/descriptor trend, and the bulk client's verdicts (a corrupted transfer must be
// called corrupt, not ok), the last against sinks on loopback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { longestSilence, parseReply, parseTransfer, resourceTrend, type ResourceSample } from '../../bench/soak-analysis.js';
import { FAULT_KINDS, faultSchedule, seedFrom, type Fault } from '../../bench/soak-schedule.js';

const TCP_FIXTURE = new URL('../e2e/fixtures/tcp.mjs', import.meta.url).pathname;

function first(seed: number, n: number): Fault[] {
  const out: Fault[] = [];
  for (const f of faultSchedule(seed)) {
    out.push(f);
    if (out.length === n) break;
  }
  return out;
}

describe('fault schedule', () => {
  it('replays exactly from its seed, and another seed gives other faults', () => {
    expect(first(1234, 50)).toEqual(first(1234, 50));
    expect(first(1235, 50)).not.toEqual(first(1234, 50));
  });

  it('starts with each kind once, whatever the seed', () => {
    for (let seed = 0; seed < 200; seed++) {
      expect(new Set(first(seed, 4).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    }
  });

  it('holds SIGSTOP and kill -9 both shorter and longer than the fast peer timeout, and aims most at the active server', () => {
    const faults = first(99, 400);
    const holds = faults.filter((f) => f.kind === 'stop' || f.kind === 'kill').map((f) => f.holdMs);
    expect(holds.some((ms) => ms < 800)).toBe(true);
    expect(holds.some((ms) => ms > 800)).toBe(true);
    const servers = faults.flatMap((f) => (f.kind === 'stop' || f.kind === 'kill' ? [f.server] : []));
    expect(servers.filter((s) => s === 'active').length).toBeGreaterThan(servers.length / 2);
    for (const f of faults) {
      expect(f.holdMs).toBeGreaterThan(0);
      expect(f.gapMs).toBeGreaterThanOrEqual(500);
      if (f.kind === 'loss') expect(f.percent).toBe(20);
    }
  });

  it('takes SOAK_SEED as given and rejects what is not a 32-bit seed', () => {
    expect(seedFrom('42')).toBe(42);
    expect(seedFrom('0xff')).toBe(255);
    expect(Number.isInteger(seedFrom(undefined))).toBe(true);
    expect(() => seedFrom('-1')).toThrow(/SOAK_SEED/);
    expect(() => seedFrom('4294967296')).toThrow(/SOAK_SEED/);
    expect(() => seedFrom('abc')).toThrow(/SOAK_SEED/);
  });
});

describe('what the soak reads from its load', () => {
  it('tells answers from failures', () => {
    const servers = ['s1', 's2', 's3'];
    expect(parseReply('1700000000123 s2', servers)).toEqual({ at: 1_700_000_000_123, server: 's2' });
    expect(parseReply('1700000000123 error-ECONNRESET', servers)).toEqual({ at: 1_700_000_000_123, server: null });
    expect(parseReply('1700000000123 status-502', servers)).toEqual({ at: 1_700_000_000_123, server: null });
    expect(parseReply('READY', servers)).toBeNull();
    expect(parseTransfer('bulk ok 10 20 524288')).toEqual({ outcome: 'ok', start: 10, end: 20, detail: '524288' });
    expect(parseTransfer('bulk corrupt 10 20 524288')?.outcome).toBe('corrupt');
    expect(parseTransfer('bulk fail 10 20 timeout')?.outcome).toBe('fail');
    expect(parseTransfer('READY')).toBeNull();
  });

  it('measures the longest time without an answer from the fault on, open ends included', () => {
    const answers = [900, 1010, 1030, 1900, 1920, 1950];
    expect(longestSilence(answers, 1000, 2000)).toBe(870); // 1030 → 1900: the failover
    expect(longestSilence(answers, 1000, 1040)).toBe(20); // answers kept coming
    expect(longestSilence(answers, 1000, 3000)).toBe(1050); // nothing after 1950: still silent at the end
    expect(longestSilence([], 1000, 1500)).toBe(500);
    expect(longestSilence([1600], 1000, 1700)).toBe(600); // from the fault to the first answer
  });

  it('sees memory or descriptors that keep growing, not the ups and downs of a collector', () => {
    const samples = (rss: (i: number) => number, fds: (i: number) => number): ResourceSample[] =>
      Array.from({ length: 40 }, (_, i) => ({ at: i * 1000, rssKb: rss(i), fds: fds(i) }));
    const sawtooth = resourceTrend(samples((i) => 70_000 + (i % 5) * 4_000, () => 22))!;
    expect(Math.abs(sawtooth.rssEndMb - sawtooth.rssStartMb)).toBeLessThan(1);
    expect(sawtooth.fdsEnd - sawtooth.fdsStart).toBe(0);
    const leak = resourceTrend(samples((i) => 70_000 + i * 1_024, (i) => 22 + Math.floor(i / 4)))!;
    expect(leak.rssEndMb - leak.rssStartMb).toBeGreaterThan(25);
    expect(leak.fdsEnd - leak.fdsStart).toBeGreaterThan(5);
    expect(resourceTrend(samples(() => 1, () => 1).slice(0, 5))).toBeNull();
  });
});

/** A sink on loopback that answers like tcp.mjs sink, or with a wrong hash. */
async function sink(honest: boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    const hash = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d) => {
      hash.update(d);
      bytes += d.length;
    });
    sock.on('end', () => sock.end(`sha256 ${honest ? hash.digest('hex') : 'ab'.repeat(32)} ${bytes}\n`));
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function bulk(port: number): Promise<string[]> {
  // 64 KiB at 1 MiB/s for at most 300 ms: a few transfers.
  return new Promise((resolve) => {
    execFile(process.execPath, [TCP_FIXTURE, 'bulk', '127.0.0.1', String(port), '65536', String(1024 * 1024), '300'], { timeout: 10_000 },
      (_err, stdout) => resolve(stdout.split('\n').filter((l) => l.startsWith('bulk '))));
  });
}

describe('tcp.mjs bulk', () => {
  it('calls a transfer ok only when the sink saw exactly what was sent, and corrupt otherwise', async () => {
    for (const honest of [true, false]) {
      const { server, port } = await sink(honest);
      try {
        const lines = await bulk(port);
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(line).toMatch(honest ? /^bulk ok \d+ \d+ 65536$/ : /^bulk corrupt \d+ \d+ 65536$/);
      } finally {
        server.close();
      }
    }
  });

  it('reports a refused connection as a failed transfer and keeps going', async () => {
    const { server, port } = await sink(true);
    server.close();
    const lines = await bulk(port);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(/^bulk fail \d+ \d+ ECONNREFUSED$/);
  });
});
