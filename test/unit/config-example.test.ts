// config/example.yaml must stay valid and document every key.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { FIELD_KEYS, FIELDS } from '../../src/config/fields.js';

const examplePath = fileURLToPath(new URL('../../config/example.yaml', import.meta.url));

describe('config/example.yaml', () => {
  it('loads without errors', () => {
    const config = parseArgs(['--config', examplePath], {});
    expect(config.ip?.text).toBe('10.0.0.1/24');
    expect(config.peers.length).toBeGreaterThan(0);
    expect(config.crypto.password).toBe('change-me');
    expect(config.keepaliveMs).toBeLessThan(config.peerTimeoutMs);
  });

  it('mentions every key, with a comment on or above it', () => {
    const lines = readFileSync(examplePath, 'utf8').split('\n');
    for (const key of FIELD_KEYS) {
      const leaf = FIELDS[key].yaml.split('.').pop()!;
      const at = lines.findIndex((l) => new RegExp(`^\\s*(#\\s*)?${leaf}:`).test(l));
      expect(at, `key ${FIELDS[key].yaml} is missing from example.yaml`).toBeGreaterThanOrEqual(0);
      const commented = lines[at]!.includes('#') || /^\s*#/.test(lines[at - 1] ?? '');
      expect(commented, `key ${FIELDS[key].yaml} has no comment`).toBe(true);
    }
  });
});
