// Fault soak benchmark: the e2e soak's scenario (soak-scenario.ts) run longer in a fresh lab,
// reported instead of asserted. An error (a node that died, a mesh that did not settle) ends
// the soak and is shown beside the faults measured until then.
import { withLab } from './scratch.js';
import { runSoak, SOAK_HOSTS, type SoakPlan, type SoakResult } from './soak-scenario.js';

export interface SoakRow {
  plan: SoakPlan;
  result?: SoakResult;
  error?: string;
}

export async function measureSoak(plan: SoakPlan, deadline: number, log: (text: string) => void): Promise<SoakRow> {
  if (Date.now() > deadline) return { plan, error: 'skipped: time budget used up' };
  log(`soak: seed ${plan.seed} (replay: npm run bench -- --only soak --soak-seed ${plan.seed}), ${plan.seconds} s of faults`);
  try {
    const result = await withLab(SOAK_HOSTS, (lab, dir) => runSoak(lab, dir, plan, log, deadline));
    return { plan, result };
  } catch (e) {
    return { plan, error: (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').slice(0, 300) };
  }
}
