// Starting real hacloud daemons in lab namespaces, shared by the e2e suites.
import { execFile } from 'node:child_process';
import type { StatusJson } from '../../src/status/status-json.js';
import { builtFile, REPO_ROOT, type Lab, type LabProcess } from './lab.js';

export const HACLOUD_BIN = `${REPO_ROOT}/bin/hacloud.js`;
export const TCP_FIXTURE = new URL('./fixtures/tcp.mjs', import.meta.url).pathname;

/** Fails loudly if `npm run build` / `npm ci` has not produced the daemon. */
export function requireBuilt(): void {
  builtFile('dist/src/cli/main.js');
  builtFile('build/Release/hacloud_native.node');
}

/** Start `hacloud ARGS` in `host` and wait until it listens. Control socket is per lab+host. */
export async function startHacloud(
  lab: Lab,
  host: string,
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): Promise<LabProcess> {
  const proc = lab.spawn(host, process.execPath, [HACLOUD_BIN, '--control-socket', controlSocket(lab, host), ...args], options);
  try {
    await proc.waitForLine(/listening on port/, 15_000);
  } catch (err) {
    throw new Error(`hacloud in ${host} did not start: ${(err as Error).message}\n${proc.tail(20)}`);
  }
  return proc;
}

export function controlSocket(lab: Lab, host: string): string {
  return `/run/hacloud-test/${lab.id}-${host}.sock`;
}

/** Run the hacloud CLI on the host (e.g. `status` against a lab node's control socket). */
export function hacloudCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HACLOUD_BIN, ...args], { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** `hacloud status --json` of the node in `host`. */
export async function statusJson(lab: Lab, host: string): Promise<StatusJson> {
  const r = await hacloudCli(['status', '--json', '--control-socket', controlSocket(lab, host)]);
  if (r.code !== 0) throw new Error(`hacloud status in ${host} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** Ask a TCP service through the tunnel; returns its reply text or null on failure. */
export async function ask(lab: Lab, host: string, ip: string, port: number, timeoutMs = 1000): Promise<string | null> {
  const r = await lab.exec(host, process.execPath, [TCP_FIXTURE, 'ask', ip, String(port), String(timeoutMs)], { timeoutMs: timeoutMs + 5000, check: false });
  const m = /^reply (.*)$/m.exec(r.stdout);
  return m ? m[1]! : null;
}

/** Poll until `fn` returns a value that is not null, or fail after timeoutMs. */
export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | null>, intervalMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
