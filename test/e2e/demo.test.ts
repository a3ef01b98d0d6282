// `hacloud demo` as a user runs it: a real failover in namespaces it builds itself. Its timeline
// and final line are parsed and checked, and nothing it created may be left behind.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FAST_KEEPALIVE_MS, FAST_PEER_TIMEOUT_MS } from '../../src/core/constants.js';
import { HACLOUD_BIN, requireBuilt } from './hacloud.js';
import { requireRoot } from './lab.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HACLOUD_BIN, 'demo'], { timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** `key=value` pairs of the final line. */
function summary(stdout: string): Record<string, string> {
  const last = stdout.trimEnd().split('\n').pop()!;
  expect(last).toMatch(/^demo: ok /);
  return Object.fromEntries(last.slice('demo: ok '.length).split(' ').map((kv) => kv.split('=') as [string, string]));
}

/** Milliseconds of the timeline line that contains `text` ("  +782 ms  client switches ..."). */
function at(stdout: string, text: string): number {
  const line = stdout.split('\n').find((l) => l.includes(text));
  expect(line, `timeline line "${text}" in:\n${stdout}`).toBeDefined();
  return Number(/^\s*([+-]?\d+) ms/.exec(line!)![1]);
}

async function labNamespaces(labId: string): Promise<string[]> {
  const out = await new Promise<string>((resolve) => execFile('ip', ['netns', 'list'], (_e, stdout) => resolve(stdout)));
  return out.split('\n').filter((l) => l.startsWith(`hc${labId}-`));
}

describe('hacloud demo', () => {
  it('fails over to the survivor, stays there after the restart, prints the timeline and cleans up', async () => {
    requireRoot();
    requireBuilt();
    const run = await runDemo();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = run.stdout;

    expect(out).toMatch(/client routes 10\.0\.0\.1\/32 to servera \(longest uptime\), serverb is standby/);
    expect(out).toMatch(/kill -9 servera's hacloud \(pid \d+\)/);
    const s = summary(out);
    const [failover, detect, sw, gap] = [s['failover_ms'], s['detect_ms'], s['switch_ms'], s['gap_ms']].map(Number) as [number, number, number, number];

    // The timeline agrees with the summary and is in causal order.
    expect(at(out, "servera's hacloud killed")).toBe(0);
    expect(at(out, 'client declares servera dead')).toBe(detect);
    expect(at(out, 'client switches 10.0.0.1/32 to serverb (cause: timeout)')).toBe(sw);
    expect(at(out, 'first reply from serverb')).toBe(failover);
    // In-flight packets may still arrive a moment after the kill.
    expect(at(out, 'last packet the client heard from servera')).toBeLessThanOrEqual(20);
    // serverb may notice first and announce that it serves: the client then switches a moment
    // before its own timer declares servera dead (within one keepalive).
    expect(sw).toBeLessThanOrEqual(detect + FAST_KEEPALIVE_MS);
    expect(sw).toBeLessThanOrEqual(failover);
    if (s['suspect_ms'] !== '-') expect(Number(s['suspect_ms'])).toBeLessThan(detect);

    // Detected by the peer timeout: silent at least that long, and not much longer
    // (the bound is generous; speed is measured by the benchmark, not here).
    expect(gap).toBeGreaterThanOrEqual(FAST_PEER_TIMEOUT_MS - FAST_KEEPALIVE_MS);
    expect(sw).toBeGreaterThan(FAST_PEER_TIMEOUT_MS - FAST_KEEPALIVE_MS - 100);
    expect(failover).toBeLessThan(FAST_PEER_TIMEOUT_MS + 2000);

    // The restarted servera did not take the address back.
    expect(s['stayed']).toBe('yes');
    expect(out).toMatch(/servera: restarted hacloud/);
    expect(out).toMatch(/servera rejoined; client routes 10\.0\.0\.1\/32 to serverb \(longest uptime\): (\d+)\/\1 replies from serverb/);

    const labId = /cleaned up lab (\S+)/.exec(out)?.[1];
    expect(labId).toBeDefined();
    expect(await labNamespaces(labId!)).toEqual([]);
  }, 90_000);
});
