// Flood benchmark: the e2e handshake-flood scenario (flood-scenario.ts) measured instead of
// asserted, one fresh lab per plan. Errors become the row's text; the run goes on.
import { floodHosts, floodReport, runFloodScenario, type FloodPlan, type FloodResult } from './flood-scenario.js';
import { withLab } from './scratch.js';

export interface FloodRow {
  plan: FloodPlan;
  result?: FloodResult;
  error?: string;
}

export async function measureFlood(plan: FloodPlan, deadline: number, log: (text: string) => void): Promise<FloodRow> {
  if (Date.now() > deadline) return { plan, error: 'skipped: time budget used up' };
  try {
    const result = await withLab(floodHosts(plan), (lab, dir) => runFloodScenario(lab, dir, plan));
    log(floodReport(result).replace(/\n/g, '\n[bench]   '));
    return { plan, result };
  } catch (e) {
    return { plan, error: (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').slice(0, 300) };
  }
}
