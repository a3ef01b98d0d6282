// --ifup / --ifdown: a shell command run with IFNAME (and whatever the daemon adds) in its
// environment. Bounded in time; a failing or hanging script is logged, never fatal.
import { spawn } from 'node:child_process';
import type { Logger } from '../log/logger.js';

export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
/** After SIGTERM on timeout, the script's process group gets this long before SIGKILL. */
const KILL_GRACE_MS = 500;
const OUTPUT_LIMIT_CHARS = 4000;

export type HookKind = 'ifup' | 'ifdown';

export function runHook(
  kind: HookKind,
  script: string,
  env: { IFNAME: string; [k: string]: string },
  log: Logger,
  timeoutMs = DEFAULT_HOOK_TIMEOUT_MS,
): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    let output = '';
    let child;
    try {
      // Its own process group, so a timeout also stops whatever the script started.
      child = spawn('/bin/sh', ['-c', script], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      log.warn(`${kind} script could not be started`, { error: (e as Error).message });
      resolve();
      return;
    }
    const collect = (chunk: Buffer) => {
      if (output.length < OUTPUT_LIMIT_CHARS) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);

    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      log.warn(`${kind} script could not be started`, { error: e.message });
      resolve();
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      const tail = lastLine(output);
      const ms = Date.now() - started;
      if (timedOut) log.warn(`${kind} script timed out and was stopped`, { timeoutMs, output: tail });
      else if (code !== 0) log.warn(`${kind} script failed`, { exit: code ?? signal, ms, output: tail });
      else log.debug(`${kind} script done`, { ms, ...(tail ? { output: tail } : {}) });
      resolve();
    });
  });
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length > 0 ? lines[lines.length - 1] : undefined;
}
