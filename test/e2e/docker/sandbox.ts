// A private Docker daemon for one test run, isolated from any Docker on the machine:
// - its own network namespace (created here, loopback up), so its bridges, iptables rules and
//   container traffic stay inside a namespace the test owns;
// - its own mount namespace (slave propagation), so its overlay mounts vanish with it;
// - its own data-root, exec-root, socket, pid file, trust key and supervised containerd under one
//   temp dir, and its own cgroup parent, so leftover container processes can be found and killed.
// stop() tears all of it down by PID and path, and reports (throws) what it could not clean.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, closeSync, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, sleep, tryRun } from './run.js';

export interface DockerSandbox {
  /** Unique per run: usable as a compose project name or a tag suffix. */
  readonly id: string;
  readonly dir: string;
  readonly netns: string;
  /** Environment for docker / docker-compose that points at this daemon and nothing else. */
  readonly env: NodeJS.ProcessEnv;
  /** Path of the docker client binary. */
  readonly docker: string;
  readonly tools: Record<Tool, string>;
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

type Tool = 'dockerd' | 'docker' | 'docker-compose' | 'containerd' | 'runc' | 'unshare' | 'nsenter' | 'ip';
const requiredTools: Tool[] = ['dockerd', 'docker', 'docker-compose', 'containerd', 'runc', 'unshare', 'nsenter', 'ip'];
const debianPackages = 'docker.io docker-compose iproute2 util-linux';

const daemonReadyTimeoutMs = 45_000;
const daemonStopTimeoutMs = 20_000;
const cgroupRoot = '/sys/fs/cgroup';

/** Absolute path of a tool; Debian's own docker client is preferred over any other on PATH. */
function findTool(name: Tool): string | null {
  const dirs = ['/usr/bin', '/usr/sbin', ...(process.env.PATH ?? '').split(':'), '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}

function findTools(): Record<Tool, string> {
  const found: Partial<Record<Tool, string>> = {};
  const missing: string[] = [];
  for (const tool of requiredTools) {
    const path = findTool(tool);
    if (path) found[tool] = path;
    else missing.push(tool);
  }
  if (missing.length > 0) {
    throw new Error(`docker e2e test: missing ${missing.join(', ')}; install the Debian packages: ${debianPackages}`);
  }
  return found as Record<Tool, string>;
}

/** The inherited environment without anything that could point a client at another daemon. */
function isolatedEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DOCKER_') && !k.startsWith('COMPOSE_')) env[k] = v;
  }
  env.DOCKER_HOST = `unix://${dir}/docker.sock`;
  env.DOCKER_CONFIG = join(dir, 'client-config'); // keeps ~/.docker untouched
  env.DOCKER_BUILDKIT = '0'; // the classic builder: no BuildKit image to pull
  env.COMPOSE_DOCKER_CLI_BUILD = '0';
  return env;
}

export async function startDockerSandbox(): Promise<DockerSandbox> {
  const tools = findTools();
  const id = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const netns = `hacloud-dk-${id}`;
  const cgroupParent = `/hacloud-docker-${id}`;
  const dir = await mkdtemp('/tmp/hacloud-docker-');
  const env = isolatedEnv(dir);
  let child: ChildProcess | null = null;
  let exited = false;
  let netnsCreated = false;

  const logTail = async (lines = 40) => {
    const text = await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '');
    return text.trim().split('\n').slice(-lines).join('\n');
  };

  const stop = async () => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    await attempt('stop dockerd', async () => {
      if (!child?.pid || exited) return;
      child.kill('SIGTERM');
      for (let waited = 0; !exited && waited < daemonStopTimeoutMs; waited += 100) await sleep(100);
      if (!exited) {
        child.kill('SIGKILL');
        for (let waited = 0; !exited && waited < 5_000; waited += 100) await sleep(100);
      }
      if (!exited) throw new Error(`dockerd (pid ${child.pid}) did not exit`);
    });
    // containerd and its shims live in the daemon's network namespace; containers in the cgroup parent.
    if (netnsCreated) await attempt('kill leftover daemon processes', () => killNetnsProcesses(tools.ip, netns));
    await attempt('kill leftover container processes', () => removeCgroupTrees(cgroupParent));
    if (netnsCreated) await attempt(`delete netns ${netns}`, () => run(tools.ip, ['netns', 'del', netns], { timeoutMs: 10_000 }));
    await attempt(`remove ${dir}`, () => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
    if (problems.length > 0) throw new Error(`docker sandbox cleanup incomplete:\n${problems.join('\n')}`);
  };

  try {
    await run(tools.ip, ['netns', 'add', netns], { timeoutMs: 10_000 });
    netnsCreated = true;
    await run(tools.ip, ['-n', netns, 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
    const daemonConfig = {
      'deprecated-key-path': join(dir, 'key.json'), // otherwise dockerd writes /etc/docker/key.json
      'cgroup-parent': cgroupParent,
      'log-level': 'warn',
    };
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(daemonConfig));
    const logFd = openSync(join(dir, 'dockerd.log'), 'a');
    try {
      // unshare and nsenter exec in place, so child.pid is dockerd's own PID.
      child = spawn(
        tools.unshare,
        ['--mount', '--propagation', 'slave', '--', tools.nsenter, `--net=/run/netns/${netns}`, '--',
          tools.dockerd,
          '--data-root', join(dir, 'data'),
          '--exec-root', join(dir, 'exec'),
          '--pidfile', join(dir, 'dockerd.pid'),
          '--host', env.DOCKER_HOST!,
          '--config-file', join(dir, 'daemon.json')],
        { stdio: ['ignore', logFd, logFd], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
    } finally {
      closeSync(logFd);
    }
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));

    const deadline = Date.now() + daemonReadyTimeoutMs;
    for (;;) {
      if (exited) throw new Error(`dockerd exited during start-up:\n${await logTail()}`);
      const version = await tryRun(tools.docker, ['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 5_000 });
      if (version) break;
      if (Date.now() > deadline) throw new Error(`dockerd not ready after ${daemonReadyTimeoutMs} ms:\n${await logTail()}`);
      await sleep(250);
    }
  } catch (err) {
    await stop().catch((cleanupErr) => console.error(cleanupErr));
    throw err;
  }

  return { id, dir, netns, env, docker: tools.docker, tools, logTail, stop };
}

async function killNetnsProcesses(ip: string, netns: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const out = (await tryRun(ip, ['netns', 'pids', netns], { timeoutMs: 5_000 })) ?? '';
    const pids = out.split(/\s+/).filter(Boolean).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) killQuietly(pid);
    await sleep(100);
  }
  throw new Error(`processes still in netns ${netns}`);
}

/** SIGKILLs every process under the daemon's cgroup parent in every hierarchy, then removes the cgroups. */
async function removeCgroupTrees(cgroupParent: string): Promise<void> {
  const hierarchies = (await readdir(cgroupRoot).catch(() => [] as string[])).map((h) => join(cgroupRoot, h));
  const trees = [join(cgroupRoot, cgroupParent), ...hierarchies.map((h) => join(h, cgroupParent))];
  for (const tree of trees) {
    const dirs = await cgroupDirsDeepestFirst(tree);
    for (const d of dirs) {
      for (let round = 0; round < 50; round++) {
        const procs = (await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
        if (procs.length === 0) break;
        for (const pid of procs) killQuietly(Number(pid));
        await sleep(100);
      }
      await rmdir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }
}

async function cgroupDirsDeepestFirst(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (!entries) return [];
  const nested: string[] = [];
  for (const e of entries) if (e.isDirectory()) nested.push(...(await cgroupDirsDeepestFirst(join(dir, e.name))));
  return [...nested, dir];
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
