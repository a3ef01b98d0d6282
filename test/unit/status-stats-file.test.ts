import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../src/log/logger.js';
import { startStatsFile } from '../../src/status/stats-file.js';
import { buildStatusJson, type StatusJson } from '../../src/status/status-json.js';
import { engineStatus, INFO, SELF, SERVER_B } from './status-fixture.js';

describe('stats file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-stats-'));
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes YAML with node, peers, routes and traffic at start', () => {
    const path = join(dir, 'stats.yaml');
    const stats = startStatsFile(path, 60_000, () => buildStatusJson(INFO, engineStatus()));
    try {
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith('# hacloud stats')).toBe(true);
      const doc = parse(text) as Record<string, any>;
      expect(doc['node']['id']).toBe(SELF);
      expect(doc['node']['uptime-ms']).toBe(125_000);
      expect(doc['peers']).toHaveLength(1);
      expect(doc['peers'][0]).toMatchObject({
        'id': SERVER_B, 'endpoint': '172.31.5.11:3210', 'state': 'up',
        'traffic': { 'rx-bytes': 1_572_864, 'rx-packets': 1200, 'tx-bytes': 96_000, 'tx-packets': 1100 },
      });
      expect(doc['routes'].map((r: any) => r['prefix'])).toEqual(['10.0.0.1/32', '10.0.0.100/32', '192.168.77.0/24']);
      expect(doc['routes'][0]['active']).toBe(SERVER_B);
      expect(doc['traffic']['rx-bytes']).toBe(1_572_864);
      expect(doc['failovers-total']).toBe(3);
      expect(doc['dropped']['replay']).toBe(5);
      expect(statSync(path).mode & 0o777).toBe(0o644);
    } finally {
      stats.close();
    }
  });

  it('rewrites it every interval until closed, leaving no temporary files', () => {
    const path = join(dir, 'stats.yaml');
    let calls = 0;
    const stats = startStatsFile(path, 1000, (): StatusJson => {
      calls++;
      const e = engineStatus();
      e.failoversTotal = calls;
      return buildStatusJson(INFO, e);
    });
    const total = () => (parse(readFileSync(path, 'utf8')) as Record<string, number>)['failovers-total'];
    expect(total()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(total()).toBe(2);
    vi.advanceTimersByTime(2000);
    expect(total()).toBe(4);
    stats.close();
    vi.advanceTimersByTime(5000);
    expect(total()).toBe(4);
    expect(readdirSync(dir)).toEqual(['stats.yaml']);
  });

  it('logs a failing write once, never throws, and recovers', () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l) });
    const path = join(dir, 'missing-dir', 'stats.yaml');
    let fail = true;
    const stats = startStatsFile(path, 1000, () => {
      if (fail) throw new Error('no status');
      return buildStatusJson(INFO, engineStatus());
    }, log);
    vi.advanceTimersByTime(3000);
    expect(lines.filter((l) => l.includes('cannot write stats file'))).toHaveLength(1);
    fail = false;
    vi.advanceTimersByTime(1000); // still failing: the directory does not exist
    expect(lines.filter((l) => l.includes('cannot write stats file'))).toHaveLength(1);
    mkdirSync(join(dir, 'missing-dir'));
    vi.advanceTimersByTime(1000);
    expect(lines.filter((l) => l.includes('stats file written again'))).toHaveLength(1);
    expect((parse(readFileSync(path, 'utf8')) as Record<string, number>)['failovers-total']).toBe(3);
    stats.close();
    expect(readdirSync(join(dir, 'missing-dir'))).toEqual(['stats.yaml']);
  });
});
