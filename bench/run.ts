// `npm run bench [-- --quick] [-- --only NAME,...]`: throughput of hacloud against the
// underlay and wireguard-go, tinc and nebula, then the failover benchmark, the failover sweep (full mode
// only), the handshake-flood benchmark, the paths benchmark (punched vs relayed, NAT lab), the mesh scale
// benchmark (N real nodes: convergence, idle traffic, VIP failover everywhere), the simulator at 10, 100
// and 1 000 nodes (sim-scale) and the fault soak (full mode only; `--soak-seconds N` sets its length and
// the sweep's, `--soak-seed S` replays one); prints the tables and records them in bench/RESULTS.md.
// Root only (network namespaces), except `--only sim-scale`. Every row runs in
// its own namespaces, torn down afterwards, also on failure and Ctrl-C; the whole run is
// bounded by a time budget.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../src/lab/netns.js';
import { FAST_SETTINGS, GUIDE_SETTINGS, measureFailover, type FailoverPlan, type FailoverResult } from './failover.js';
import { WATCHED_LINKS, measureSweep, type SweepPlan, type SweepRow } from './failover-sweep.js';
import { measureFlood, type FloodRow } from './flood.js';
import { FLOOD_PLAN, type FloodPlan } from './flood-scenario.js';
import { failoverTable, floodTable, meshScaleTable, pathsTables, ratioTable, simScaleTable, sweepTable, throughputTable } from './report.js';
import { measurePaths, type PathsPlan, type PathsResult } from './paths.js';
import { measureMeshScale, type MeshScalePlan, type MeshScaleResult } from './mesh-scale.js';
import { measureSoak, type SoakRow } from './soak.js';
import { soakSummary, soakTable } from './soak-report.js';
import { freshSeed } from './soak-schedule.js';
import { measureSimScale, type SimScalePlan, type SimScaleRow } from './sim-scale.js';
import { machineLine, recordResults } from './results.js';
import { cleanupAll } from './scratch.js';
import { measureRow, type RowResult, type ThroughputSettings } from './throughput.js';
import { underlay, type Vpn } from './vpn.js';
import { hacloudVpn } from './vpn-hacloud.js';
import { nebula } from './vpn-nebula.js';
import { tinc } from './vpn-tinc.js';
import { wireguardGo } from './vpn-wireguard.js';

interface Mode {
  name: 'quick' | 'full';
  throughput: ThroughputSettings;
  failover: FailoverPlan[];
  /** null: not part of this mode (the soaks take minutes). */
  sweep: SweepPlan | null;
  flood: FloodPlan[];
  paths: PathsPlan;
  meshScale: MeshScalePlan;
  /** Seconds of the fault soak; null: not part of this mode. */
  soakSeconds: number | null;
  simScale: SimScalePlan[];
  /** Measurements stop starting after this long; then a hard stop a minute later. */
  budgetMs: number;
}

const QUICK: Mode = {
  name: 'quick',
  throughput: { iperfSeconds: 3, repetitions: 1, rssRunSeconds: 0, pingCount: 10, tunnelUpTimeoutMs: 10_000 },
  failover: [
    { settings: FAST_SETTINGS, runs: [{ kind: 'kill -9', count: 3 }] },
    { settings: GUIDE_SETTINGS, runs: [{ kind: 'kill -9', count: 1 }, { kind: 'SIGTERM', count: 1 }] },
  ],
  sweep: null,
  flood: [{ ...FLOOD_PLAN, joins: 3, pingSeconds: 10 }],
  paths: { starts: 3, breaks: 2, iperfSeconds: 3, pingCount: 10 },
  meshScale: { nodes: 10, idleSeconds: 5, convergeTimeoutMs: 60_000, failoverTimeoutMs: 15_000 },
  soakSeconds: null,
  // 1 000 nodes cost the simulator tens of CPU s per simulated s while the full mesh forms
  simScale: [
    { nodes: 10, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 10_000, cpuBudgetS: 30 },
    { nodes: 100, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 5_000, cpuBudgetS: 90 },
    // 1 000 nodes: the idle window once start-up sessions (30 s idle) have closed
    { nodes: 1_000, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 2_000, settleMs: 40_000, cpuBudgetS: 45 },
  ],
  budgetMs: 330_000,
};

const FULL: Mode = {
  name: 'full',
  throughput: { iperfSeconds: 10, repetitions: 3, rssRunSeconds: 60, pingCount: 20, tunnelUpTimeoutMs: 20_000 },
  failover: [
    { settings: FAST_SETTINGS, runs: [{ kind: 'kill -9', count: 5 }] },
    { settings: GUIDE_SETTINGS, runs: [{ kind: 'kill -9', count: 5 }, { kind: 'SIGTERM', count: 5 }] },
  ],
  sweep: {
    // (keepalive, peer timeout) fastest first, from the smallest keepalive the config accepts
    // (10 ms) to the documented fast setting.
    candidates: [[10, 100], [25, 200], [50, 300], [50, 400], [100, 500], [100, 800]].map(([k, t]) => ({ keepaliveMs: k!, peerTimeoutMs: t! })),
    soaks: [{ lossPercent: 0, seconds: 30 }, { lossPercent: 20, seconds: 60 }],
    killRuns: 5,
  },
  flood: [{ ...FLOOD_PLAN, joins: 5, pingSeconds: 20 }, { ...FLOOD_PLAN, mode: 'key', joins: 5, pingSeconds: 20 }],
  paths: { starts: 5, breaks: 5, iperfSeconds: 10, pingCount: 20 },
  meshScale: { nodes: 40, idleSeconds: 20, convergeTimeoutMs: 180_000, failoverTimeoutMs: 30_000 },
  soakSeconds: 600,
  simScale: [
    { nodes: 10, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 30_000, cpuBudgetS: 60 },
    { nodes: 100, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 10_000, cpuBudgetS: 240 },
    { nodes: 1_000, convergeMaxMs: 60_000, phaseMaxMs: 30_000, idleMs: 10_000, settleMs: 40_000, cpuBudgetS: 300 },
  ],
  // about 13 minutes of it are the failover sweep, 11 the fault soak, up to 10 the simulator
  budgetMs: 76 * 60_000,
};

const HACLOUD_ROWS = [hacloudVpn('plain'), hacloudVpn('aes256-gcm'), hacloudVpn('chacha20-poly1305')];
const COMPETITORS = [wireguardGo, tinc, nebula];
const ALL_ROWS: Vpn[] = [underlay, ...HACLOUD_ROWS, ...COMPETITORS];

/** The plan with its lossy soaks this long and the loss-free ones half as long. */
function withSoakSeconds(plan: SweepPlan, seconds: number): SweepPlan {
  return { ...plan, soaks: plan.soaks.map((s) => ({ ...s, seconds: s.lossPercent > 0 ? seconds : Math.max(1, Math.round(seconds / 2)) })) };
}

function log(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

function describeMode(m: Mode): string {
  const t = m.throughput;
  const rss = t.rssRunSeconds > 0 ? `; hacloud RSS after an extra ${t.rssRunSeconds} s run` : '; RSS after the short runs';
  return `${t.iperfSeconds} s per iperf3 run, ${t.repetitions === 1 ? '1 run' : `median of ${t.repetitions}`}${rss}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' }, only: { type: 'string' }, 'soak-seconds': { type: 'string' }, 'soak-seed': { type: 'string' }, record: { type: 'boolean' },
      'sim-budget': { type: 'string' },
    },
  });
  const mode = values.quick ? QUICK : FULL;
  const soakSeconds = values['soak-seconds'] === undefined ? undefined : Number(values['soak-seconds']);
  if (soakSeconds !== undefined && !(Number.isInteger(soakSeconds) && soakSeconds >= 2 && soakSeconds <= 3_600)) {
    log(`--soak-seconds must be a whole number of seconds in 2..3600, not '${values['soak-seconds']}'`);
    return 1;
  }
  const soakSeed = values['soak-seed'] === undefined ? freshSeed() : Number(values['soak-seed']);
  if (!(Number.isInteger(soakSeed) && soakSeed >= 0 && soakSeed <= 0xffff_ffff)) {
    log(`--soak-seed must be an integer in 0..4294967295, not '${values['soak-seed']}'`);
    return 1;
  }
  // The 1 000-node simulator needs tens of CPU minutes while its mesh forms: more than the default budget.
  const simBudget = values['sim-budget'] === undefined ? undefined : Number(values['sim-budget']);
  if (simBudget !== undefined && !(Number.isInteger(simBudget) && simBudget >= 1 && simBudget <= 7_200)) {
    log(`--sim-budget must be a whole number of CPU seconds in 1..7200, not '${values['sim-budget']}'`);
    return 1;
  }
  const only = values.only?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const selected = (name: string) => !only || only.some((o) => name.toLowerCase().includes(o));
  // Only a word naming the sweep selects it: `--only failover` keeps meaning the short failover table.
  const sweepSelected = !only || only.some((o) => o.includes('sweep'));
  const needsRoot = ALL_ROWS.some((v) => selected(v.name)) || selected('failover') || sweepSelected || selected('flood') ||
    selected('paths') || selected('mesh-scale');
  if (needsRoot && process.getuid?.() !== 0) {
    log('needs root: it builds network namespaces (run `sudo npm run bench`)');
    return 1;
  }
  const started = Date.now();
  const deadline = started + mode.budgetMs;
  // Hard stop: nothing may keep the run going past its budget for long.
  setTimeout(() => {
    log('time budget exceeded by a minute: stopping');
    void cleanupAll().finally(() => process.exit(1));
  }, mode.budgetMs + 60_000).unref();

  log(`${mode.name} mode: ${describeMode(mode)}`);
  const rows: RowResult[] = [];
  for (const vpn of ALL_ROWS.filter((v) => selected(v.name))) {
    if (Date.now() > deadline) {
      rows.push({ name: vpn.name, error: 'skipped: time budget used up' });
      continue;
    }
    const t0 = Date.now();
    const row = await measureRow(vpn, mode.throughput);
    rows.push(row);
    log(`${vpn.name}: ${row.error ? `error: ${row.error}` : `${row.tcp1Gbps?.toFixed(2)} / ${row.tcp4Gbps?.toFixed(2)} Gbit/s`} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  const failovers: FailoverResult[] = [];
  if (selected('failover')) {
    for (const plan of mode.failover) {
      const t0 = Date.now();
      const results = await measureFailover(plan, deadline);
      failovers.push(...results);
      for (const r of results) log(`failover ${r.kind}, ${r.settings}: ${r.error ? `error: ${r.error}` : `${r.gapsMs.map((g) => g.toFixed(0)).join(', ')} ms`}`);
      log(`failover plan took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  const sweep: SweepRow[] = [];
  const sweepPlan = mode.sweep && soakSeconds !== undefined ? withSoakSeconds(mode.sweep, soakSeconds) : mode.sweep;
  if (sweepSelected) {
    if (!sweepPlan) log(`failover sweep: not part of ${mode.name} mode`);
    else sweep.push(...(await measureSweep(sweepPlan, deadline, log)));
  }

  const floods: FloodRow[] = [];
  if (selected('flood')) {
    for (const plan of mode.flood) {
      const t0 = Date.now();
      const row = await measureFlood(plan, deadline, log);
      floods.push(row);
      if (row.error) log(`flood, ${plan.mode} mode: error: ${row.error}`);
      log(`flood, ${plan.mode} mode, took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  let paths: PathsResult | null = null;
  if (selected('paths')) {
    const t0 = Date.now();
    paths = await measurePaths(mode.paths, deadline, log);
    for (const e of paths.errors) log(`paths: error: ${e}`);
    log(`paths took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  let mesh: MeshScaleResult | null = null;
  if (selected('mesh-scale')) {
    const t0 = Date.now();
    if (Date.now() > deadline) log('mesh-scale: skipped: time budget used up');
    else {
      mesh = await measureMeshScale(mode.meshScale, log);
      for (const e of mesh.errors) log(`mesh-scale: error: ${e}`);
    }
    log(`mesh-scale took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  let soak: SoakRow | null = null;
  if (selected('soak')) {
    const seconds = soakSeconds ?? mode.soakSeconds;
    if (seconds === null) log(`fault soak: not part of ${mode.name} mode (give --soak-seconds N to run it)`);
    else {
      const t0 = Date.now();
      soak = await measureSoak({ seed: soakSeed, seconds }, deadline, log);
      if (soak.error) log(`soak: error: ${soak.error}`);
      log(`soak took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  const simRows: SimScaleRow[] = [];
  if (selected('sim-scale')) {
    for (const plan of mode.simScale) {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) {
        log(`sim-scale ${plan.nodes}: skipped, time budget used up`);
        continue;
      }
      const t0 = Date.now();
      const row = measureSimScale({ ...plan, cpuBudgetS: simBudget ?? Math.min(plan.cpuBudgetS, left) }, log);
      simRows.push(row);
      if (row.error) log(`sim-scale ${plan.nodes}: error: ${row.error}`);
      log(`sim-scale ${plan.nodes} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  const when = new Date().toISOString().replace('T', ' ').slice(0, 16);
  const parts = [`## ${when} UTC · ${mode.name}`, '', `Machine: ${machineLine()}. ${describeMode(mode)}.`, ''];
  if (rows.length > 0) {
    parts.push(throughputTable(rows), '');
    if (rows.some((r) => r.name.startsWith('hacloud')) && rows.some((r) => COMPETITORS.some((c) => c.name === r.name))) {
      parts.push(ratioTable(rows, (r) => r.name.startsWith('hacloud'), COMPETITORS.map((c) => c.name)), '');
    }
    parts.push(
      'RTT added: median of idle pings (20 ms apart) through the tunnel minus over the underlay, right after',
      'the tunnel came up and again 1 s after the last load. CPU: user+sys of the VPN',
      'processes on both ends over all iperf3 runs of the row (kernel softirq work is not attributed), per GB',
      'received and in % of one core (cores per Gbit/s = s/GB ÷ 8). RSS: the larger hacloud node: peak (VmHWM,',
      'includes the start-up password KDF, Argon2id 64 MiB), idle once the tunnel is up, and at the end of the load;',
      'in full mode also the range sampled every 5 s during the last, long single-stream run.',
      '',
    );
  }
  if (failovers.length > 0) parts.push(failoverTable(failovers), '');
  if (sweep.length > 0) {
    const [l1, l5, l15] = loadavg().map((l) => l.toFixed(2));
    parts.push(
      sweepTable(sweep),
      '',
      'Sweep: per setting one HA lab (failover table) soaks with no process killed, first without loss, then with random',
      "loss on every host's underlay input (each link, each direction); the lab itself loads the 2 cores. False failovers:",
      "live peers declared dead (\"peer … lost\", any node); beside them the client's route moves of 10.0.0.1, changes of",
      "the server answering the probe and failovers in the nodes' status. Predicted: constants.ts' formula per watched link",
      `and times the ${WATCHED_LINKS} watched links and the soak. kill -9: median of failover runs in a fresh lab without loss, only for`,
      `settings without false failovers. Load average at the end of the run: ${l1} / ${l5} / ${l15}.`,
      '',
    );
  }
  if (floods.length > 0) {
    parts.push(
      floodTable(floods),
      '',
      `Flood: the flooder namespace sends at v's port (aiming at ${FLOOD_PLAN.rate} datagrams/s, SCHED_FIFO, paced every 0.2 ms) random`,
      'bytes, message-1 lookalikes and replays of a message 1 captured from e, from IPv4 addresses in the lab /24, many',
      'IPv6 addresses of one /64 and one each from other /64s (key mode: 2 % fresh valid messages 1 from made-up identities,',
      'which put v into cookie mode); the rate column is what it sent while measured. Meanwhile',
      'e pings v through the tunnel every 200 ms and new nodes start one after another with `-c v`; join: from the',
      "node's \"listening on port\" log line to its \"peer … connected\" line for v (its own log timestamps).",
      '',
    );
  }
  if (paths) {
    parts.push(
      pathsTables(paths),
      '',
      'Paths: p public; a and c each behind its own masquerading router (port-restricted cone NAT that drops unsolicited',
      'inbound), all hacloud with `-c p` and default timings. Direct: the path a and c punched through both NATs; relayed:',
      "with UDP between the two routers dropped, through p. iperf3 TCP 1 stream a→c and idle pings (50 ms apart) a→c's",
      `tunnel address. Punched: ${paths.plan.starts} starts of a and c, each on fresh ports (no open mapping left), from the later`,
      "\"listening\" log line to both nodes' status showing the direct path (polled every 50 ms). Break: pings a→c every 20 ms,",
      'from the drop rule going in to the first one answered through p; heal: from the rule going out to direct both ways.',
      '',
    );
  }
  if (mesh) {
    parts.push(
      meshScaleTable(mesh),
      '',
      `Mesh scale: ${mesh.plan.nodes} hacloud nodes in namespaces on one bridge, default timings (keepalive 0.5 s, peer timeout 3 s),`,
      'password mode, each claiming its own /32 and n00, n01 also a shared VIP, all with `-c n00 -c n01`. Converged: every node',
      'holds every other member alive and has an active route for every claim (status polled every second); past full-mesh-max',
      '(8) a node keeps sessions only with the peers it uses and SWIM watches the rest, so sessions are counted, not awaited,',
      "and nodes that do not use the VIP learn its holder's death from SWIM, not from a peer timeout. Idle: each namespace's",
      `UDP datagrams and eth0 bytes sent over ${mesh.plan.idleSeconds} s with no data flowing (all of it hacloud's control traffic), and each`,
      "node's CPU and RSS. VIP failover: the last node pings the VIP 20 times a second (it uses it), then kill -9 of the VIP's",
      "holder; until the user's and each other node's own \"route ... ->\" log line.",
      '',
    );
  }
  if (soak) {
    parts.push(
      soak.result ? `${soakTable(soak.result)}\n\n${soakSummary(soak.result)}` : `Fault soak: error: ${soak.error}`,
      '',
      'Soak (soak-scenario.ts): s1–s3 run hacloud --ip 10.0.0.1 with the fast timings (keepalive 100 ms, peer timeout 800 ms)',
      'and an HTTP service answering their name plus a TCP sink; c1 and c2 each ask http://10.0.0.1:8080/ every 25 ms and send',
      '512 KiB transfers (sha256 checked) at 1 MiB/s. Faults one at a time from the seeded schedule; after each, the soak waits',
      'until all five nodes route 10.0.0.1 to one server that alone calls itself active and both clients are answered by it.',
      "Longest without reply: per client, from the fault's start to the next fault's. Settled: from the fault's end (a restart:",
      `the node's "listening" line) to that view. Bulk again: from settled to a completed transfer at both clients. Stalls: the`,
      `nodes' "process was stalled" warnings meanwhile (a busy machine). Replay a run with --soak-seed.`,
      '',
    );
  }
  if (simRows.length > 0) {
    const p = simRows[0]!;
    parts.push(
      simScaleTable(simRows),
      '',
      `Simulator (test/sim, SimChannel: no cryptography; LAN 0.5–1 ms): N nodes, each claiming its own /32, two sharing`,
      `10.0.0.1, all seeded with the same 3 bootstrap nodes and started within 1 s; --keepalive ${p.keepaliveMs}ms --peer-timeout ${p.peerTimeoutMs}ms.`,
      'Converged: every node routes every /32 to its owner (checked each simulated s; the share of such routes in brackets);',
      'converging: from the start until then. Idle: a window once converged, there is no data traffic. Per node and',
      'simulated s: datagrams and kB sent, timer wake-ups (handleTimeout calls), and the CPU of this process (user+sys,',
      "the harness's own work included) divided by the nodes. Join: a new node starts until every node routes its /32 to",
      "it; crash: kill -9 of a member until no node routes its /32; failover: a client pings 10.0.0.1 every 20 ms, its",
      "active claimant is killed: until the client's first reply from the other, and until every node routes there.",
      'Checks every 10 simulated ms. A phase stops at its simulated limit or when the row\'s CPU budget is spent',
      `(${simRows.map((r) => `${r.plan.nodes}: ${r.plan.cpuBudgetS} s, idle window ${r.plan.idleMs / 1000} s`).join('; ')}); n/a says which.`,
      'Targets at 1 000 nodes (issue 13): ≤ 10 datagrams/s and ≤ 2 kB/s per idle node, a join known everywhere within',
      '5 s, a crash within 10 s.',
      '',
    );
  }
  const section = parts.join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!only || values.record) {
    const file = join(REPO_ROOT, 'bench', 'RESULTS.md');
    recordResults(file, section);
    log(`recorded in ${file}; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else {
    log(`--only: not recorded in bench/RESULTS.md; total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return 0;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: cleaning up namespaces and processes`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await cleanupAll();
    process.exit(code);
  },
  async (e: unknown) => {
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
    await cleanupAll();
    process.exit(1);
  },
);
