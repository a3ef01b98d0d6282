// Runs a command with a hard time limit and returns its stdout; any failure (exit code, signal,
// timeout) becomes an Error that carries the command line and the end of its stderr.
import { execFile } from 'node:child_process';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
}

const outputLimitBytes = 64 * 1024 * 1024;

export function run(cmd: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: outputLimitBytes },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = err.killed ? `timed out after ${opts.timeoutMs} ms` : `failed (${err.code ?? err.signal})`;
        const tail = `${stderr}${stdout}`.trim().split('\n').slice(-25).join('\n');
        reject(new Error(`${cmd} ${args.join(' ')} ${why}${tail ? `:\n${tail}` : ''}`));
      },
    );
  });
}

/** Like run, but resolves to null instead of throwing: for probes that are expected to fail a while. */
export async function tryRun(cmd: string, args: string[], opts: RunOptions): Promise<string | null> {
  try {
    return await run(cmd, args, opts);
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
