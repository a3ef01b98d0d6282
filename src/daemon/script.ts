// Run one operator-supplied shell command (hooks, exec health checks): /bin/sh -c, extra
// variables in its environment, bounded in time. A script that runs too long is stopped
// together with whatever it started (its own process group: SIGTERM, then SIGKILL). Never
// throws: every outcome, including "could not start", is a ScriptResult.
import { spawn } from 'node:child_process';

/** After SIGTERM on timeout, the script's process group gets this long before SIGKILL. */
const KILL_GRACE_MS = 500;
/** Output kept for the log line (the last line of it is what is shown). */
const OUTPUT_LIMIT_CHARS = 4000;

export interface ScriptResult {
  /** Exit code (null if it was killed by a signal or never started). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the shell could not be started at all. */
  startError?: string;
  /** Last non-empty line of stdout+stderr, if any. */
  lastLine?: string;
  ms: number;
}

export function scriptOk(r: ScriptResult): boolean {
  return r.code === 0 && !r.timedOut && r.startError === undefined;
}

/** One-line description of a failed run, for logs and status ("exit 3", "timed out"...). */
export function scriptFailure(r: ScriptResult): string {
  if (r.startError !== undefined) return `could not start: ${r.startError}`;
  if (r.timedOut) return `timed out after ${Math.round(r.ms)} ms`;
  return r.code !== null ? `exit ${r.code}` : `killed by ${r.signal ?? 'a signal'}`;
}

export function runScript(command: string, env: Record<string, string>, timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    let output = '';
    let child;
    try {
      child = spawn('/bin/sh', ['-c', command], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so a timeout also stops what it started
      });
    } catch (e) {
      resolve({ code: null, signal: null, timedOut: false, startError: (e as Error).message, ms: 0 });
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
    let settled = false;
    const finish = (r: Omit<ScriptResult, 'ms' | 'timedOut' | 'lastLine'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      const line = lastLine(output);
      resolve({ ...r, timedOut, ms: Date.now() - started, ...(line === undefined ? {} : { lastLine: line }) });
    };
    child.on('error', (e) => finish({ code: null, signal: null, startError: e.message }));
    child.on('close', (code, signal) => finish({ code, signal }));
  });
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length > 0 ? lines[lines.length - 1] : undefined;
}
