// `hacloud demo`: the HA guide in one command, on this machine. Builds a lab of network
// namespaces (servera and serverb both claim 10.0.0.1 and serve their name on port 8000, a
// client reaches 10.0.0.1 through the mesh), runs real hacloud daemons with the documented
// fast settings, kill -9s the active server and prints the failover timeline; then restarts
// the killed server and shows the client stays on the survivor. Everything it created is
// removed in `finally`, also on Ctrl-C or a timeout. Needs root (namespaces, TUN devices).
//
// Output ends with one machine-parsable line:
//   demo: ok failover_ms=N suspect_ms=N|- detect_ms=N switch_ms=N gap_ms=N stayed=yes
//   demo: failed reason="..."
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAST_KEEPALIVE_MS, FAST_PEER_TIMEOUT_MS } from '../core/constants.js';
import { createLab, missingLabPrerequisites, REPO_ROOT, type Lab, type LabProcess } from '../lab/netns.js';
import type { LogLevel } from '../log/levels.js';
import { requestControl } from '../status/control-client.js';
import type { StatusJson } from '../status/status-json.js';
import { shortId } from '../log/text.js';

export interface DemoOptions {
  logLevel: LogLevel;
}

const SHARED_IP = '10.0.0.1';
const SHARED_PREFIX = `${SHARED_IP}/32`;
const CLIENT_IP = '10.0.0.100';
const SERVICE_PORT = 8000;
const PROBE_INTERVAL_MS = 50;
/** The whole demo is bounded: past this it gives up and cleans up. */
const DEMO_DEADLINE_MS = 55_000;
/** After the failover and after the restart: how long the client is watched. */
const WATCH_MS = 2000;
const SERVERS = ['servera', 'serverb'] as const;
type Server = (typeof SERVERS)[number];

class DemoAbort extends Error {}

/** Returns the process exit code. */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const words = { root: 'root', tun: '/dev/net/tun', ip: "the 'ip' command (Debian: apt-get install iproute2)" };
  const missing = missingLabPrerequisites().map((m) => words[m]);
  if (missing.length > 0) {
    process.stderr.write(`hacloud: the demo builds network namespaces and TUN devices, so it needs ${missing.join(', ')}` +
      ' (try: sudo npx hacloud demo)\n');
    return 1;
  }
  const demo = new Demo(opts.logLevel === 'debug' || opts.logLevel === 'trace');
  const onSignal = (signal: NodeJS.Signals) => demo.abort(new DemoAbort(`interrupted by ${signal}`));
  // Kept for the whole run: a second Ctrl-C must not skip the cleanup.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const deadline = setTimeout(() => demo.abort(new DemoAbort(`gave up after ${DEMO_DEADLINE_MS / 1000} s`)), DEMO_DEADLINE_MS);
  try {
    return await demo.run();
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface Node {
  host: string;
  socket: string;
  proc: LabProcess;
  id: string;
}

interface Reply {
  startMs: number;
  endMs: number;
  name: string;
}

class Demo {
  private readonly started = Date.now();
  private lab: Lab | undefined;
  private dir: string | undefined;
  private aborted: Error | null = null;
  private abortWaiters: Array<(e: Error) => void> = [];
  private readonly nodes = new Map<string, Node>();

  constructor(private readonly verbose: boolean) {}

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = reason;
    for (const w of this.abortWaiters) w(reason);
  }

  async run(): Promise<number> {
    let code: number;
    let summary: string;
    try {
      summary = await this.scenario();
      code = 0;
      if (this.verbose) this.printLogs();
    } catch (e) {
      const message = (e as Error).message;
      this.say(`\n${e instanceof DemoAbort ? 'stopped' : 'error'}: ${message}`);
      if (!(e instanceof DemoAbort) || this.verbose) this.printLogs();
      summary = `demo: failed reason=${JSON.stringify(message.split('\n')[0])}`;
      code = e instanceof DemoAbort && message.startsWith('interrupted') ? 130 : 1;
    } finally {
      await this.cleanup();
    }
    this.say(summary);
    return code;
  }

  /** Returns the summary line. */
  private async scenario(): Promise<string> {
    const settings = `--keepalive ${FAST_KEEPALIVE_MS}ms --peer-timeout ${FAST_PEER_TIMEOUT_MS}ms`;
    this.say(`hacloud demo: servera and serverb both claim ${SHARED_IP}; a client reaches it through the mesh`);
    this.say(`settings: ${settings} (the documented fast settings)`);

    this.dir = mkdtempSync(join(tmpdir(), 'hacloud-demo-'));
    // Not raced against Ctrl-C: the lab must be known to be cleaned up. It takes well under a second.
    const lab = (this.lab = await createLab({ hosts: [...SERVERS, 'client'] }));
    if (this.aborted) throw this.aborted;
    this.step(`lab: namespaces ${[...SERVERS, 'client'].map((h) => `${h} (${lab.ip(h)})`).join(', ')}`);

    for (const server of SERVERS) {
      lab.spawn(server, process.execPath, [helperScript(), 'serve', server, String(SERVICE_PORT)]);
    }
    // servera first: the earliest start time wins a shared claim, so servera is active.
    await this.startNode('servera', SHARED_IP, [lab.ip('serverb')]);
    await this.startNode('serverb', SHARED_IP, [lab.ip('servera')]);
    const client = await this.startNode('client', CLIENT_IP, [lab.ip('servera'), lab.ip('serverb')]);
    const nameOf = (id: string | null) => [...this.nodes.values()].find((n) => n.id === id)?.host ?? String(id);

    const ready = await this.poll('the client to see both claimants of 10.0.0.1', 15_000, async () => {
      const route = (await this.status(client)).routes.find((r) => r.prefix === SHARED_PREFIX);
      return route && route.claimants.length === 2 && route.active ? route : null;
    });
    const active = nameOf(ready.active) as Server;
    const survivor: Server = active === 'servera' ? 'serverb' : 'servera';
    this.step(`client routes ${SHARED_PREFIX} to ${active} (${ready.reason}), ${survivor} is standby`);

    const prober = lab.spawn('client', process.execPath, [helperScript(), 'probe', SHARED_IP, String(SERVICE_PORT), String(PROBE_INTERVAL_MS)]);
    const first = await this.nextReply(prober, 0, () => true, 10_000, 'a first reply from 10.0.0.1');
    if (first.name !== active) throw new Error(`the client was answered by ${first.name}, but its route points to ${active}`);
    await this.sleep(500);
    const before = replies(prober, 0);
    if (!before.every((r) => r.name === active)) throw new Error(`the client was answered by both servers before any failure`);
    this.step(`client polls ${SHARED_IP}:${SERVICE_PORT} every ${PROBE_INTERVAL_MS} ms: ${before.length} replies, all from ${active}`);

    // The failover.
    const victim = this.nodes.get(active)!;
    const probeMark = prober.lines.length;
    const logMark = client.proc.lines.length;
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    this.step(`kill -9 ${active}'s hacloud (pid ${victim.proc.pid})`);
    const firstSurvivor = await this.nextReply(prober, probeMark, (r) => r.name === survivor && r.endMs >= killedAt, 10_000,
      `a reply from ${survivor} after the kill`);
    const failover = await this.poll('the client to record the failover', 5000, async () =>
      (await this.status(client)).failovers.recent.find((f) => f.prefix === SHARED_PREFIX && Date.parse(f.time) >= killedAt - 50) ?? null);
    // Times from the client's log lines (one clock, in event order); the status snapshot's
    // failover time is the fallback should the log wording change.
    const clientLog = client.proc.lines.slice(logMark);
    const switchedAt = logTime(clientLog, victim.id, /route 10\.0\.0\.1\/32 -> /) ?? Date.parse(failover.time);
    const suspectedAt = logTime(clientLog, victim.id, /silent, probing|suspect/i);
    const detectedAt = logTime(clientLog, victim.id, /peer \S+ (lost|down|dead)/i) ?? switchedAt;
    const rel = (t: number) => `${t - killedAt >= 0 ? '+' : ''}${t - killedAt} ms`.padStart(9);
    this.say('');
    this.say('failover timeline (relative to the kill):');
    this.say(`  ${rel(switchedAt - failover.gapMs)}  last packet the client heard from ${active}`);
    this.say(`  ${rel(killedAt)}  ${active}'s hacloud killed (kill -9)`);
    if (suspectedAt !== null) this.say(`  ${rel(suspectedAt)}  client suspects ${active} (silent for a while, probing it)`);
    this.say(`  ${rel(detectedAt)}  client declares ${active} dead (silent ${failover.gapMs} ms, peer timeout ${FAST_PEER_TIMEOUT_MS} ms)`);
    this.say(`  ${rel(switchedAt)}  client switches ${SHARED_PREFIX} to ${nameOf(failover.to)} (cause: ${failover.cause})`);
    this.say(`  ${rel(firstSurvivor.endMs)}  first reply from ${survivor}`);
    this.say('');
    if (nameOf(failover.to) !== survivor) throw new Error(`the client switched to ${nameOf(failover.to)}, not ${survivor}`);

    // The restart: the killed server comes back younger and must not take the IP back.
    const restarted = await this.startNode(active, SHARED_IP, [lab.ip(survivor)], 'restarted');
    await this.poll(`the client to see ${active} again`, 10_000, async () => {
      const route = (await this.status(client)).routes.find((r) => r.prefix === SHARED_PREFIX);
      return route?.claimants.some((c) => c.id === restarted.id) ? route : null;
    });
    const rejoinMark = prober.lines.length;
    await this.sleep(WATCH_MS);
    const after = replies(prober, rejoinMark);
    const stayed = after.length > 0 && after.every((r) => r.name === survivor);
    const route = (await this.status(client)).routes.find((r) => r.prefix === SHARED_PREFIX);
    this.step(`${active} rejoined; client routes ${SHARED_PREFIX} to ${nameOf(route?.active ?? null)} ` +
      `(${route?.reason ?? 'no route'}): ${after.filter((r) => r.name === survivor).length}/${after.length} replies from ${survivor}`);
    if (!stayed) throw new Error(`the client did not stay on ${survivor} after ${active} came back`);

    const failoverMs = firstSurvivor.endMs - killedAt;
    return `demo: ok failover_ms=${failoverMs} suspect_ms=${suspectedAt === null ? '-' : suspectedAt - killedAt} ` +
      `detect_ms=${detectedAt - killedAt} switch_ms=${switchedAt - killedAt} gap_ms=${failover.gapMs} stayed=yes`;
  }

  private async startNode(host: string, ip: string, peers: string[], verb = 'started'): Promise<Node> {
    const lab = this.lab!;
    const socket = join(this.dir!, `${host}.sock`);
    const args = [
      hacloudBin(), '--ip', ip, ...peers.flatMap((p) => ['-c', `${p}:3210`]),
      '--keepalive', `${FAST_KEEPALIVE_MS}ms`, '--peer-timeout', `${FAST_PEER_TIMEOUT_MS}ms`,
      '--control-socket', socket, '--identity-file', join(this.dir!, `${host}.key`), '-v',
    ];
    // The password goes through the environment: command lines are visible to everyone.
    const proc = lab.spawn(host, process.execPath, args, { env: { PASSWORD: 'hacloud-demo' } });
    const status = await this.poll(`${host}'s hacloud to start`, 10_000, async () => {
      if (!proc.running) throw new Error(`${host}'s hacloud exited (${proc.exitStatus?.code ?? proc.exitStatus?.signal}):\n${proc.tail(10)}`);
      return this.status({ host, socket }).catch(() => null);
    });
    const node = { host, socket, proc, id: status.node.id };
    this.nodes.set(host, node);
    this.step(`${host}: ${verb} hacloud --ip ${ip} ${peers.map((p) => `-c ${p}`).join(' ')} (pid ${proc.pid}, id ${shortId(status.node.id)})`);
    return node;
  }

  private async status(node: { host: string; socket: string }): Promise<StatusJson> {
    return (await this.wait(requestControl(node.socket, 'status', 2000))) as StatusJson;
  }

  /** Calls `check` every 50 ms until it returns non-null. */
  private async poll<T>(what: string, timeoutMs: number, check: () => Promise<T | null | undefined>): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== null && value !== undefined) return value;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await this.sleep(50);
    }
  }

  private async nextReply(prober: LabProcess, from: number, match: (r: Reply) => boolean, timeoutMs: number, what: string): Promise<Reply> {
    return this.poll(what, timeoutMs, async () => replies(prober, from).find(match) ?? null);
  }

  private sleep(ms: number): Promise<void> {
    return this.wait(new Promise((r) => setTimeout(r, ms)));
  }

  /** Races `p` against Ctrl-C and the deadline. */
  private wait<T>(p: Promise<T>): Promise<T> {
    if (this.aborted) return Promise.reject(this.aborted);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (e: Error) => reject(e);
      this.abortWaiters.push(onAbort);
      p.then(resolve, reject).finally(() => {
        this.abortWaiters = this.abortWaiters.filter((w) => w !== onAbort);
      });
    });
  }

  private async cleanup(): Promise<void> {
    // Every daemon, service and prober is stopped by PID, then the namespaces are deleted.
    await this.lab?.destroy();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.say(`cleaned up${this.lab ? ` lab ${this.lab.id}` : ''}`);
  }

  private printLogs(): void {
    for (const node of this.nodes.values()) {
      process.stdout.write(`--- ${node.host} (last lines) ---\n${node.proc.tail(15)}\n`);
    }
  }

  private step(text: string): void {
    this.say(`[${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s] ${text}`);
  }

  private say(text: string): void {
    process.stdout.write(`${text}\n`);
  }
}

/** Parsed `reply` lines of the prober from line index `from` on. */
function replies(prober: LabProcess, from: number): Reply[] {
  const out: Reply[] = [];
  for (const line of prober.lines.slice(from)) {
    const m = /^reply (\d+) (\d+) (\S+)$/.exec(line);
    if (m) out.push({ startMs: Number(m[1]), endMs: Number(m[2]), name: m[3]! });
  }
  return out;
}

/** Wall-clock time of the first log line that mentions the peer (by its short id) and matches `re`. */
export function logTime(lines: readonly string[], peerId: string, re: RegExp): number | null {
  const short = shortId(peerId);
  for (const line of lines) {
    if (!line.includes(short) || !re.test(line)) continue;
    const t = Date.parse(line.split(' ', 1)[0]!);
    if (!Number.isNaN(t)) return t;
  }
  return null;
}

function hacloudBin(): string {
  return join(REPO_ROOT, 'bin', 'hacloud.js');
}

function helperScript(): string {
  return fileURLToPath(new URL('./demo-helpers.js', import.meta.url));
}
