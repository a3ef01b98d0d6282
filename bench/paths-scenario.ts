// Issue 12's namespace lab, shared by its e2e test (test/e2e/paths.test.ts, asserting) and the
// paths benchmark (bench/paths.ts, measuring): a public node p, and nodes a and c each behind
// its own masquerading router (ra, rc; src/lab/lan.ts), all running hacloud with `-c p`. a and
// c learn each other from p's gossip and should punch a direct path through their NATs; with
// UDP between the two routers blocked (src/lab/block.ts) they should talk through p as relay.
import { join } from 'node:path';
import { blockUdp, REPO_ROOT, unblockUdp, type Lab, type LabOptions, type LabProcess } from '../src/lab/netns.js';
import { shortId } from '../src/log/text.js';
import { requestControl } from '../src/status/control-client.js';
import type { PeerJson, StatusJson } from '../src/status/status-json.js';

// From the repository root, so this file works compiled (bench) and from source (vitest).
const HACLOUD_BIN = join(REPO_ROOT, 'bin', 'hacloud.js');
const TCP_FIXTURE = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'tcp.mjs');
const PORT = 3210;
const PASSWORD = 'paths-lab-password';
/** Start-up (password KDF, data-path warm-up) can take many seconds on busy cores. */
const START_TIMEOUT_MS = 30_000;
/** How often a wait asks a node's control socket for its status. */
const POLL_MS = 50;

export type Node = 'p' | 'a' | 'c';
export const NODES: readonly Node[] = ['p', 'a', 'c'];
export const TUN_IP: Record<Node, string> = { p: '10.66.0.1', a: '10.66.0.2', c: '10.66.0.3' };
const ROUTER: Record<'a' | 'c', string> = { a: 'ra', c: 'rc' };

/** p public; a behind ra, c behind rc; `nat` of both routers (cone: punchable). */
export function pathsLayout(nat: 'cone' | 'symmetric' = 'cone'): LabOptions {
  return { hosts: ['p', 'ra', 'rc'], lans: [{ router: 'ra', hosts: ['a'], nat }, { router: 'rc', hosts: ['c'], nat }] };
}

/** What a node's status says about its path to another: direct (to an endpoint) or via a relay node. */
export type PathView = { kind: 'direct'; endpoint: string } | { kind: 'relay'; via: Node | string } | { kind: 'none' };

export function describePath(p: PathView): string {
  return p.kind === 'direct' ? `direct ${p.endpoint}` : p.kind === 'relay' ? `via ${p.via}` : 'no session';
}

export class PathsLab {
  private readonly procs = new Map<Node, LabProcess>();
  private readonly ids = new Map<Node, string>();
  private readonly ports = new Map<Node, number>();

  /** `args`: extra hacloud options for every node (e.g. timings). */
  constructor(readonly lab: Lab, private readonly dir: string, private readonly args: readonly string[] = []) {}

  /**
   * Start hacloud on `node` (p without peers, a and c with `-c p`); resolves with its
   * "listening" log time (epoch ms). A port of its own makes a restarted node punch anew: its
   * router's mappings of the old port would still be open.
   */
  async start(node: Node, port = PORT): Promise<number> {
    if (node === 'p' && port !== PORT) throw new Error(`p listens on ${PORT}: a and c dial it there`);
    this.ports.set(node, port);
    const connect = node === 'p' ? [] : ['-c', `${this.lab.ip('p')}:${PORT}`];
    const proc = this.lab.spawn(node, process.execPath, [
      HACLOUD_BIN, '-v', '--ip', TUN_IP[node], '--listen', String(port), '--control-socket', this.socket(node),
      '--identity-file', join(this.dir, `${node}.key`), ...connect, ...this.args,
    ], { env: { PASSWORD } });
    this.procs.set(node, proc);
    const line = await proc.waitForLine(/listening on port/, START_TIMEOUT_MS).catch((e: Error) => {
      throw new Error(`hacloud on ${node} did not start: ${e.message}`);
    });
    this.ids.set(node, (await this.statusOnceUp(node)).node.id);
    return logTime(line);
  }

  async stop(node: Node): Promise<void> {
    await this.procs.get(node)?.stop(3000);
    this.procs.delete(node);
  }

  process(node: Node): LabProcess {
    const p = this.procs.get(node);
    if (!p) throw new Error(`hacloud on ${node} is not running`);
    return p;
  }

  id(node: Node): string {
    const id = this.ids.get(node);
    if (!id) throw new Error(`hacloud on ${node} was never started`);
    return id;
  }

  status(node: Node): Promise<StatusJson> {
    return requestControl(this.socket(node), 'status', 5_000) as Promise<StatusJson>;
  }

  /** The control socket opens a moment after the "listening" line. */
  private async statusOnceUp(node: Node): Promise<StatusJson> {
    const until = Date.now() + 5_000;
    for (;;) {
      try {
        return await this.status(node);
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(POLL_MS);
      }
    }
  }

  /** The entry for `to` in `from`'s peer list, or null. */
  async peer(from: Node, to: Node): Promise<PeerJson | null> {
    return (await this.status(from)).peers.find((p) => p.id === this.id(to)) ?? null;
  }

  /** `from`'s active path to `to` as its status reports it (relay ids named by node where known). */
  async path(from: Node, to: Node): Promise<PathView> {
    const peer = await this.peer(from, to);
    if (!peer || !peer.session) return { kind: 'none' };
    const path = (peer as PeerWithPath).path;
    if (path?.kind === 'relay') return { kind: 'relay', via: this.nodeOf(path.via ?? '') ?? path.via ?? '?' };
    return { kind: 'direct', endpoint: path?.endpoint ?? peer.endpoint };
  }

  /** The endpoint a direct path from `from` to `to` goes to: the router `to` sits behind. */
  publicEndpoint(to: 'a' | 'c'): string {
    return `${this.lab.ip(ROUTER[to])}:${this.ports.get(to) ?? PORT}`;
  }

  /**
   * Poll until both a→c and c→a are on `want` (direct: to each other's router; relay: via p);
   * resolves with the wall-clock time (epoch ms) it was first seen.
   */
  async waitPaths(want: 'direct' | 'relay', timeoutMs: number): Promise<number> {
    const ok = (p: PathView, to: 'a' | 'c') =>
      want === 'direct' ? p.kind === 'direct' && p.endpoint === this.publicEndpoint(to) : p.kind === 'relay' && p.via === 'p';
    const until = Date.now() + timeoutMs;
    let last: PathView[] = [];
    for (;;) {
      const at = Date.now();
      last = await Promise.all([this.path('a', 'c'), this.path('c', 'a')]);
      if (ok(last[0]!, 'c') && ok(last[1]!, 'a')) return at;
      if (Date.now() > until) {
        throw new Error(`no ${want} path between a and c after ${timeoutMs} ms: a→c ${describePath(last[0]!)}, c→a ${describePath(last[1]!)}`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Cut UDP between the two routers (a↔c direct), leaving a↔p and c↔p alone. */
  breakDirect(): Promise<void> {
    return blockUdp(this.lab, 'ra', 'rc');
  }

  healDirect(): Promise<void> {
    return unblockUdp(this.lab, 'ra', 'rc');
  }

  /** `count` pings from → to's tunnel address, 0.2 s apart; how many came back. */
  /** Pings answered; `bytes`: ICMP payload size, sent without don't-fragment (`-M dont`). */
  async ping(from: Node, to: Node, count = 5, bytes?: number): Promise<number> {
    const size = bytes === undefined ? [] : ['-s', String(bytes), '-M', 'dont'];
    const r = await this.lab.exec(from, 'ping', ['-n', '-c', String(count), '-i', '0.2', '-W', '2', ...size, TUN_IP[to]], { check: false, timeoutMs: count * 200 + 10_000 });
    return Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
  }

  /** Send `bytes` over TCP through the tunnel; the sha256 sent and the one the sink computed. */
  async transfer(from: Node, to: Node, bytes: number, port = 9000): Promise<{ sent: string; received: string; receivedBytes: number }> {
    const sink = this.lab.spawn(to, process.execPath, [TCP_FIXTURE, 'sink', String(port)]);
    try {
      await sink.waitForLine(/READY/, 5000);
      const r = await this.lab.exec(from, process.execPath, [TCP_FIXTURE, 'send', TUN_IP[to], String(port), String(bytes)], { check: false, timeoutMs: 40_000 });
      const sent = /^sent ([0-9a-f]{64}) (\d+)$/m.exec(r.stdout);
      const got = /^sha256 ([0-9a-f]{64}) (\d+)$/m.exec(r.stdout);
      if (!sent || !got) throw new Error(`TCP transfer ${from}→${to} failed: ${r.stdout.trim() || r.stderr.trim()}`);
      return { sent: sent[1]!, received: got[1]!, receivedBytes: Number(got[2]) };
    } finally {
      await sink.stop();
    }
  }

  /** Bytes the node forwarded as relay for others, as its status counts them (0 if it reports none). */
  async relayedBytes(node: Node): Promise<number> {
    const s = (await this.status(node)) as StatusWithRelay;
    return typeof s.relay?.forwarded?.bytes === 'number' ? s.relay.forwarded.bytes : 0;
  }

  /** The node's "peer X lost" log lines about `peer` after `sinceMs` (a path change must not look like death). */
  lostLines(node: Node, peer: Node, sinceMs: number): string[] {
    const re = new RegExp(`peer ${shortId(this.id(peer))} lost`);
    return this.process(node).lines.filter((l) => re.test(l) && logTime(l) >= sinceMs);
  }

  socket(node: Node): string {
    return join(this.dir, `${node}.sock`);
  }

  private nodeOf(id: string): Node | null {
    return NODES.find((n) => this.ids.get(n) === id) ?? null;
  }
}

/**
 * The path fields of issue 12's status (docs/status-json.md), read loosely: the test must say
 * "no path field" rather than fail to compile while the core does not have them yet.
 */
type PeerWithPath = PeerJson & { path?: { kind?: string; endpoint?: string; via?: string } };
type StatusWithRelay = StatusJson & { relay?: { forwarded?: { bytes?: number } } };

/** `ping -D` from → to's tunnel address every intervalMs in the background (bounded by maxMs). */
export class PingRun {
  private constructor(private readonly proc: LabProcess) {}

  static async start(pl: PathsLab, from: Node, to: Node, intervalMs: number, maxMs: number): Promise<PingRun> {
    const count = String(Math.ceil(maxMs / intervalMs));
    const proc = pl.lab.spawn(from, 'ping', ['-n', '-D', '-c', count, '-i', String(intervalMs / 1000), '-W', '2', TUN_IP[to]]);
    await proc.waitForLine(/icmp_seq=\d+ /, 10_000); // answered before anything happens
    return new PingRun(proc);
  }

  /** Stop it; every reply in arrival order, and when it was stopped (epoch ms). */
  async stop(): Promise<{ replies: PingReply[]; endMs: number }> {
    const endMs = Date.now();
    this.proc.kill('SIGINT');
    await this.proc.stop(2000);
    return { replies: parsePingD(this.proc.stdout), endMs };
  }
}

export interface PingReply {
  /** Arrival (epoch ms, ping -D). */
  at: number;
  seq: number;
}

export function parsePingD(output: string): PingReply[] {
  return [...output.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=(\d+) /gm)].map((m) => ({ at: Number(m[1]) * 1000, seq: Number(m[2]) }));
}

/** Replies this recent at the end of a run mean pings were still being answered. */
const STILL_FLOWING_MS = 250;

/**
 * After an event at atMs (epoch ms), in a run stopped at endMs: the pings it cost (the first
 * run of missing sequence numbers after it) and the ms from the event to the first reply after
 * them; 0 when none was lost and replies kept coming, null when they stopped for good. The
 * replies start before the event (PingRun.start waits for one).
 */
export function recoveryAfter(run: { replies: readonly PingReply[]; endMs: number }, atMs: number): { recoverMs: number | null; lost: number } {
  let prev = 0;
  for (const r of run.replies) {
    if (r.at >= atMs && r.seq > prev + 1) return { recoverMs: r.at - atMs, lost: r.seq - prev - 1 };
    prev = Math.max(prev, r.seq);
  }
  const last = run.replies[run.replies.length - 1];
  return { recoverMs: last !== undefined && last.at >= run.endMs - STILL_FLOWING_MS ? 0 : null, lost: 0 };
}

/** Epoch ms of a hacloud log line (it starts with an ISO 8601 time). */
export function logTime(line: string): number {
  return Date.parse(line.slice(0, line.indexOf(' ')));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
