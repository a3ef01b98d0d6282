// claim-rights and allowed-routes: YAML map and flag forms, merging, one-line errors, warnings.
import { describe, expect, it } from 'vitest';
import { parseArgs, settingsFromArgs } from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { mergeSettings } from '../../src/config/merge.js';
import { claimRightsMap, resolveSettings } from '../../src/config/resolve.js';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { formatPrefix, type Prefix } from '../../src/wire/addr.js';

const A = generateKeyPair().id;
const B = generateKeyPair().id;
const yaml = (...lines: string[]) => parseConfigText(`${lines.join('\n')}\n`, 'node.yaml');
const pw = ['--password', 'x'];

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const rightsText = (m: Map<string, readonly Prefix[]> | null) =>
  m && Object.fromEntries([...m].map(([k, ps]) => [k, ps.map(formatPrefix)]));

describe('claim-rights', () => {
  it('reads the YAML map form, a single prefix or a list per key', () => {
    const settings = yaml('claim-rights:', `  ${A}: [10.0.0.1/32, 192.168.0.0/16]`, `  ${B}: 10.0.0.1`, 'crypto: {password: x}');
    const config = resolveSettings(settings);
    expect(rightsText(claimRightsMap(config))).toEqual({ [A]: ['10.0.0.1/32', '192.168.0.0/16'], [B]: ['10.0.0.1/32'] });
  });

  it('takes --claim-right KEY=PREFIX[,PREFIX...], repeatable, joined with the file by key', () => {
    const file = yaml('claim-rights:', `  ${A}: 10.0.0.1/32`, 'crypto: {password: x}');
    const flags = settingsFromArgs({ 'claim-right': [`${A}=10.0.0.2/32,10.0.0.1/32`, `${B}=fd00::/64`] });
    const config = resolveSettings(mergeSettings(file, flags));
    expect(rightsText(claimRightsMap(config))).toEqual({ [A]: ['10.0.0.1/32', '10.0.0.2/32'], [B]: ['fd00::/64'] });
  });

  it('is null when not configured, and ~ leaves it unset', () => {
    expect(claimRightsMap(parseArgs(pw))).toBeNull();
    expect(claimRightsMap(resolveSettings(yaml('claim-rights: ~', 'crypto: {password: x}')))).toBeNull();
  });

  it('refuses bad keys and prefixes with one line naming where', () => {
    expect(errorOf(() => yaml('claim-rights:', '  not-a-key: 10.0.0.1'))).toMatch(/^node\.yaml:2: claim-rights: .*43 base64url/);
    expect(errorOf(() => yaml('claim-rights:', `  ${A}: 10.0.0.300`))).toMatch(/^node\.yaml:2: claim-rights: .*not an IP address/);
    expect(errorOf(() => yaml('claim-rights:', `  ${A}:`))).toMatch(/^node\.yaml:2: claim-rights: .*expected a prefix/);
    expect(errorOf(() => parseArgs([...pw, '--claim-right', A]))).toMatch(/^--claim-right: .*KEY=PREFIX/);
    expect(errorOf(() => parseArgs([...pw, '--claim-right', `${A}=`]))).toMatch(/^--claim-right: .*names no prefix/);
  });
});

describe('allowed-routes', () => {
  it('reads a list or comma list from YAML and --allowed-route, deduplicated', () => {
    const file = yaml('allowed-routes: [8.8.8.0/24, "2001:db8::/32"]', 'crypto: {password: x}');
    const flags = settingsFromArgs({ 'allowed-route': ['8.8.8.0/24,1.2.3.4'] });
    const config = resolveSettings(mergeSettings(file, flags));
    expect(config.allowedRoutes.map(formatPrefix)).toEqual(['8.8.8.0/24', '2001:db8::/32', '1.2.3.4/32']);
    expect(parseArgs(pw).allowedRoutes).toEqual([]);
  });

  it('warns about our own claims outside the safe ranges, unless allowed-routes cover them', () => {
    expect(parseArgs([...pw, '--claim', '8.8.8.0/24']).warnings.join('\n')).toMatch(/claim 8\.8\.8\.0\/24 is outside the private/);
    expect(parseArgs([...pw, '--claim', '8.8.8.0/24', '--allowed-route', '8.0.0.0/8']).warnings.join('\n')).not.toMatch(/outside/);
    expect(parseArgs([...pw, '--claim', '10.9.0.0/16']).warnings.join('\n')).not.toMatch(/outside/);
  });
});
