// A lab plus a private temp directory for one measurement, removed afterwards: on success,
// failure, or (through cleanupAll) Ctrl-C. The lab itself comes from src/lab/netns.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab, type LabOptions } from '../src/lab/netns.js';

const live = new Set<{ lab?: Lab; dir: string }>();

/** Run fn with a fresh lab of these hosts (or layout) and a temp dir; both are removed when it settles. */
export async function withLab<T>(layout: readonly string[] | LabOptions, fn: (lab: Lab, dir: string) => Promise<T>): Promise<T> {
  const scope: { lab?: Lab; dir: string } = { dir: mkdtempSync(join(tmpdir(), 'hacloud-bench-')) };
  live.add(scope);
  try {
    scope.lab = await createLab(isHostList(layout) ? { hosts: layout } : layout);
    return await fn(scope.lab, scope.dir);
  } finally {
    await release(scope);
  }
}

function isHostList(layout: readonly string[] | LabOptions): layout is readonly string[] {
  return Array.isArray(layout);
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
