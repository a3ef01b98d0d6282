// A process started inside a lab namespace: collected output, line waits and PID-based stop.
// `ip netns exec` exec()s the command in place, so child.pid is the real program's PID.
import type { ChildProcess } from 'node:child_process';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How long output may keep arriving after the process exited. */
const OUTPUT_DRAIN_MS = 200;

interface LineWaiter {
  re: RegExp;
  resolve(line: string): void;
}

export class LabProcess {
  readonly pid: number;
  stdout = '';
  stderr = '';
  /** Complete output lines of both streams, in arrival order. */
  readonly lines: string[] = [];
  exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  private readonly partial = { stdout: '', stderr: '' };
  private waiters: LineWaiter[] = [];

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${label}: process did not start`);
    this.pid = child.pid;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.take('stdout', s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.take('stderr', s));
    // Output is complete at 'close', but a forked grandchild can hold the pipes open long after
    // the process itself died: wait for 'close' only briefly after 'exit'.
    this.exited = new Promise((resolve) => {
      let closed = false;
      const finish = () => {
        for (const stream of ['stdout', 'stderr'] as const) {
          if (this.partial[stream]) this.addLine(this.partial[stream]);
          this.partial[stream] = '';
        }
        resolve(this.exitStatus!);
      };
      child.on('close', () => {
        closed = true;
        if (this.exitStatus) finish();
      });
      child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        if (closed) finish();
        else setTimeout(finish, OUTPUT_DRAIN_MS).unref();
      });
    });
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** Signal the process by PID; false if it has already exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (!this.running) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false; // exited between the check and the signal
    }
  }

  /** The first line (already seen or still to come) that matches; rejects on timeout or exit. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        reject(new Error(`${this.label}: ${why} waiting for ${re}; output:\n${this.tail()}`));
      };
      const waiter: LineWaiter = {
        re,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      this.waiters.push(waiter);
      void this.exited.then((s) => {
        if (this.waiters.includes(waiter)) fail(`exited (${s.code ?? s.signal})`);
      });
    });
  }

  /** Resolves with the exit status; rejects if the process is still running after timeoutMs. */
  async waitForExit(timeoutMs: number): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} (pid ${this.pid}) still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL if it is still running after graceMs. */
  async stop(graceMs = 1000): Promise<ExitStatus> {
    this.kill('SIGTERM');
    try {
      return await this.waitForExit(graceMs);
    } catch {
      this.kill('SIGKILL');
      return this.exited;
    }
  }

  /** The last lines of output, for failure messages. */
  tail(lineCount = 30): string {
    const lines = [...this.lines, this.partial.stdout, this.partial.stderr].filter((l) => l !== '');
    return lines.slice(-lineCount).join('\n');
  }

  private take(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop()!;
    for (const line of parts) this.addLine(line);
  }

  private addLine(line: string): void {
    this.lines.push(line);
    const matched = this.waiters.filter((w) => w.re.test(line));
    this.waiters = this.waiters.filter((w) => !matched.includes(w));
    for (const w of matched) w.resolve(line);
  }
}
