// Starting real hacloud daemons in lab namespaces, shared by the e2e suites.
import { builtFile, labStateDir, REPO_ROOT, type Lab, type LabProcess } from './lab.js';

export const HACLOUD_BIN = `${REPO_ROOT}/bin/hacloud.js`;
export const TCP_FIXTURE = new URL('./fixtures/tcp.mjs', import.meta.url).pathname;

/** Fails loudly if `npm run build` / `npm ci` has not produced the daemon. */
export function requireBuilt(): void {
  builtFile('dist/src/cli/main.js');
  builtFile('build/Release/hacloud_native.node');
}

/**
 * Start `hacloud ARGS` in `host` and wait until it listens. Control socket and (password mode)
 * identity file are per lab+host: namespaces on one machine never share an identity.
 */
export async function startHacloud(
  lab: Lab,
  host: string,
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): Promise<LabProcess> {
  const identity = args.includes('--private-key') ? [] : ['--identity-file', identityFile(lab, host)];
  const proc = lab.spawn(host, process.execPath,
    [HACLOUD_BIN, '--control-socket', controlSocket(lab, host), ...identity, ...args], options);
  try {
    await proc.waitForLine(/listening on port/, 15_000);
  } catch (err) {
    throw new Error(`hacloud in ${host} did not start: ${(err as Error).message}\n${proc.tail(20)}`);
  }
  return proc;
}

export function identityFile(lab: Lab, host: string): string {
  return `${labStateDir(lab)}/${host}.key`;
}

export function controlSocket(lab: Lab, host: string): string {
  return `/run/hacloud-test/${lab.id}-${host}.sock`;
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
