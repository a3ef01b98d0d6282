// hacloud's own version, read from its package.json. Used by the CLI (--version) and the
// daemon (status): it lives below both so no lower layer imports the CLI.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/** hacloud's version from its package.json (read once per process). */
export function readVersion(): string {
  version ??= findVersion();
  return version;
}

/** The version from package.json, found from this file in src or dist/src. */
function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hacloud' && pkg.version) return pkg.version;
    } catch {
      // not here; look one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
