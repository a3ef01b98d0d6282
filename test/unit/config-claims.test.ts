// Claims with options (priority, preemption, health checks) and event hooks, in YAML and on the
// command line; drain/undrain arguments.
import { describe, expect, it } from 'vitest';
import { parseArgs, parseCommand } from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { ownClaims, resolveSettings } from '../../src/config/resolve.js';
import type { ClaimConfig } from '../../src/config/types.js';
import { formatPrefix } from '../../src/wire/addr.js';

const BASE = ['--password', 'correct horse battery staple', '--ip', '10.0.0.5'];
const yaml = (...lines: string[]) => resolveSettings(parseConfigText([...lines, 'crypto:', '  password: correct horse battery staple'].join('\n'), 'c.yaml'));
const summary = (c: ClaimConfig) => ({ ...c, prefix: formatPrefix(c.prefix) });

describe('claims with options', () => {
  it('reads the compact form: options after their prefix, defaults for the rest', () => {
    const c = parseArgs([...BASE, '--claim', '10.0.0.1/32,priority=150,preempt=yes,preempt-delay=30s,health=tcp:127.0.0.1:8000,fall=3',
      '--claim', '10.9.0.0/16']);
    expect(c.claims.map(summary)).toEqual([
      {
        prefix: '10.0.0.1/32', priority: 150, preempt: true, preemptDelayMs: 30_000,
        health: { probe: { kind: 'tcp', host: '127.0.0.1', port: 8000 }, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
      },
      { prefix: '10.9.0.0/16', priority: 100, preempt: false, preemptDelayMs: 0, health: null },
    ]);
    // the auto-claimed --ip is a plain claim next to them
    expect(ownClaims(c).map((x) => formatPrefix(x.prefix))).toEqual(['10.0.0.1/32', '10.9.0.0/16', '10.0.0.5/32']);
  });

  it('reads YAML objects, and bare prefixes in the same list', () => {
    const c = yaml(
      'claims:',
      '  - 10.0.1.0/24',
      '  - prefix: 10.0.0.1/32',
      '    priority: 0',
      '    health: {http: "http://127.0.0.1:8080/health", interval: 2s, timeout: 1s, rise: 1, fall: 5}',
      '  - prefix: 10.0.0.2/32',
      '    health: {exec: "test -e /run/ok"}',
    );
    expect(c.claims.map(summary)).toEqual([
      { prefix: '10.0.1.0/24', priority: 100, preempt: false, preemptDelayMs: 0, health: null },
      {
        prefix: '10.0.0.1/32', priority: 0, preempt: false, preemptDelayMs: 0,
        health: { probe: { kind: 'http', url: 'http://127.0.0.1:8080/health' }, intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 5 },
      },
      {
        prefix: '10.0.0.2/32', priority: 100, preempt: false, preemptDelayMs: 0,
        health: { probe: { kind: 'exec', command: 'test -e /run/ok' }, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 2 },
      },
    ]);
  });

  it.each([
    [['--claim', 'priority=150'], /--claim: priority=150: a claim option must follow the prefix/],
    [['--claim', '10.0.0.1/32,priorty=150'], /unknown claim option 'priorty' \(did you mean 'priority'\?\)/],
    [['--claim', '10.0.0.1/32,priority=256'], /priority must be a whole number from 0 to 255, got '256'/],
    [['--claim', '10.0.0.1/32,interval=1s'], /interval, timeout, rise and fall need health=/],
    [['--claim', '10.0.0.1/32,health=tcp:127.0.0.1'], /tcp check '127.0.0.1' needs a port/],
    [['--claim', '10.0.0.1/32,health=ftp://x'], /expected tcp:HOST:PORT, http:\/\/URL/],
    [['--claim', '10.0.0.1/32,health=exec:true,rise=0'], /rise must be a whole number from 1 to 100/],
    [['--claim', '10.0.0.1/32,health=exec:true,interval=10ms'], /interval must be at least 100ms/],
    [['--claim', '10.0.0.1/32,preempt=maybe'], /preempt must be true or false/],
  ])('refuses %j with a one-line error', (args, message) => {
    expect(() => parseArgs([...BASE, ...args])).toThrowError(ConfigError);
    expect(() => parseArgs([...BASE, ...args])).toThrowError(message);
  });

  it('names the file and line of a bad YAML claim', () => {
    expect(() => yaml('claims:', '  - prefix: 10.0.0.1/32', '    helth: {tcp: "127.0.0.1:80"}')).toThrowError(
      /^c\.yaml:2: claims: unknown claim key 'helth' \(did you mean 'health'\?\)/);
    expect(() => yaml('claims:', '  - prefix: 10.0.0.1/32', '    health: {tcp: "127.0.0.1:80", http: "http://x/"}')).toThrowError(
      /c\.yaml:2: claims: health needs exactly one of tcp/);
    expect(() => yaml('claims:', '  - priority: 5')).toThrowError(/c\.yaml:2: claims: a claim written as an object needs prefix/);
  });
});

describe('event hooks config', () => {
  it('--hook runs for every event; a hooks: map names events', () => {
    const c = yaml('hooks:', '  claim-active: /bin/a.sh', '  all: [/bin/log.sh "x=1"]', '  peer-down: [/bin/b.sh, /bin/c.sh]', 'hook-timeout: 3s');
    expect(c.hooks).toEqual({ all: ['/bin/log.sh "x=1"'], byEvent: { 'claim-active': ['/bin/a.sh'], 'peer-down': ['/bin/b.sh', '/bin/c.sh'] }, timeoutMs: 3000 });
    const d = parseArgs([...BASE, '--hook', 'FOO=1 /bin/x.sh', '--hook', 'failover=/bin/f.sh']);
    expect(d.hooks).toEqual({ all: ['FOO=1 /bin/x.sh'], byEvent: { failover: ['/bin/f.sh'] }, timeoutMs: 10_000 });
    expect(yaml('hooks: /bin/all.sh').hooks.all).toEqual(['/bin/all.sh']);
  });
});

describe('drain and undrain', () => {
  it('take prefixes (canonical form) or none for all, and find the socket like status does', () => {
    expect(parseCommand(['drain', '10.0.0.1', '10.0.1.0/24', '--control-socket', '/run/x.sock'])).toEqual({
      kind: 'drain', prefixes: ['10.0.0.1/32', '10.0.1.0/24'], controlSocket: '/run/x.sock', timeoutMs: 10_000,
    });
    expect(parseCommand(['undrain', '-d', 'office'])).toMatchObject({ kind: 'undrain', prefixes: null, controlSocket: '/run/hacloud/office.sock' });
    expect(parseCommand(['drain', '--timeout', '2s', '--control-socket', '/run/x.sock'])).toMatchObject({ prefixes: null, timeoutMs: 2000 });
    expect(() => parseCommand(['drain', '10.0.0.300'])).toThrowError(/'10.0.0.300' is not a prefix/);
  });
});
