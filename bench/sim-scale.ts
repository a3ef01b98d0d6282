// Simulator scale benchmark (issue 13): N simulated nodes (test/sim's harness and SimChannel,
// no cryptography, a LAN of 0.5–1 ms), each claiming its own /32, two of them sharing the
// address 10.0.0.1, everyone seeded with the same three bootstrap nodes and started within
// the first second. Default timings (keepalive 500 ms, peer timeout 3 s). No root needed.
//
// Measured, in simulated time unless said otherwise:
//   converged  — until every node routes every node's /32 to it (checked each simulated s),
//                and the control traffic and CPU per node meanwhile;
//   idle       — over a quiet window once converged: datagrams and bytes sent per node per s
//                (there is no data traffic: all of it is control), timer wake-ups per node
//                per s, and the simulator's CPU (user+sys of this process, so the network's
//                and harness's own work is included) per node per simulated s;
//   join       — a new node starts: until every node routes its /32 to it;
//   crash      — kill -9 of a node: until no live node routes its /32 any more;
//   failover   — a client pings 10.0.0.1 every 20 ms, its active claimant is killed: until the
//                client's first reply from the survivor, and until every live node routes
//                10.0.0.1 to the survivor.
// Checks run every 10 simulated ms (convergence: every 1 s), so times are good to 10 ms.
// Every phase stops at its simulated limit or when the run's CPU budget is spent, and says so.
import { runSeeded, Sim, type SimNode } from '../test/sim/harness.js';
import { parseIPv4 } from '../src/wire/addr.js';

export interface SimScalePlan {
  nodes: number;
  /** Simulated ms allowed for the mesh to converge, and each of join, crash and failover. */
  convergeMaxMs: number;
  phaseMaxMs: number;
  /** Simulated ms of the idle window, and of the wait before it once converged (default 3 s). */
  idleMs: number;
  settleMs?: number;
  /** CPU seconds (this process) the whole row may use; phases that would start later are skipped. */
  cpuBudgetS: number;
}

/** A measured time, or why there is none. */
export type Timing = { ms: number } | { over: string };

/** Per node: datagrams and bytes sent per simulated s, timer wake-ups per simulated s, CPU ms per simulated s. */
export interface Load {
  datagramsPerS: number;
  bytesPerS: number;
  wakeupsPerS: number;
  cpuMsPerS: number;
}

export interface SimScaleRow {
  plan: SimScalePlan;
  keepaliveMs: number;
  peerTimeoutMs: number;
  converge: Timing;
  /** Share of (node, /32) pairs routed right when convergence stopped (1 when converged). */
  knownShare: number;
  /** Per node while converging (from the start until converged or stopped). */
  converging?: Load;
  /** Per node over the quiet window once converged. */
  idle?: Load;
  join: Timing;
  crash: Timing;
  failoverClient: Timing;
  failoverAll: Timing;
  simulatedS: number;
  cpuS: number;
  error?: string;
}

const KEEPALIVE_MS = 500;
const PEER_TIMEOUT_MS = 3_000;
const VIP = '10.0.0.1';
const CHECK_MS = 10;
const SEED = 1_300;

function cpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function ipOf(i: number): string {
  return `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

export function measureSimScale(plan: SimScalePlan, log: (text: string) => void): SimScaleRow {
  const cpu0 = cpuS();
  const row: SimScaleRow = {
    plan, keepaliveMs: KEEPALIVE_MS, peerTimeoutMs: PEER_TIMEOUT_MS, converge: { over: 'not run' }, knownShare: 0,
    join: { over: 'CPU budget spent' }, crash: { over: 'CPU budget spent' }, failoverClient: { over: 'CPU budget spent' },
    failoverAll: { over: 'CPU budget spent' },
    simulatedS: 0, cpuS: 0,
  };
  const outOfCpu = (): boolean => cpuS() - cpu0 > plan.cpuBudgetS;
  const n = plan.nodes;
  const sim = new Sim({ seed: SEED + n, keepaliveMs: KEEPALIVE_MS, peerTimeoutMs: PEER_TIMEOUT_MS, maxEvents: Number.MAX_SAFE_INTEGER, logLimit: 10_000 });
  try {
    runSeeded(`sim-scale ${n}`, SEED + n, () => run(sim, plan, row, outOfCpu, log));
  } catch (e) {
    row.error = e instanceof Error ? e.message.split('\n').slice(0, 2).join(': ') : String(e);
  }
  row.simulatedS = sim.now / 1000;
  row.cpuS = cpuS() - cpu0;
  return row;
}

function run(sim: Sim, plan: SimScalePlan, row: SimScaleRow, outOfCpu: () => boolean, log: (text: string) => void): void {
  const n = plan.nodes;
  const bootstrap = ['n0', 'n1', 'n2'];
  // n3 and n4 share the VIP, n5 is the client, the others are plain members
  for (let i = 0; i < n; i++) {
    sim.add({ name: `n${i}`, ip: ipOf(i), seeds: bootstrap.filter((s) => s !== `n${i}`), ...(i === 3 || i === 4 ? { claims: [VIP] } : {}) });
  }
  for (const node of sim.all) sim.at(sim.rng.range(0, 1_000), () => sim.start(node.name));
  const members = (): SimNode[] => sim.live().filter((x) => x.stopAt === null);

  // converged: every node routes every /32 to its owner
  const known = (): number => {
    let ok = 0;
    for (const a of sim.all) for (const b of sim.all) if (a.running && a.engine!.routeFor(b.address) === b.id) ok++;
    return ok / (n * n);
  };
  const t0 = sim.now;
  let mark = loadMark(sim);
  for (let step = 1; ; step++) {
    sim.run(100); // the CPU budget is checked every 100 simulated ms, the routes every second
    if (step % 10 === 0) {
      row.knownShare = known();
      if (row.knownShare === 1) {
        row.converge = { ms: sim.now - t0 };
        break;
      }
    }
    if (sim.now - t0 >= plan.convergeMaxMs) {
      row.converge = { over: `> ${(plan.convergeMaxMs / 1000).toFixed(0)} s` };
      break;
    }
    if (outOfCpu()) {
      row.knownShare = known();
      row.converge = { over: `CPU budget spent at ${((sim.now - t0) / 1000).toFixed(1)} s` };
      break;
    }
  }
  row.converging = loadSince(sim, mark);
  log(`sim-scale ${n}: ${'ms' in row.converge ? `converged in ${row.converge.ms} ms` : `not converged (${row.converge.over}), ${(100 * row.knownShare).toFixed(1)} % of routes`}`);

  // idle: a quiet window once converged (the last NodeInfo rounds settle first)
  if (!('ms' in row.converge)) {
    row.join = row.crash = row.failoverClient = row.failoverAll = { over: 'not converged' };
    return;
  }
  if (outOfCpu()) return;
  sim.run(plan.settleMs ?? 3_000);
  mark = loadMark(sim);
  sim.run(plan.idleMs);
  row.idle = loadSince(sim, mark);
  log(`sim-scale ${n}: idle ${row.idle.datagramsPerS.toFixed(1)} datagrams/s per node`);

  // join: a new node's /32 known everywhere
  if (outOfCpu()) return;
  const [joiner] = sim.add({ name: `n${n}`, ip: ipOf(n), seeds: bootstrap });
  const joinedAt = sim.now;
  sim.start(joiner!.name);
  row.join = timeUntil(sim, plan.phaseMaxMs, outOfCpu, () => members().every((x) => x.engine!.routeFor(joiner!.address) === joiner!.id), joinedAt);

  // crash: a plain member's /32 gone everywhere
  if (outOfCpu()) return;
  sim.run(1_000);
  const victim = sim.node(`n${6 + sim.rng.int(n - 6)}`);
  const crashedAt = sim.now;
  const victimId = victim.id;
  sim.crash(victim.name);
  row.crash = timeUntil(sim, plan.phaseMaxMs, outOfCpu, () => members().every((x) => x.engine!.routeFor(victim.address) !== victimId), crashedAt);

  // failover of the shared IP while the client uses it
  if (outOfCpu()) return;
  const vip = parseIPv4(VIP)!;
  const pinger = sim.ping('n5', VIP, 20);
  const served = timeUntil(sim, plan.phaseMaxMs, outOfCpu, () => pinger.replies.length > 0, sim.now);
  if (!('ms' in served)) {
    row.failoverClient = { over: `client never served (${served.over})` };
    return;
  }
  const active = sim.node(pinger.replies.at(-1)!.server);
  const survivor = active.name === 'n3' ? sim.node('n4') : sim.node('n3');
  const killedAt = sim.now;
  sim.crash(active.name);
  row.failoverClient = timeUntil(sim, plan.phaseMaxMs, outOfCpu, () => pinger.firstReplyAfter(killedAt, survivor.name) !== undefined, killedAt);
  if ('ms' in row.failoverClient) row.failoverClient = { ms: pinger.firstReplyAfter(killedAt, survivor.name)!.at - killedAt };
  row.failoverAll = timeUntil(sim, plan.phaseMaxMs, outOfCpu, () => members().every((x) => x.engine!.routeFor(vip) === survivor.id), killedAt);
  pinger.stopped = true;
}

interface LoadMark {
  at: number;
  sent: number;
  bytes: number;
  wakeups: number;
  cpuS: number;
}

function loadMark(sim: Sim): LoadMark {
  return { at: sim.now, sent: sim.net.stats.sent, bytes: sim.net.stats.sentBytes, wakeups: sim.all.reduce((s, x) => s + x.timeouts, 0), cpuS: cpuS() };
}

/** Per node and simulated second since `m` (nodes: those added by then). */
function loadSince(sim: Sim, m: LoadMark): Load {
  const nodeS = (sim.all.length * (sim.now - m.at)) / 1_000;
  return {
    datagramsPerS: (sim.net.stats.sent - m.sent) / nodeS,
    bytesPerS: (sim.net.stats.sentBytes - m.bytes) / nodeS,
    wakeupsPerS: (sim.all.reduce((s, x) => s + x.timeouts, 0) - m.wakeups) / nodeS,
    cpuMsPerS: ((cpuS() - m.cpuS) * 1_000) / nodeS,
  };
}

/** Simulated ms from `since` until `done()` holds (checked every CHECK_MS), or why not. */
function timeUntil(sim: Sim, maxMs: number, outOfCpu: () => boolean, done: () => boolean, since: number): Timing {
  while (!done()) {
    if (sim.now - since >= maxMs) return { over: `> ${(maxMs / 1000).toFixed(0)} s` };
    if (outOfCpu()) return { over: `CPU budget at ${((sim.now - since) / 1000).toFixed(1)} s` };
    sim.run(CHECK_MS);
  }
  return { ms: sim.now - since };
}
