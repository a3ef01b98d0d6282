// A lab plus a private temp directory for one measurement, removed afterwards: on success,
// failure, or (through cleanupAll) Ctrl-C. The lab itself comes from src/lab/netns.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '../src/lab/netns.js';

const live = new Set<{ lab?: Lab; dir: string }>();

/** Run fn with a fresh lab of these hosts and a temp dir; both are removed when it settles. */
export async function withLab<T>(hosts: readonly string[], fn: (lab: Lab, dir: string) => Promise<T>): Promise<T> {
  const scope: { lab?: Lab; dir: string } = { dir: mkdtempSync(join(tmpdir(), 'hacloud-bench-')) };
  live.add(scope);
  try {
    scope.lab = await createLab({ hosts });
    return await fn(scope.lab, scope.dir);
  } finally {
    await release(scope);
  }
}

async function release(scope: { lab?: Lab; dir: string }): Promise<void> {
  await scope.lab?.destroy();
  rmSync(scope.dir, { recursive: true, force: true });
  live.delete(scope);
}

/** Stop every process and remove every lab and temp dir still alive. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...live].map(release));
}
