// The namespace lab lives in src/lab (the demo and the benchmarks use it too).
export * from '../../src/lab/netns.js';

import { rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { createLab, requireRoot, type Lab, type LabOptions } from '../../src/lab/netns.js';

/** Per-lab state of the hacloud nodes (identity files): removed with the lab. */
export function labStateDir(lab: Lab): string {
  return `/run/hacloud-test/${lab.id}`;
}

/**
 * A lab of `hosts` (or a whole layout, with LANs) for the enclosing describe block: made in a
 * beforeAll (after checking for root and running `preconditions`, e.g. requireBuilt), destroyed
 * in an afterAll even when a test failed. Hooks registered after this call run after the lab exists. Returns the getter.
 */
export function useLab(hosts: string[] | LabOptions, ...preconditions: (() => unknown)[]): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    requireRoot();
    for (const check of preconditions) check();
    lab = await createLab(Array.isArray(hosts) ? { hosts } : hosts);
  });
  afterAll(async () => {
    await lab?.destroy();
    if (lab) rmSync(labStateDir(lab), { recursive: true, force: true });
  });
  return () => {
    if (!lab) throw new Error('the lab is not up (its beforeAll failed)');
    return lab;
  };
}
