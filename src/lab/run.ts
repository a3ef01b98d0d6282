// Running a command for the lab and turning a failure into one line that names it.
import { execFile } from 'node:child_process';

export class LabError extends Error {
  override name = 'LabError';
}

export interface ExecOptions {
  /** Throw on a non-zero exit (default true). */
  check?: boolean;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function ipCmd(args: readonly string[]): Promise<ExecResult> {
  return run('ip', args, `ip ${args.join(' ')}`, {});
}

export function run(cmd: string, args: readonly string[], label: string, options: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (code !== 0 && options.check !== false) {
          const why = (stderr.trim() || stdout.trim()).split('\n').slice(-3).join(' | ') || err?.message;
          return reject(new LabError(`${label} failed (exit ${err?.killed ? 'timeout' : code}): ${why}`));
        }
        resolve({ code, stdout, stderr });
      },
    );
  });
}
