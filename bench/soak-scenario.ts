// The fault soak with real processes (issue 13), shared by test/e2e/soak.test.ts (asserting, a
// couple of minutes) and `npm run bench -- --only soak` (longer, printing the fault table):
//
//   s1 s2 s3   hacloud --ip 10.0.0.1: one shared /32, each server running an HTTP service on
//              port 8080 that answers its name and a TCP sink on port 9000 (sha256 of what came)
//   c1 c2      hacloud clients, each asking http://10.0.0.1:8080/ every REQUEST_EVERY_MS
//              (http-probe.mjs, overlapping requests) and sending 512 KiB transfers to the sink
//              one after another at BULK_RATE (tcp.mjs bulk)
//
// All five dial each other (key mode: no password KDF, so a restart is quick) with the
// documented fast timings. s1 starts first and serves (longest uptime). A seeded schedule
// (soak-schedule.ts) then injects one fault at a time — kill -9 and restart, SIGSTOP/SIGCONT,
// 20 % loss, partitions — each followed by a wait until the mesh has settled and a quiet gap.
// Measured per fault: the longest time each client went without a reply, how long the mesh
// took to settle after the fault ended, when the bulk transfers completed again; checked at
// every settle: a full mesh, all five nodes route the shared prefix to the same server,
// exactly one server calls itself active, and both clients are answered by it. All along:
// no hacloud process exits unless the soak killed it, and VmRSS and open descriptors of every
// node are sampled each second.
import { join } from 'node:path';
import { deriveTiming, FAST_KEEPALIVE_MS, FAST_PEER_TIMEOUT_MS } from '../src/core/constants.js';
import { generateKeyPair, encodeKey, type IdentityKeyPair } from '../src/crypto/keys.js';
import { cutUdp, healUdp, REPO_ROOT, type Lab, type LabProcess } from '../src/lab/netns.js';
import { requestControl } from '../src/status/control-client.js';
import type { StatusJson } from '../src/status/status-json.js';
import {
  longestSilence, parseReply, parseTransfer, resourceTrend, sampleResources,
  type Reply, type ResourceSample, type ResourceTrend, type Transfer,
} from './soak-analysis.js';
import { FAULT_KINDS, faultSchedule, type Fault, type FaultKind, type NodeRole, type ServerRole } from './soak-schedule.js';

export const SERVERS = ['s1', 's2', 's3'] as const;
export const CLIENTS = ['c1', 'c2'] as const;
export type Server = (typeof SERVERS)[number];
export type Client = (typeof CLIENTS)[number];
export type Host = Server | Client;
export const SOAK_HOSTS: readonly Host[] = [...SERVERS, ...CLIENTS];

// From the repository root, so this file works compiled (bench) and from source (vitest).
const HACLOUD_BIN = join(REPO_ROOT, 'bin', 'hacloud.js');
const FIXTURES = join(REPO_ROOT, 'test', 'e2e', 'fixtures');
const SITE_WEB = join(REPO_ROOT, 'examples', 'multi-site', 'site-web.mjs');
const SHARED_IP = '10.0.0.1';
export const SHARED_PREFIX = `${SHARED_IP}/32`;
const TUN_IP: Record<Host, string> = { s1: SHARED_IP, s2: SHARED_IP, s3: SHARED_IP, c1: '10.0.0.101', c2: '10.0.0.102' };
const PORT = 3210;
const HTTP_PORT = 8080;
const SINK_PORT = 9000;

/** The documented fast settings (README "Choosing timings"): sub-second failover. */
export const KEEPALIVE_MS = FAST_KEEPALIVE_MS;
export const PEER_TIMEOUT_MS = FAST_PEER_TIMEOUT_MS;
const TIMING = deriveTiming({ keepaliveMs: KEEPALIVE_MS, peerTimeoutMs: PEER_TIMEOUT_MS });

/** Each client starts a request this often (each on a new connection, overlapping). */
export const REQUEST_EVERY_MS = 25;
/** A request not answered within this long failed (TCP may retransmit a lost SYN after 1 s). */
const REQUEST_TIMEOUT_MS = 1_500;
/**
 * Bulk: transfers of this size one after another, paced at this rate: a bounded load, and one a
 * relay carries whole (its per-pair limit is 2 MB/s, constants.ts) when a cut link makes a
 * client reach its server through another node.
 */
const BULK_BYTES = 512 * 1024;
const BULK_RATE = 1024 * 1024;

/**
 * A loaded 2-core machine (shared with other jobs) delays timers, event loops and process
 * starts by hundreds of ms at times: the bounds below carry this much on top of what hacloud
 * itself promises.
 */
export const SLACK_MS = 1_500;

/**
 * How long a client may go without a reply after a fault starts. Every fault leaves each client
 * a working server; the worst case is that the one it uses goes silent (kill -9, SIGSTOP,
 * isolation): the client's node declares it dead when its silence reaches the peer timeout
 * (counted from its last packet, at most one keepalive before the fault when it was idle), and
 * the next request, at most REQUEST_EVERY_MS later, goes to the next claimant. A cut link is
 * bridged through a relay before that (issue 12); a short SIGSTOP ends before it; loss alone
 * never moves the route (probes before death, src/core/constants.ts) and TCP retransmits
 * around it, while the overlapping requests keep some answers coming. Then SLACK_MS.
 */
export const RECOVERY_BOUND_MS = PEER_TIMEOUT_MS + KEEPALIVE_MS + REQUEST_EVERY_MS + SLACK_MS;

/**
 * How long after a fault ends until the mesh has settled (full mesh, one active server that
 * every node routes to). Nodes cut off from each other redial with a backoff capped at
 * reconnectMaxMs (+25 % jitter); then one handshake and one NodeInfo exchange decide (README
 * "Partitions and stalled nodes": 1.25 × cap + 0.5 s). After a restart it counts from the
 * restarted node's "listening" line: its start-up is the machine's time, not the mesh's. Then
 * SLACK_MS, and polling: the status of five nodes is read every SETTLE_POLL_MS.
 */
const SETTLE_POLL_MS = 150;
export const SETTLE_BOUND_MS = 1.25 * TIMING.reconnectMaxMs + 500 + SLACK_MS + SETTLE_POLL_MS;
/** A soak that has not settled by this long is stopped (it reports how far from settled it was). */
const SETTLE_GIVE_UP_MS = 30_000;
/**
 * After settling, each client's bulk must complete a transfer within: one that was cut off
 * fails after its timeout (tcp.mjs: twice its paced time + 3 s), then one takes its paced
 * time (BULK_BYTES / BULK_RATE); then SLACK_MS.
 */
export const BULK_RESUME_BOUND_MS = 3 * (BULK_BYTES / BULK_RATE) * 1000 + 3_000 + SLACK_MS;
/** Replies from the active server each client must get, once settled, to count as agreeing. */
const AGREEING_REPLIES = 3;
/** Start-up (JIT warm-up of the data path) takes seconds on busy cores. */
const START_TIMEOUT_MS = 30_000;
const INITIAL_SETTLE_MS = 30_000;
const SAMPLE_EVERY_MS = 1_000;
const STALL_RE = /process was stalled/;
/** The load generators stop on their own this long after the soak should have ended. */
const LOAD_GRACE_S = 300;

export interface SoakPlan {
  seed: number;
  /**
   * Faults start within this many seconds of the first (the one running then completes), and
   * at least one of each kind (the schedule's first four) in any case.
   */
  seconds: number;
}

export interface FaultResult {
  index: number;
  kind: FaultKind;
  /** The fault with its targets resolved, e.g. "kill -9 s1 (active), restart after 1.2 s". */
  what: string;
  /** When it started, seconds into the soak. */
  atS: number;
  activeBefore: Server;
  activeAfter?: Server;
  /**
   * The fault left the active server and its links alone (it hit a standby or a client): the
   * active server should stay active (README rule 3: a node that returns does not take a
   * prefix from a working server).
   */
  sparesActive: boolean;
  /** Longest time without a reply, per client, from the fault's start to the next fault's. */
  silenceMs?: Record<Client, number>;
  /** From the fault's end (a restart: the node's "listening" line) to the settled view. */
  settleMs?: number;
  /** From the settled view to the clients' bulk transfers completing again (the later one). */
  bulkResumeMs?: number;
  /** Failovers of the shared prefix the two clients counted meanwhile (status failovers.total). */
  clientFailovers?: number;
  /**
   * "process was stalled" warnings of all nodes meanwhile: an event loop that did not run for
   * longer than a keepalive (a loaded machine), which explains a slow recovery.
   */
  stalls?: number;
  error?: string;
}

export interface NodeResources {
  host: Host;
  /** Ran from before the first fault to the end (never killed). */
  longRunning: boolean;
  trend: ResourceTrend | null;
}

export interface SoakResult {
  plan: SoakPlan;
  /** How long the faults ran (s). */
  seconds: number;
  faults: FaultResult[];
  /** The first thing that stopped the soak early (a node died, the mesh did not settle, ...). */
  error?: string;
  /** hacloud processes that exited without being killed by the soak. */
  unexpectedExits: string[];
  requests: Record<Client, { ok: number; failed: number }>;
  bulk: Record<Client, { ok: number; failed: number; corrupt: number; mb: number }>;
  resources: NodeResources[];
  /** "process was stalled" warnings and "peer … lost" lines, all nodes. */
  stalls: number;
  peersLost: number;
}

interface NodeRun {
  host: Host;
  proc: LabProcess;
  /** The soak killed it on purpose. */
  killed: boolean;
  samples: ResourceSample[];
  startedAt: number;
}

class SoakStop extends Error {}

export class SoakLab {
  private readonly keys = new Map<Host, IdentityKeyPair>();
  private readonly nodes = new Map<Host, NodeRun>();
  private readonly allRuns: NodeRun[] = [];
  private readonly fixtures: LabProcess[] = [];
  private readonly probes = new Map<Client, LabProcess>();
  private readonly bulks = new Map<Client, LabProcess>();
  private readonly replies = new Map<Client, { parsed: number; list: Reply[] }>();
  private readonly transfers = new Map<Client, { parsed: number; list: Transfer[] }>();
  private readonly stopped = new Set<Host>();
  private readonly cut = new Set<Host>();
  private readonly lossy = new Set<Host>();
  private sampler: NodeJS.Timeout | undefined;
  private active: Server = 's1';
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly lab: Lab,
    private readonly dir: string,
    private readonly log: (text: string) => void = () => {},
  ) {}

  /** Start services, nodes (s1 first: it serves) and the load; resolves once it is all flowing. */
  async start(loadSeconds: number): Promise<void> {
    for (const h of SOAK_HOSTS) this.keys.set(h, generateKeyPair());
    for (const s of SERVERS) {
      const web = this.fixture(s, [SITE_WEB, '--name', s, '--port', String(HTTP_PORT), '--down-file', join(this.dir, `${s}.never`)]);
      const sink = this.fixture(s, [join(FIXTURES, 'tcp.mjs'), 'sink', String(SINK_PORT)]);
      await Promise.all([web.waitForLine(/listening on port/, 10_000), sink.waitForLine(/READY/, 10_000)]);
    }
    for (const h of SOAK_HOSTS) await this.startNode(h);
    const first = await this.waitSettled(INITIAL_SETTLE_MS);
    this.active = first.active;
    const maxMs = String((loadSeconds + LOAD_GRACE_S) * 1000);
    for (const c of CLIENTS) {
      this.probes.set(c, this.fixture(c, [join(FIXTURES, 'http-probe.mjs'), `http://${SHARED_IP}:${HTTP_PORT}/`,
        String(REQUEST_EVERY_MS), String(REQUEST_TIMEOUT_MS), maxMs]));
      const bulk = this.fixture(c, [join(FIXTURES, 'tcp.mjs'), 'bulk', SHARED_IP, String(SINK_PORT), String(BULK_BYTES), String(BULK_RATE), maxMs]);
      await bulk.waitForLine(/READY/, 10_000);
      this.bulks.set(c, bulk);
      this.replies.set(c, { parsed: 0, list: [] });
      this.transfers.set(c, { parsed: 0, list: [] });
    }
    await this.waitAgreeing(this.active, Date.now(), 15_000);
    await this.waitBulk(Date.now(), 15_000);
    this.sampler = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
  }

  /** Run faults from the schedule until plan.seconds are used up (or `deadline`, epoch ms). */
  async run(plan: SoakPlan, deadline = Infinity): Promise<SoakResult> {
    const faults: FaultResult[] = [];
    const started = Date.now();
    const end = started + plan.seconds * 1000;
    const before = new Map(this.allRuns.map((r) => [r, r.proc.lines.length]));
    let error: string | undefined;
    try {
      for (const fault of faultSchedule(plan.seed)) {
        if (Date.now() >= deadline || (Date.now() >= end && faults.length >= FAULT_KINDS.length)) break;
        const result = await this.runFault(fault, started);
        faults.push(result);
        this.log(describeResult(result));
        if (result.error) {
          error = `fault ${result.index} (${result.what}): ${result.error}`;
          break;
        }
      }
      if (!error) this.checkAlive();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      await this.restoreNetwork();
      clearInterval(this.sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const newLines = this.allRuns.flatMap((r) => r.proc.lines.slice(before.get(r) ?? 0));
    return {
      plan,
      seconds,
      faults,
      error,
      unexpectedExits: [...this.unexpectedExits],
      requests: this.requestCounts(started),
      bulk: this.bulkCounts(started),
      resources: this.allRuns.map((r) => ({
        host: r.host,
        longRunning: r.startedAt < started && !r.killed && r.proc.running,
        trend: resourceTrend(r.samples),
      })),
      stalls: newLines.filter((l) => STALL_RE.test(l)).length,
      peersLost: newLines.filter((l) => / peer \S+ lost/.test(l)).length,
    };
  }

  /** Lift every fault still in place (a failed run must not leave a node stopped or cut off). */
  async restoreNetwork(): Promise<void> {
    for (const h of this.stopped) this.nodes.get(h)?.proc.kill('SIGCONT');
    this.stopped.clear();
    for (const h of this.cut) await healUdp(this.lab, h).catch(() => {});
    this.cut.clear();
    for (const h of this.lossy) await this.lab.clearLoss(h).catch(() => {});
    this.lossy.clear();
  }

  private async runFault(fault: Fault, soakStart: number): Promise<FaultResult> {
    const t0 = Date.now();
    const activeBefore = this.active;
    const result: FaultResult = {
      index: fault.index, kind: fault.kind, what: this.describe(fault), atS: (t0 - soakStart) / 1000, activeBefore, sparesActive: sparesActive(fault),
    };
    const marks = new Map(this.allRuns.map((r) => [r, r.proc.lines.length]));
    try {
      const failoversBefore = await this.clientFailovers();
      const settleFrom = await this.inject(fault);
      const settled = await this.waitSettled(SETTLE_GIVE_UP_MS);
      result.settleMs = settled.at - settleFrom;
      result.activeAfter = this.active = settled.active;
      await this.waitAgreeing(settled.active, settled.at, 10_000);
      result.bulkResumeMs = (await this.waitBulk(settled.at, 30_000)) - settled.at;
      result.clientFailovers = (await this.clientFailovers()) - failoversBefore;
      await this.pause(fault.gapMs);
      const until = Date.now();
      result.silenceMs = { c1: 0, c2: 0 };
      for (const c of CLIENTS) {
        const answered = this.parsedReplies(c).filter((r) => r.server !== null).map((r) => r.at);
        result.silenceMs[c] = longestSilence(answered, t0, until);
      }
      result.stalls = this.allRuns.flatMap((r) => r.proc.lines.slice(marks.get(r) ?? 0)).filter((l) => STALL_RE.test(l)).length;
    } catch (e) {
      result.error = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' | ').slice(0, 600);
    }
    return result;
  }

  /** Do the fault, wait out its hold, end it; resolves when the mesh may start settling (epoch ms). */
  private async inject(fault: Fault): Promise<number> {
    switch (fault.kind) {
      case 'kill': {
        const s = this.server(fault.server);
        const run = this.nodes.get(s)!;
        run.killed = true;
        run.proc.kill('SIGKILL');
        await run.proc.exited;
        await this.pause(fault.holdMs);
        return this.startNode(s);
      }
      case 'stop': {
        const s = this.server(fault.server);
        const proc = this.nodes.get(s)!.proc;
        this.stopped.add(s);
        proc.kill('SIGSTOP');
        await this.pause(fault.holdMs);
        proc.kill('SIGCONT');
        this.stopped.delete(s);
        return Date.now();
      }
      case 'loss': {
        const h = this.node(fault.node);
        this.lossy.add(h);
        await this.lab.addLoss(h, fault.percent);
        await this.pause(fault.holdMs);
        await this.lab.clearLoss(h);
        this.lossy.delete(h);
        return Date.now();
      }
      case 'partition': {
        const [host, others] = this.cutOf(fault);
        this.cut.add(host);
        await cutUdp(this.lab, host, others);
        await this.pause(fault.holdMs);
        await healUdp(this.lab, host);
        this.cut.delete(host);
        return Date.now();
      }
    }
  }

  private cutOf(fault: Fault & { kind: 'partition' }): [Host, Host[]] {
    const c = fault.cut;
    if ('isolate' in c) {
      const s = this.server(c.isolate);
      return [s, SOAK_HOSTS.filter((h) => h !== s)];
    }
    if ('client' in c) return [c.client, [this.active]];
    return [this.active, [this.server(c.standby)]];
  }

  /** The fault with its targets named, as of now. */
  private describe(fault: Fault): string {
    const s = (role: NodeRole) => {
      const h = this.node(role);
      return role === 'c1' || role === 'c2' ? h : `${h} (${h === this.active ? 'active' : 'standby'})`;
    };
    const hold = `${(fault.holdMs / 1000).toFixed(2)} s`;
    switch (fault.kind) {
      case 'kill': return `kill -9 ${s(fault.server)}, restart after ${hold}`;
      case 'stop': return `SIGSTOP ${s(fault.server)} for ${hold}`;
      case 'loss': return `${fault.percent} % loss into ${s(fault.node)} for ${hold}`;
      case 'partition': {
        const c = fault.cut;
        if ('isolate' in c) return `isolate ${s(c.isolate)} for ${hold}`;
        if ('client' in c) return `cut ${c.client} from ${s('active')} for ${hold}`;
        return `cut ${s('active')} from ${s(c.standby)} for ${hold}`;
      }
    }
  }

  private server(role: ServerRole): Server {
    if (role === 'active') return this.active;
    const standbys = SERVERS.filter((s) => s !== this.active);
    return standbys[role === 'standby0' ? 0 : 1]!;
  }

  private node(role: NodeRole): Host {
    return role === 'c1' || role === 'c2' ? role : this.server(role);
  }

  /** Start hacloud on `host` (again); resolves with the time of its "listening" line (epoch ms). */
  private async startNode(host: Host): Promise<number> {
    const others = SOAK_HOSTS.filter((h) => h !== host);
    const proc = this.lab.spawn(host, process.execPath, [
      HACLOUD_BIN, '--ip', TUN_IP[host], '--listen', String(PORT), '--control-socket', this.socket(host),
      '--private-key', encodeKey(this.keys.get(host)!.seed),
      ...others.flatMap((o) => ['--trusted-key', this.keys.get(o)!.id, '-c', `${this.lab.ip(o)}:${PORT}`]),
      '--keepalive', `${KEEPALIVE_MS}ms`, '--peer-timeout', `${PEER_TIMEOUT_MS}ms`,
    ]);
    const run: NodeRun = { host, proc, killed: false, samples: [], startedAt: Date.now() };
    this.nodes.set(host, run);
    this.allRuns.push(run);
    const line = await proc.waitForLine(/listening on port/, START_TIMEOUT_MS).catch((e: Error) => {
      throw new Error(`hacloud on ${host} did not start: ${e.message}`);
    });
    return Date.parse(line.slice(0, line.indexOf(' ')));
  }

  private fixture(host: Host, args: string[]): LabProcess {
    const p = this.lab.spawn(host, process.execPath, args);
    this.fixtures.push(p);
    return p;
  }

  /** Throws (stopping the soak) if a node exited that the soak did not kill, or a load generator died. */
  private checkAlive(): void {
    for (const run of this.nodes.values()) {
      if (run.proc.running || run.killed) continue;
      const s = run.proc.exitStatus;
      const why = `hacloud on ${run.host} exited by itself (${s?.code ?? s?.signal}): ${run.proc.tail(5).replace(/\n/g, ' | ')}`;
      if (!this.unexpectedExits.includes(why)) this.unexpectedExits.push(why);
      throw new SoakStop(why);
    }
    const dead = this.fixtures.find((p) => !p.running);
    if (dead) throw new SoakStop(`${dead.label} exited (${dead.exitStatus?.code ?? dead.exitStatus?.signal}): ${dead.tail(3)}`);
  }

  /** Sleep, checking every 100 ms that nothing died. */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      this.checkAlive();
      const left = until - Date.now();
      if (left <= 0) return;
      await sleep(Math.min(100, left));
    }
  }

  private status(host: Host): Promise<StatusJson> {
    return requestControl(this.socket(host), 'status', 2_000) as Promise<StatusJson>;
  }

  private socket(host: Host): string {
    return join(this.dir, `${host}.sock`);
  }

  /** Poll every node's status until the view is settled; the time it first was and its active server. */
  private async waitSettled(timeoutMs: number): Promise<{ at: number; active: Server }> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      this.checkAlive();
      const at = Date.now();
      const view = await this.settledView();
      if (typeof view !== 'string') return { at, active: view.active };
      if (Date.now() > until) throw new SoakStop(`not settled after ${timeoutMs} ms: ${view}`);
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** The one active server if the mesh is settled, else what is not. */
  private async settledView(): Promise<{ active: Server } | string> {
    const statuses = await Promise.all(SOAK_HOSTS.map((h) => this.status(h).catch((e: Error) => e)));
    const idOf = (s: Server) => this.keys.get(s)!.id;
    const actives = new Set<string | null>();
    for (const [i, st] of statuses.entries()) {
      const h = SOAK_HOSTS[i]!;
      if (st instanceof Error) return `${h}: ${st.message}`;
      const peers = st.peers.filter((p) => p.session && p.state === 'up').length;
      if (peers !== SOAK_HOSTS.length - 1) return `${h} has ${peers} of ${SOAK_HOSTS.length - 1} peers up`;
      const route = st.routes.find((r) => r.prefix === SHARED_PREFIX);
      if (!route || route.claimants.length !== SERVERS.length) return `${h} knows ${route?.claimants.length ?? 0} claimants of ${SHARED_PREFIX}`;
      actives.add(route.active);
    }
    const named = [...actives].map((id) => SERVERS.find((s) => idOf(s) === id) ?? id);
    if (actives.size !== 1) return `the nodes route ${SHARED_PREFIX} to different servers: ${named.join(', ')}`;
    const active = SERVERS.find((s) => idOf(s) === [...actives][0]);
    if (!active) return `every node routes ${SHARED_PREFIX} to ${named[0]}, not a server`;
    const roles = SERVERS.map((s, i) => `${s} ${(statuses[i] as StatusJson).claims.find((c) => c.prefix === SHARED_PREFIX)?.role ?? 'no claim'}`);
    const selfActive = roles.filter((r) => r.endsWith(' active'));
    if (selfActive.length !== 1 || selfActive[0] !== `${active} active`) {
      return `everyone routes to ${active}, but the servers say: ${roles.join(', ')}`;
    }
    return { active };
  }

  /** Wait until each client's last AGREEING_REPLIES answers, all after `since`, came from `active`. */
  private async waitAgreeing(active: Server, since: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      this.checkAlive();
      const views = CLIENTS.map((c) => {
        const last = this.parsedReplies(c).filter((r) => r.server !== null && r.at > since).slice(-AGREEING_REPLIES);
        return { c, ok: last.length === AGREEING_REPLIES && last.every((r) => r.server === active), last };
      });
      if (views.every((v) => v.ok)) return;
      if (Date.now() > until) {
        throw new SoakStop(`every node routes to ${active}, but the clients were answered by: ` +
          views.map((v) => `${v.c} ${v.last.map((r) => r.server).join(',') || 'nobody'}`).join('; '));
      }
      await sleep(50);
    }
  }

  /** Wait until each client's bulk completed a transfer after `since`; when the later one did. */
  private async waitBulk(since: number, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      this.checkAlive();
      const corrupt = CLIENTS.flatMap((c) => this.parsedTransfers(c).filter((t) => t.outcome === 'corrupt').map((t) => `${c} ${t.start}`));
      if (corrupt.length > 0) throw new SoakStop(`a bulk transfer arrived corrupted (sha256 differs): ${corrupt.join(', ')}`);
      const done = CLIENTS.map((c) => this.parsedTransfers(c).find((t) => t.outcome === 'ok' && t.end > since)?.end);
      if (done.every((d) => d !== undefined)) return Math.max(...(done as number[]));
      if (Date.now() > until) {
        const last = CLIENTS.map((c) => `${c}: ${this.parsedTransfers(c).slice(-2).map((t) => `${t.outcome} ${t.detail}`).join(', ') || 'none'}`);
        throw new SoakStop(`the bulk transfers did not complete within ${timeoutMs} ms of settling (last ones ${last.join('; ')})`);
      }
      await sleep(50);
    }
  }

  private parsedReplies(c: Client): Reply[] {
    const state = this.replies.get(c)!;
    const lines = this.probes.get(c)!.lines;
    for (; state.parsed < lines.length; state.parsed++) {
      const r = parseReply(lines[state.parsed]!, SERVERS);
      if (r) state.list.push(r);
    }
    return state.list;
  }

  private parsedTransfers(c: Client): Transfer[] {
    const state = this.transfers.get(c)!;
    const lines = this.bulks.get(c)!.lines;
    for (; state.parsed < lines.length; state.parsed++) {
      const t = parseTransfer(lines[state.parsed]!);
      if (t) state.list.push(t);
    }
    return state.list;
  }

  /** Failovers both clients counted so far. */
  private async clientFailovers(): Promise<number> {
    let total = 0;
    for (const c of CLIENTS) total += (await this.status(c)).failovers.total;
    return total;
  }

  private sample(): void {
    const at = Date.now();
    for (const run of this.nodes.values()) {
      if (!run.proc.running) continue;
      const s = sampleResources(run.proc.pid, at);
      if (s) run.samples.push(s);
    }
  }

  private requestCounts(since: number): SoakResult['requests'] {
    const count = (c: Client) => {
      const list = this.parsedReplies(c).filter((r) => r.at >= since);
      const ok = list.filter((r) => r.server !== null).length;
      return { ok, failed: list.length - ok };
    };
    return { c1: count('c1'), c2: count('c2') };
  }

  private bulkCounts(since: number): SoakResult['bulk'] {
    const count = (c: Client) => {
      const list = this.parsedTransfers(c).filter((t) => t.end >= since);
      const ok = list.filter((t) => t.outcome === 'ok');
      return {
        ok: ok.length,
        failed: list.filter((t) => t.outcome === 'fail').length,
        corrupt: list.filter((t) => t.outcome === 'corrupt').length,
        mb: ok.reduce((n, t) => n + Number(t.detail), 0) / (1024 * 1024),
      };
    };
    return { c1: count('c1'), c2: count('c2') };
  }
}

/** Start the lab's soak, run it, and return what happened (setup failures throw). */
export async function runSoak(lab: Lab, dir: string, plan: SoakPlan, log: (text: string) => void = () => {}, deadline = Infinity): Promise<SoakResult> {
  const soak = new SoakLab(lab, dir, log);
  try {
    await soak.start(plan.seconds);
    log(`soak: 3 servers share ${SHARED_IP}, 2 clients asking every ${REQUEST_EVERY_MS} ms and sending ${BULK_BYTES / 1024} KiB ` +
      `transfers at ${BULK_RATE / 1024 / 1024} MiB/s; faults for ${plan.seconds} s from seed ${plan.seed}`);
    return await soak.run(plan, deadline);
  } finally {
    await soak.restoreNetwork();
  }
}

function sparesActive(fault: Fault): boolean {
  switch (fault.kind) {
    case 'kill':
    case 'stop':
      return fault.server !== 'active';
    case 'loss':
      return fault.node !== 'active';
    case 'partition':
      return 'isolate' in fault.cut && fault.cut.isolate !== 'active';
  }
}

export function describeResult(r: FaultResult): string {
  const silence = r.silenceMs ? `longest without reply c1 ${r.silenceMs.c1} ms, c2 ${r.silenceMs.c2} ms` : 'no silence measured';
  const rest = r.error ? `ERROR ${r.error}` : `${silence}; settled ${r.settleMs} ms after, ${r.activeBefore} -> ${r.activeAfter} active, ` +
    `bulk again ${r.bulkResumeMs} ms later, ${r.clientFailovers} client failovers, ${r.stalls} stall warnings`;
  return `fault ${r.index} at ${r.atS.toFixed(1)} s: ${r.what}: ${rest}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
